"""Where a spec's code and tests go in the workspace, and the stub that makes tests fail first.

The paths follow from the spec's interface: a library module ``text_tools`` is
``text_tools.py`` (``a.b`` is ``a/b.py`` with an ``a/__init__.py``), its tests
``tests/test_text_tools.py``. The stub defines every function of the interface with its
exact signature, raising ``NotImplementedError``: tests written first must then fail for
the right reason (the missing behaviour), not because an import fails.
"""

from __future__ import annotations

import ast
import copy
import re
from dataclasses import dataclass
from itertools import pairwise

from localfactory.spec import CliInterface, LibraryInterface, ServiceInterface, Spec


@dataclass(frozen=True)
class Layout:
    module: str
    code_path: str
    test_path: str
    extra_files: tuple[tuple[str, str], ...] = ()
    """Files the layout needs besides the code (package ``__init__.py`` files)."""

    @property
    def examples_path(self) -> str:
        """The spec's examples as tests (see :mod:`localfactory.factory.examples`)."""
        return self.test_path.removesuffix(".py") + "_examples.py"


def layout_for(spec: Spec) -> Layout:
    iface = spec.interface
    if isinstance(iface, LibraryInterface | ServiceInterface):
        module = iface.module
    else:
        assert isinstance(iface, CliInterface)
        module = iface.module_name()
    parts = module.split(".")
    code_path = "/".join(parts) + ".py"
    extra = tuple(("/".join(parts[:i]) + "/__init__.py", "") for i in range(1, len(parts)))
    return Layout(module, code_path, f"tests/test_{parts[-1]}.py", extra)


def function_names(spec: Spec) -> list[str]:
    iface = spec.interface
    if isinstance(iface, LibraryInterface):
        return iface.exported()
    return ["main"]


def stub_source(spec: Spec) -> str:
    """A module with the interface's functions, each raising NotImplementedError."""
    iface = spec.interface
    lines = [
        f'"""{spec.name}: not implemented yet (written by localfactory before the tests)."""',
        "",
    ]
    if isinstance(iface, LibraryInterface):
        lines.append("from __future__ import annotations")
        lines.append("")
        for sig in iface.functions:
            name = sig.split("(", 1)[0].strip()
            lines += ["", f"def {sig}:", f"    raise NotImplementedError({name!r})", ""]
        for c in iface.classes:
            lines += ["", f"{c.header()}:"]
            if not c.methods:
                lines += ["    pass", ""]
            for sig, method in zip(c.methods, c.method_names(), strict=True):
                lines += [
                    f"    def {sig}:",
                    f"        raise NotImplementedError({c.name + '.' + method!r})",
                    "",
                ]
    else:
        lines += [
            "from __future__ import annotations",
            "",
            "import sys",
            "",
            "",
            "def main(argv: list[str] | None = None) -> int:",
            "    raise NotImplementedError('main')",
            "",
            "",
            'if __name__ == "__main__":',
            "    sys.exit(main())",
            "",
        ]
    source = "\n".join(lines)
    ast.parse(source)  # the spec validated the signatures; this keeps the stub honest
    return source


KNOWN_MODULES = {
    **{m: m for m in ("pytest", "re", "os", "sys", "json", "math", "io", "subprocess", "socket",
                      "time", "tempfile", "shutil", "string", "random", "textwrap", "urllib",
                      "threading", "datetime", "decimal", "itertools", "collections")},
    "Path": "pathlib",
}  # fmt: skip
"""Names a test file may use without importing them: the module each comes from."""


