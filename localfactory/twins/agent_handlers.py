"""The coder model writes the handlers a scaffold leaves open, one function at a time.

For each marked handler of ``handlers.py`` the model gets a small prompt
(:mod:`localfactory.twins.agent_prompts`) and answers with the function. The function is
pulled out of the answer, put in place of the stub, and checked: the file must parse, the
function must keep its name and its one argument, import only what a handler may, call
nothing that reaches outside the twin, and no longer be the stub. Then the operation's
conformance scenarios run against the twin in the sandbox. Whatever fails goes back to the
model, for at most ``max_repairs`` repairs; a handler that never passes is put back to
its stub (answering 501), and the outcome says why.
"""

from __future__ import annotations

import ast
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from localfactory.factory.extract import extract_files
from localfactory.twins.agent_prompts import SYSTEM, repair_prompt, task_prompt
from localfactory.twins.scaffold import Check, HandlerOutcome
from localfactory.twins.scaffold_writer import MARKER, STUB_LINE

if TYPE_CHECKING:
    from localfactory.llm.router import Router
    from localfactory.twins.scaffold_plan import OperationPlan, ScaffoldPlan

HANDLERS = "handlers.py"
ALLOWED_IMPORTS = frozenset(
    {
        "__future__",
        "typing",
        "datetime",
        "time",
        "math",
        "re",
        "json",
        "uuid",
        "copy",
        "itertools",
        "collections",
        "localfactory.twins",
        "localfactory.twins.scaffold_runtime",
        "resources",
    }
)
"""Modules a handler may import (``resources`` is the twin's own, imported relatively)."""
FORBIDDEN_NAMES = frozenset(
    {"open", "exec", "eval", "compile", "__import__", "input", "breakpoint", "globals", "setattr"}
)


class HandlerAgent:
    """Asks the model for each open handler and keeps what passes its scenarios."""

    def __init__(
        self,
        router: Router,
        *,
        model: str | None = None,
        max_repairs: int = 3,
        max_tokens: int = 400,
        say: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.router = router
        self.model = model
        self.max_repairs = max_repairs
        self.max_tokens = max_tokens
        self.say = say

    def __call__(self, plan: ScaffoldPlan, folder: Path, check: Check) -> list[HandlerOutcome]:
        return [self.write(plan, op, folder, check) for op in plan.custom]

    def write(
        self, plan: ScaffoldPlan, op: OperationPlan, folder: Path, check: Check
    ) -> HandlerOutcome:
        path = folder / HANDLERS
        original = path.read_text()
        outcome = HandlerOutcome(op.name, op.function, "stub", False)
        started = time.monotonic()
        messages: list[dict[str, str]] = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": task_prompt(plan, op)},
        ]
        for attempt in range(1, self.max_repairs + 2):
            self.say(f"  {op.name}: asking the model (attempt {attempt})")
            result = self.router.chat(
                "coder", messages, options={"max_tokens": self.max_tokens}, model=self.model
            )
            outcome.attempts = attempt
            outcome.generated_tokens += result.generated_tokens
            problems, verified = self._try(result.text, op, original, path, check)
            if not problems:
                outcome.written_by, outcome.passed, outcome.problems = "model", verified, []
                mark(path, op.name, f"written by {result.model}")
                break
            outcome.problems = problems
            self.say(f"  {op.name}: {problems[0].splitlines()[0][:160]}")
            messages += [
                {"role": "assistant", "content": result.text},
                {"role": "user", "content": repair_prompt(op.function, problems)},
            ]
        else:
            path.write_text(original)
        outcome.seconds = round(time.monotonic() - started, 1)
        return outcome

    def _try(
        self, answer: str, op: OperationPlan, original: str, path: Path, check: Check
    ) -> tuple[list[str], bool | None]:
        """Problems with the answer (none: it is in place), and whether scenarios verified it."""
        code, problem = extract_function(answer, op.function)
        if code is None:
            return [problem], None
        try:
            text = replace_function(original, op.function, code)
        except SyntaxError as exc:
            return [f"The code does not parse: {exc.msg} (line {exc.lineno})."], None
        problems = check_source(text, op.function)
        if problems:
            return problems, None
        path.write_text(text)
        run = check([op.name])
        if run.passed:
            return [], True if run.results else None
        path.write_text(original)
        return run.problems(), None


