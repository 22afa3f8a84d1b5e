"""Asking a writing role and taking its answer: the messages, the sampling options of a
first try and of a retry, the problem a retry is shown, and turning the coder's answer into
the code file (an answer that is a fragment, not the module, is unusable).
"""

from __future__ import annotations

import ast

from localfactory.factory import prompts
from localfactory.factory.context import StageContext
from localfactory.factory.extract import FileEdit, extract_files, merge_functions
from localfactory.factory.indent import mend_indentation
from localfactory.factory.layout import function_names
from localfactory.factory.workspace import UnsafePath
from localfactory.llm.call import Message
from localfactory.spec import LibraryInterface

PLAN_TOKENS = 320


TESTS_TOKENS = 1800


CODE_TOKENS = 2048


def messages(user: str) -> list[Message]:
    return [Message(role="system", content=prompts.SYSTEM), Message(role="user", content=user)]


RETRY_REPEAT_PENALTY = 1.1
"""A retry's guard against the loop a small model can fall into (seen: the 1.5B writing the
same parametrize row until the token limit, three times in a row at temperatures 0 and 0.4)."""


def options(ctx: StageContext, max_tokens: int) -> dict[str, object]:
    """Greedy on a first try; a retry samples a little (seeded, so replayable) to get a
    different answer, and is kept out of repetition loops."""
    if ctx.retry == 0:
        return {"max_tokens": max_tokens}
    return {
        "max_tokens": max_tokens,
        "temperature": 0.4,
        "seed": ctx.retry,
        "repeat_penalty": RETRY_REPEAT_PENALTY,
    }


def with_problem(prompt: str, problem: str | None) -> str:
    if not problem:
        return prompt
    return f"{prompt}\n\nYour previous answer could not be used: {problem}\nAvoid that this time."


def review_feedback(ctx: StageContext) -> str:
    """What a person said when rejecting an earlier delivery of this spec (kept for the whole run)."""
    kept = ctx.note("review_feedback")
    if kept is None:
        from localfactory.validators.stage import take_feedback

        kept = take_feedback(ctx)
        ctx.put_note("review_feedback", kept)
    if not kept.strip():
        return ""
    return f"\n\nA person rejected an earlier delivery of this software and said:\n{kept.strip()}\nTake it into account."


def pick(edits: list[FileEdit], path: str, *, folder: str | None = None) -> FileEdit | None:
    """The edit for ``path``; else the only edit under ``folder`` (a model that renamed the file)."""
    for edit in edits:
        if edit.path == path:
            return edit
    if folder is not None:
        candidates = [e for e in edits if e.path.startswith(folder) and e.path.endswith(".py")]
        if len(candidates) == 1:
            return candidates[0]
    return None


def mended(ctx: StageContext, edit: FileEdit | None) -> FileEdit | None:
    """``edit`` with its indentation mended when that alone makes it parse (logged; see
    :func:`~localfactory.factory.indent.mend_indentation`)."""
    if edit is None or edit.truncated:
        return edit
    fixed = mend_indentation(edit.content)
    if fixed is None:
        return edit
    content, moved = fixed
    ctx.log(
        f"{edit.path}: mended the indentation of line(s) {', '.join(map(str, moved))}",
        level="warning",
    )
    return FileEdit(edit.path, content)


def python_problem(edit: FileEdit | None, path: str, skipped: list[str]) -> str | None:
    if edit is None:
        extra = f" (I skipped {'; '.join(skipped)})" if skipped else ""
        return f"there was no ```python block for `{path}`{extra}"
    if edit.truncated:
        return f"the answer was cut off before the end of `{path}`: write it shorter"
    if "<the complete" in edit.content or edit.content.strip() in ("...", "pass"):
        return f"the block for `{path}` held a placeholder instead of real code"
    try:
        ast.parse(edit.content)
    except SyntaxError as exc:
        lines = edit.content.splitlines()
        bad = lines[exc.lineno - 1].strip() if exc.lineno and exc.lineno <= len(lines) else ""
        shown = f" (the line is `{bad[:120]}`)" if bad else ""
        return f"`{path}` has a syntax error on line {exc.lineno}: {exc.msg}{shown}"
    return None