def _missing_modules(tree: ast.Module) -> dict[str, str]:
    """Known modules (and ``Path``) the file uses but never binds: name -> module."""
    bound: set[str] = set()
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (used if isinstance(node.ctx, ast.Load) else bound).add(node.id)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                bound.add((alias.asname or alias.name).split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bound.add(node.name)
    return {name: KNOWN_MODULES[name] for name in used - bound if name in KNOWN_MODULES}


PYTEST_FIXTURES = frozenset(
    {"tmp_path", "tmpdir", "capsys", "capfd", "caplog", "monkeypatch", "tmp_path_factory"}
)
"""pytest's own fixtures that small models import from the code under test, or use in a test
without asking for them as a parameter."""


def _fixture_edits(
    tree: ast.Module, module: str
) -> tuple[list[tuple[int, int, list[str]]], list[str]]:
    """Edits (see :func:`_apply`) that take pytest's fixtures out of imports from ``module``
    (``from head_lite import main, tmp_path`` stops the whole file at collection) and give
    each top-level test the fixtures it uses as parameters (a NameError no code can fix)."""
    edits: list[tuple[int, int, list[str]]] = []
    changes: list[str] = []
    module_bound: set[str] = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.ImportFrom) and stmt.module == module:
            wrong = [a for a in stmt.names if a.name in PYTEST_FIXTURES and not a.asname]
            if wrong:
                kept = [a for a in stmt.names if a not in wrong]
                start, end = stmt.lineno - 1, stmt.end_lineno or stmt.lineno
                line = [ast.unparse(ast.ImportFrom(module, kept, 0))] if kept else []
                edits.append((start, end - start, line))
                names = ", ".join(a.name for a in wrong)
                changes.append(f"took pytest's {names} out of the import from {module}")
                stmt = ast.ImportFrom(module, kept, 0)
        if isinstance(stmt, ast.Import | ast.ImportFrom):
            module_bound |= {(a.asname or a.name).split(".")[0] for a in stmt.names}
        elif isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            module_bound.add(stmt.name)
        elif isinstance(stmt, ast.Assign):
            module_bound |= {t.id for t in stmt.targets if isinstance(t, ast.Name)}
    for fn in tree.body:
        if not (isinstance(fn, ast.FunctionDef) and fn.name.startswith("test")):
            continue
        if fn.args.vararg or fn.args.kwarg or fn.body[0].lineno == fn.lineno:
            continue
        params = {a.arg for a in [*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs]}
        stored = {
            n.id
            for n in ast.walk(fn)
            if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)
        }
        used = {
            n.id for n in ast.walk(fn) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
        }
        needed = sorted((used & PYTEST_FIXTURES) - params - stored - module_bound)
        if not needed:
            continue
        args = ast.arguments(
            posonlyargs=fn.args.posonlyargs, args=[*fn.args.args, *map(ast.arg, needed)],
            kwonlyargs=fn.args.kwonlyargs, kw_defaults=fn.args.kw_defaults, defaults=fn.args.defaults,
        )  # fmt: skip
        header = copy.copy(fn)
        header.args, header.body, header.decorator_list = args, [ast.Pass()], []
        start, end = fn.lineno - 1, fn.body[0].lineno - 1
        edits.append((start, end - start, [ast.unparse(header).splitlines()[0]]))
        changes.append(f"gave {fn.name}() the fixture(s) it uses: {', '.join(needed)}")
    return edits, changes


def normalize_tests(source: str, spec: Spec, layout: Layout) -> tuple[str, list[str]]:
    """Tests as the factory needs them, and what was changed.

    Small models often forget to import the code under test (or ``pytest``, ``re``...), or
    define the function in the test file itself, so the tests never exercise the real module
    or fail on a NameError no repair of the code can fix. These are repaired here: definitions
    that shadow the interface are dropped, and the missing imports are added; pytest's
    fixtures imported from the module, or used without being asked for, are mended (see
    :func:`_fixture_edits`).
    """
    tree = ast.parse(source)
    names = function_names(spec)
    lines = source.splitlines()
    # Edits as (line index, lines to delete, lines to insert), applied bottom-up so indexes hold.
    edits, changes = _fixture_edits(tree, layout.module)
    for node in tree.body:
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and node.name in names
        ):
            start = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
            end = node.end_lineno or node.lineno
            edits.append((start, end - start, []))
            changes.append(f"removed the test file's own definition of {node.name}()")
    imported = any(
        (isinstance(n, ast.ImportFrom) and n.module == layout.module)
        or (isinstance(n, ast.Import) and any(a.name == layout.module for a in n.names))
        for n in ast.walk(tree)
    )
    added = [f"import {m}" if m == name else f"from {m} import {name}"
             for name, m in sorted(_missing_modules(tree).items())]  # fmt: skip
    if not imported:
        added.append(f"from {layout.module} import {', '.join(names)}")
    if added:
        at = 0
        for stmt in tree.body:
            if isinstance(stmt, ast.Import | ast.ImportFrom):
                at = stmt.end_lineno or stmt.lineno
            elif not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
                break
        edits.append((at, 0, added))
        changes += [f"added `{line}`" for line in added]
    return _apply(lines, edits), changes