def extract_function(answer: str, name: str) -> tuple[str | None, str]:
    """The function ``name`` (with the imports before it) from the model's answer."""
    blocks = [e.content for e in extract_files(answer, expected=[HANDLERS]).edits]
    if not blocks and "def " in answer:
        blocks = [answer]
    for block in reversed(blocks):
        try:
            tree = ast.parse(block)
        except SyntaxError:
            continue
        functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        chosen = next((f for f in functions if f.name == name), None)
        if chosen is None and len(functions) == 1:
            chosen = functions[0]
        if chosen is None:
            continue
        imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        if chosen.name == name:
            segment = ast.get_source_segment(block, chosen) or ast.unparse(chosen)
        else:  # the model renamed it: put the name back
            chosen.name = name
            segment = ast.unparse(chosen)
        return "\n".join([*(ast.unparse(i) for i in imports), segment]), ""
    if not blocks:
        return None, f"The answer holds no Python code block with the function `{name}`."
    return None, f"No code block in the answer defines `{name}` (or it does not parse)."


def replace_function(text: str, name: str, code: str) -> str:
    """``text`` with the function ``name`` replaced by the one in ``code`` (imports moved up)."""
    new_tree = ast.parse(code)
    tree = ast.parse(text)
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    fresh = next(n for n in new_tree.body if isinstance(n, ast.FunctionDef))
    code_lines = code.splitlines()
    assert node.end_lineno is not None and fresh.end_lineno is not None
    start = min([fresh.lineno, *(d.lineno for d in fresh.decorator_list)])
    function = code_lines[start - 1 : fresh.end_lineno]
    docstring = _docstring_lines(text, node)
    if docstring and ast.get_docstring(fresh) is None:
        at = fresh.body[0].lineno - start
        function[at:at] = docstring
    lines = text.splitlines()
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    lines[first - 1 : node.end_lineno] = function
    added = _imports_needed(tree, new_tree, fresh)
    if added:
        last = max(
            n.end_lineno or 0 for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)
        )
        lines[last:last] = added
    return "\n".join(lines).rstrip() + "\n"


def _docstring_lines(text: str, node: ast.FunctionDef) -> list[str]:
    """The lines of ``node``'s docstring in ``text`` (none when it has none)."""
    first = node.body[0]
    if ast.get_docstring(node) is None or first.end_lineno is None:
        return []
    return text.splitlines()[first.lineno - 1 : first.end_lineno]


def _imports_needed(tree: ast.Module, new_tree: ast.Module, function: ast.FunctionDef) -> list[str]:
    """The model's imports of names ``function`` uses that the file does not bind yet.

    Small models import what is already there from made-up modules; those are dropped.
    """
    bound = _bound_names(tree)
    used = {n.id for n in ast.walk(function) if isinstance(n, ast.Name)}
    needed: list[str] = []
    for node in new_tree.body:
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        names = [
            a
            for a in node.names
            if (a.asname or a.name).split(".")[0] in used
            and (a.asname or a.name).split(".")[0] not in bound
        ]
        if names:
            node.names = names
            needed.append(ast.unparse(node))
    return needed


def _bound_names(tree: ast.Module) -> set[str]:
    """Names the module binds at its top: imports and definitions."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
    return names


def check_source(text: str, name: str) -> list[str]:
    """What makes ``text`` (handlers.py with the new function) unacceptable; empty when fine."""
    try:
        tree = ast.parse(text)
    except SyntaxError as exc:
        return [f"The code does not parse: {exc.msg} (line {exc.lineno})."]
    problems: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            problems += [_refused(a.name) for a in node.names if not _allowed(a.name)]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if not (node.level > 0 and module in ("", "resources")) and not _allowed(module):
                problems.append(_refused(module))
        elif isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            problems.append(f"A handler may not use {node.id}.")
        elif isinstance(node, ast.Attribute) and node.attr.startswith("__"):
            problems.append(f"A handler may not reach into {node.attr}.")
    function = next(
        (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name), None
    )
    if function is None:
        problems.append(f"The function `{name}` is missing.")
    elif len(function.args.args) != 1 or function.args.vararg or function.args.kwonlyargs:
        problems.append(f"`{name}` must take exactly one argument, `call`.")
    elif STUB_LINE.strip() in (ast.get_source_segment(text, function) or ""):
        problems.append(f"`{name}` still only raises not_implemented: write its body.")
    return problems


def _allowed(module: str) -> bool:
    return module in ALLOWED_IMPORTS or module.split(".")[0] in {
        m for m in ALLOWED_IMPORTS if "." not in m and m != "resources"
    }


def _refused(module: str) -> str:
    allowed = ", ".join(sorted(m for m in ALLOWED_IMPORTS if m != "resources"))
    return f"A handler may not import {module!r} (allowed: {allowed})."


def mark(path: Path, operation: str, note: str) -> None:
    """Say beside the handler's marker who wrote it."""
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        if line.split(" (", 1)[0] == f"{MARKER} {operation}":
            lines[i] = f"{MARKER} {operation} ({note})"
    path.write_text("\n".join(lines) + "\n")
