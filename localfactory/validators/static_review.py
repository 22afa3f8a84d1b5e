"""What can be found in code without a model: tests that assert nothing, unsafe calls, dead code.

Everything here reads source with :mod:`ast` (never runs it). Each problem is a
:class:`Finding` that says where it is and what to do about it, in words the repair loop
can act on. A file that does not parse is a finding too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any


@dataclass(frozen=True)
class Finding:
    kind: str
    """``asserts-nothing``, ``unsafe``, ``dead-code``, ``syntax``, ``check``, ``criterion``, ``review``."""
    message: str
    """What is wrong and what to do, in one or two sentences."""
    path: str | None = None
    line: int | None = None
    blocking: bool = True
    """Must be fixed before delivery (otherwise it is advice, and may add to the risk)."""
    source: str = "static"
    """``static`` (this module), ``checks`` (pytest, ruff, mypy) or ``judge``."""

    def where(self) -> str:
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line else self.path

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def dotted(node: ast.AST) -> str:
    """``os.path.join`` for an attribute chain, ``eval`` for a name, ``""`` for anything else."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


def imported_modules(tree: ast.AST) -> Iterator[tuple[str, int]]:
    """Every module an ``import`` or ``from ... import`` names, with its line."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, node.lineno


def calls(tree: ast.AST) -> Iterator[tuple[str, ast.Call]]:
    """Every call whose callee has a dotted name."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = dotted(node.func)
            if name:
                yield name, node


def parse(path: str, source: str) -> tuple[ast.Module | None, Finding | None]:
    try:
        return ast.parse(source, filename=path), None
    except SyntaxError as exc:
        return None, Finding(
            "syntax", f"the file does not parse: {exc.msg}.", path, exc.lineno, source="static"
        )


# -- tests that assert nothing -------------------------------------------------------------


def _always_true(test: ast.expr) -> bool:
    """``assert True``, ``assert 1``, ``assert "text"``, ``assert (x, "message")``."""
    if isinstance(test, ast.Constant):
        return bool(test.value)
    return isinstance(test, ast.Tuple) and len(test.elts) > 0