def _apply(lines: list[str], edits: list[tuple[int, int, list[str]]]) -> str:
    """``lines`` with each (line index, lines to delete, lines to insert) edit made, bottom-up
    so the indexes hold, as file text."""
    for start, count, insert in sorted(edits, key=lambda e: (e[0], -e[1]), reverse=True):
        lines[start : start + count] = insert
    return "\n".join(lines).rstrip() + "\n"


def test_functions(tree: ast.Module) -> list[str]:
    """The names of the test functions in a test file (pytest's ``test*`` functions)."""
    return [
        n.name
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef) and n.name.startswith("test")
    ]


_TOP_DEF = re.compile(r"(?:async\s+)?def\s+(\w+)|class\s+(\w+)")


def _block_at(lines: list[str], index: int) -> tuple[int, int, str] | None:
    """The top-level ``def``/``class`` (with its decorators) holding line ``index``: its first
    line, the line after it, and its name; None when that line is outside any."""
    start = index
    while start >= 0 and not _TOP_DEF.match(lines[start]):
        start -= 1
    if start < 0:
        return None
    found = _TOP_DEF.match(lines[start])
    assert found is not None
    name = found.group(1) or found.group(2)
    end = max(index, start) + 1
    while end < len(lines) and (not lines[end].strip() or lines[end][0] in " \t#)]}"):
        end += 1
    while start > 0 and lines[start - 1].startswith("@"):
        start -= 1
    return start, end, name


def _lone_assert(lines: list[str], index: int) -> bool:
    """Whether line ``index`` is an ``assert`` on one line, inside a function body that keeps
    another statement without it."""
    line = lines[index]
    indent = len(line) - len(line.lstrip())
    if not line.lstrip().startswith("assert ") or indent == 0:
        return False
    after = next((ln for ln in lines[index + 1 :] if ln.strip()), "")
    before = next((ln for ln in reversed(lines[:index]) if ln.strip()), "")
    if after and len(after) - len(after.lstrip()) > indent:
        return False  # the statement goes on over the next lines
    same = [ln for ln in (before, after) if ln and len(ln) - len(ln.lstrip()) == indent]
    return bool(same)


def salvage_tests(source: str, *, truncated: bool = False) -> tuple[str, list[str]] | None:
    """A test file that does not parse (or was cut off), with the test functions that break it
    dropped, and their names; None when that leaves no test, or the fault is outside a test.

    Small models often get one test wrong (a quote inside a string, ``==`` cut off at the token
    limit) and the rest right; asking again tends to repeat the same line. Keeping the good
    tests and saying which were dropped serves better than failing the whole stage.
    """
    lines = source.rstrip().splitlines()
    dropped: list[str] = []
    if truncated:  # the last block was being written when the answer was cut off
        block = _block_at(lines, len(lines) - 1)
        if block is None or not block[2].lower().startswith("test"):
            return None
        del lines[block[0] :]
        dropped.append(block[2])
    for _ in range(8):
        text = "\n".join(lines).rstrip() + "\n"
        try:
            tree = ast.parse(text)
        except SyntaxError as exc:
            at = min(max((exc.lineno or 1) - 1, 0), len(lines) - 1)
            block = _block_at(lines, at)
            if block is None or not block[2].lower().startswith("test"):
                return None
            if _lone_assert(lines, at):
                # One broken assertion among good ones: only that line goes.
                dropped.append(f"`{lines[at].strip()[:80]}` (in {block[2]})")
                del lines[at]
                continue
            del lines[block[0] : block[1]]
            dropped.append(block[2])
            continue
        return (text, dropped) if test_functions(tree) and dropped else None
    return None


def _is_check(stmt: ast.stmt) -> bool:
    """An ``assert``, or a ``with pytest.raises(...)`` block."""
    if isinstance(stmt, ast.Assert):
        return True
    if not isinstance(stmt, ast.With):
        return False
    return all(
        isinstance(item.context_expr, ast.Call)
        and (
            (isinstance(f := item.context_expr.func, ast.Attribute) and f.attr == "raises")
            or (isinstance(f, ast.Name) and f.id == "raises")
        )
        for item in stmt.items
    )


def _binds_names(body: list[ast.stmt]) -> bool:
    """Whether a check binds a name a later one may use (``with pytest.raises(E) as info``)."""
    for stmt in body:
        if isinstance(stmt, ast.With) and any(item.optional_vars for item in stmt.items):
            return True
        if any(isinstance(n, ast.NamedExpr) for n in ast.walk(stmt)):
            return True
    return False