def code_edit(ctx: StageContext, answer_text: str, *, merge: bool) -> tuple[list[str], str | None]:
    """Write the coder's files (never the tests); the paths written, or a problem."""
    code_path = ctx.layout.code_path
    found = extract_files(answer_text, expected=[code_path])
    chosen = pick(found.edits, code_path)
    edit = mended(ctx, chosen)
    issue = python_problem(edit, code_path, found.skipped)
    if issue is not None or edit is None:
        return [], issue or "no code"
    written: list[str] = []
    current = ctx.workspace.read(code_path)
    content = edit.content
    if merge and current is not None:
        content = merge_functions(current, edit.content) or edit.content
    missing = missing_interface(ctx, content)
    if missing and current is not None and len(missing) < len(function_names(ctx.spec)):
        # A whole module that left out a name the file had (ledger on the 1.5B: the stub's
        # `class InsufficientFunds(ValueError)` dropped, then raised): the file's definition stays.
        kept = keep_definitions(content, current, missing)
        if kept is not None:
            ctx.log(
                f"kept {', '.join(missing)} as {code_path} had it: the answer did not define it",
                level="warning",
            )
            content, missing = kept, []
    if missing:
        # A fragment taken for the whole file (`obj['x']` in a repair, seen on the 1.5B) would
        # wipe out the code: the answer is unusable and the file stays as it was.
        return [], (
            f"`{code_path}` must define {', '.join(function_names(ctx.spec))}; the answer "
            f"has no {', '.join(missing)}: write the complete file"
        )
    ctx.workspace.write(code_path, content)
    written.append(code_path)
    for other in found.edits:
        if other is chosen or other.path.startswith("tests/") or not other.path.endswith(".py"):
            continue
        try:
            ast.parse(other.content)
            ctx.workspace.write(other.path, other.content)
            written.append(other.path)
        except (SyntaxError, UnsafePath) as exc:
            ctx.log(f"ignored {other.path}: {exc}", level="warning")
    return written, None


def _bound_names(body: list[ast.stmt]) -> set[str]:
    """Names a module body binds at top level (defs, classes, assignments, imports), looking
    into ``if``/``try``/``with`` blocks."""
    names: set[str] = set()
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.If | ast.Try | ast.With):
            for block in ("body", "orelse", "finalbody", "handlers"):
                for part in getattr(node, block, []):
                    inner = part.body if isinstance(part, ast.ExceptHandler) else [part]
                    names |= _bound_names(inner)
    return names


def _top_level_spans(tree: ast.Module) -> dict[str, tuple[int, int]]:
    """Each top-level def's and class's name: its first line (decorators included) and last."""
    return {
        node.name: (min([node.lineno, *(d.lineno for d in node.decorator_list)]),
                    node.end_lineno or node.lineno)
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }  # fmt: skip


def keep_definitions(content: str, current: str, names: list[str]) -> str | None:
    """``content`` with the top-level definitions of ``names`` taken from ``current``, put
    before its first def or class (so a class may use them as bases); None when ``current``
    lacks one of them."""
    spans = _top_level_spans(ast.parse(current))
    if any(name not in spans for name in names):
        return None
    old = current.splitlines()
    kept: list[str] = []
    for name in names:
        first, last = spans[name]
        kept += [*old[first - 1 : last], "", ""]
    lines = content.splitlines()
    starts = [first for first, _ in _top_level_spans(ast.parse(content)).values()]
    at = min(starts, default=len(lines) + 1) - 1
    return "\n".join([*lines[:at], *kept, *lines[at:]]).rstrip() + "\n"


def missing_interface(ctx: StageContext, content: str) -> list[str]:
    """The library interface's names that ``content`` does not define (empty for commands
    and services, whose entry point is checked by running them)."""
    if not isinstance(ctx.spec.interface, LibraryInterface):
        return []
    bound = _bound_names(ast.parse(content).body)
    return [name for name in function_names(ctx.spec) if name not in bound]