def _checks_something(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[bool, bool]:
    """(has a real check, has only constant asserts)."""
    constant_only = False
    for node in ast.walk(fn):
        if isinstance(node, ast.Assert):
            if _always_true(node.test):
                constant_only = True
                continue
            return True, False
        if isinstance(node, ast.Call):
            name = dotted(node.func)
            last = name.rsplit(".", 1)[-1]
            if name in ("pytest.raises", "raises", "pytest.fail", "pytest.warns", "pytest.approx"):
                return True, False
            if last.startswith("assert") or last == "fail":
                return True, False
    return False, constant_only


def collected_tests(tree: ast.Module) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Test functions pytest would collect: ``test_*`` at module level and in ``Test*`` classes."""
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            yield node
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            for item in node.body:
                if isinstance(
                    item, ast.FunctionDef | ast.AsyncFunctionDef
                ) and item.name.startswith("test"):
                    yield item


def assertless_tests(path: str, tree: ast.Module) -> list[Finding]:
    """Test functions with no assert, no ``pytest.raises``, or only ``assert True``-like checks."""
    found = []
    for fn in collected_tests(tree):
        checks, constant_only = _checks_something(fn)
        if checks:
            continue
        what = "only asserts a constant" if constant_only else "asserts nothing"
        found.append(
            Finding(
                "asserts-nothing",
                f"test {fn.name} {what}, so it passes whatever the code does: "
                "check the result of the call with assert (or pytest.raises for an error).",
                path,
                fn.lineno,
            )
        )
    return found


# -- unsafe patterns -----------------------------------------------------------------------

_EVAL = {"eval", "exec", "__import__", "builtins.eval", "builtins.exec"}
_SHELL = {"os.system", "os.popen", "os.spawnl", "os.spawnlp", "os.execv", "os.execvp",
          "commands.getoutput", "pty.spawn"}  # fmt: skip
_SUBPROCESS = {"subprocess.run", "subprocess.call", "subprocess.check_call",
               "subprocess.check_output", "subprocess.Popen", "subprocess.getoutput",
               "asyncio.create_subprocess_shell", "asyncio.create_subprocess_exec"}  # fmt: skip
NETWORK_MODULES = ("socket", "urllib", "http.client", "requests", "httpx", "aiohttp", "ftplib",
                   "smtplib", "telnetlib", "xmlrpc", "websocket", "paramiko")  # fmt: skip
_UNPICKLE = {"pickle.loads", "pickle.load", "marshal.loads", "shelve.open", "yaml.load"}


def _shell_true(call: ast.Call) -> bool:
    return any(
        k.arg == "shell" and isinstance(k.value, ast.Constant) and k.value.value is True
        for k in call.keywords
    )


def is_network_module(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in NETWORK_MODULES)


def unsafe_patterns(path: str, tree: ast.Module) -> list[Finding]:
    """eval/exec and shell commands (blocking); other programs, network and unpickling (advice)."""
    found = []
    for name, call in calls(tree):
        line = call.lineno
        if name in _EVAL:
            found.append(Finding("unsafe", f"calls {name}(): it runs arbitrary code from data; "
                                 "parse the input explicitly instead.", path, line))  # fmt: skip
        elif name in _SHELL or (name in _SUBPROCESS and _shell_true(call)):
            found.append(Finding("unsafe", f"runs a shell command ({name}): pass an argument "
                                 "list to subprocess without shell=True, or avoid it.", path, line))  # fmt: skip
        elif name in _SUBPROCESS:
            found.append(Finding("unsafe", f"starts another program ({name}).", path, line,
                                 blocking=False))  # fmt: skip
        elif name in _UNPICKLE:
            found.append(Finding("unsafe", f"{name} can run code hidden in its input; "
                                 "use json for data.", path, line, blocking=False))  # fmt: skip
    for module, line in imported_modules(tree):
        if is_network_module(module):
            found.append(Finding("unsafe", f"uses the network ({module}).", path, line,
                                 blocking=False))  # fmt: skip
    return found


# -- dead code -----------------------------------------------------------------------------

_ENDS_BLOCK = (ast.Return, ast.Raise, ast.Continue, ast.Break)


def _blocks(tree: ast.AST) -> Iterator[list[ast.stmt]]:
    for node in ast.walk(tree):
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                yield block
        if isinstance(node, ast.Try):
            for handler in node.handlers:
                yield handler.body


def dead_code(path: str, tree: ast.Module) -> list[Finding]:
    """Statements after return/raise/continue/break, ``if False:`` blocks, unused private functions."""
    found = []
    for block in _blocks(tree):
        for stmt, after in pairwise(block):
            if isinstance(stmt, _ENDS_BLOCK):
                kind = type(stmt).__name__.lower()
                found.append(Finding("dead-code", f"code after {kind} on line {stmt.lineno} "
                                     "never runs: remove it or fix the control flow.",
                                     path, after.lineno, blocking=False))  # fmt: skip
                break
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.If | ast.While)
            and isinstance(node.test, ast.Constant)
            and not node.test.value
        ):
            found.append(Finding("dead-code", "this block is guarded by a false constant and "
                                 "never runs.", path, node.lineno, blocking=False))  # fmt: skip
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    used |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    for node in tree.body:
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and node.name.startswith("_")
            and not node.name.startswith("__")
            and node.name not in used
        ):
            found.append(Finding("dead-code", f"function {node.name} is never used: remove it "
                                 "or call it where it is needed.", path, node.lineno,
                                 blocking=False))  # fmt: skip
    return found


def review_sources(files: Mapping[str, str]) -> list[Finding]:
    """Every static finding in ``files`` (path → text): test files for empty tests, the rest for
    unsafe patterns and dead code."""
    found: list[Finding] = []
    for path, source in sorted(files.items()):
        if not path.endswith(".py"):
            continue
        tree, problem = parse(path, source)
        if tree is None:
            assert problem is not None
            found.append(problem)
            continue
        if is_test_path(path):
            found += assertless_tests(path, tree)
        else:
            found += unsafe_patterns(path, tree) + dead_code(path, tree)
    return found


def is_test_path(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return path.startswith("tests/") or name.startswith("test_") or name.endswith("_test.py")