def split_checks(source: str) -> tuple[str, list[str]]:
    """Tests with one check each, and the names of the tests that were split.

    Small models put every assertion of a criterion (or of the whole file) in one test
    function: the first failing assertion then hides the others, one wrong expectation sinks
    the right ones with it, and "how many tests pass" cannot tell better code from worse.
    A test function made only of checks (``assert`` statements and ``with pytest.raises``
    blocks: no setup, no fixtures, no decorators) is split into one function per check,
    ``name_1``, ``name_2`` and so on. Anything else is left as it is, since its checks may
    depend on each other.
    """
    tree = ast.parse(source)
    lines = source.splitlines()
    taken = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    split: list[str] = []
    edits: list[tuple[int, int, list[str]]] = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or not node.name.startswith("test"):
            continue
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body = body[1:]  # a docstring
        args = node.args
        if (
            len(body) < 2
            or node.decorator_list
            or args.args or args.posonlyargs or args.kwonlyargs or args.vararg or args.kwarg
            or not all(_is_check(stmt) for stmt in body)
            or _binds_names(body)
        ):  # fmt: skip
            continue
        spans = [(stmt.lineno - 1, stmt.end_lineno or stmt.lineno) for stmt in body]
        if any(later[0] < earlier[1] for earlier, later in pairwise(spans)):
            continue  # two checks share a line
        indent = body[0].col_offset
        pieces: list[str] = []
        for i, (start, end) in enumerate(spans, 1):
            name = f"{node.name}_{i}"
            while name in taken:
                name += "_"
            taken.add(name)
            chunk = [line[indent:] if line[:indent].strip() == "" else line.lstrip()
                     for line in lines[start:end]]  # fmt: skip
            pieces += [f"def {name}():", *(f"    {line}" if line else "" for line in chunk), "", ""]
        edits.append(
            (node.lineno - 1, (node.end_lineno or node.lineno) - node.lineno + 1, pieces[:-2])
        )
        split.append(node.name)
    return _apply(lines, edits), split


_STATES_ERRORS = re.compile(r"\b(?:rais|error|exception|refus|reject|invalid|fail)", re.IGNORECASE)


def _expects_error(node: ast.AST) -> bool:
    """Whether ``node`` holds a ``pytest.raises`` (or a bare ``raises``) call."""
    for inner in ast.walk(node):
        if isinstance(inner, ast.Call):
            func = inner.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name == "raises":
                return True
    return False


def drop_unstated_errors(source: str, spec: Spec) -> tuple[str, list[str]]:
    """The tests without expectations of errors the spec never states, and what was dropped.

    A library whose spec says nothing of errors (no raising, refusing, rejecting, invalid
    input) leaves them unspecified, and a test that expects one constrains the code beyond
    the spec. Small test writers invent such tests ("a negative n raises ValueError" where
    the spec says it returns ``[]``), and the coder then follows them against the spec. The
    check (a ``with pytest.raises`` statement) is removed from a test that has other
    assertions; a test that has none left is dropped. A file whose every test expects an
    error is left alone (nothing would be left to test)."""
    if not isinstance(spec.interface, LibraryInterface):
        return source, []
    from localfactory.spec import render_for_prompt

    if _STATES_ERRORS.search(render_for_prompt(spec)):
        return source, []
    tree = ast.parse(source)
    lines = source.splitlines()
    tests = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test")]
    edits: list[tuple[int, int, list[str]]] = []
    dropped: list[str] = []
    whole = 0  # tests dropped entirely (not just their error check)
    for node in tests:
        if not _expects_error(node):
            continue
        rest = [s for s in node.body if not _expects_error(s)]
        if not node.decorator_list and any(
            isinstance(n, ast.Assert) for s in rest for n in ast.walk(s)
        ):
            for stmt in node.body:
                if _expects_error(stmt):
                    end = stmt.end_lineno or stmt.lineno
                    edits.append((stmt.lineno - 1, end - stmt.lineno + 1, []))
            dropped.append(f"the error check in {node.name}")
            continue
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        edits.append((first - 1, (node.end_lineno or node.lineno) - first + 1, []))
        dropped.append(node.name)
        whole += 1
    if not edits or whole == len(tests):
        return source, []
    return re.sub(r"\n{4,}", "\n\n\n", _apply(lines, edits)), dropped
