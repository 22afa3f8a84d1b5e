"""Getting files out of a model's answer.

The edit format small models get right is whole files (or, in a repair, whole functions):
a path on the line before a fenced code block. Models chatter around their code, label
fences oddly, put the path inside the block as a comment, or run out of tokens before the
closing fence; extraction tolerates all of that and says what it could not use.

When a block for an existing Python file holds only some of its top-level functions, the
block is merged function by function (``merge_functions``) instead of replacing the file.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

_FENCE = re.compile(r"^(?P<indent>[ \t]{0,3})(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")
_PATH = re.compile(r"(?P<path>(?:[\w.-]+/)*[\w.-]+\.(?:py|toml|md|txt|cfg|ini|json|ya?ml|sh))\b")
_PATH_COMMENT = re.compile(
    r"^\s*(?:#|//)\s*(?:file(?:name)?|path)?\s*:?\s*(?P<path>\S+\.\w+)\s*$", re.I
)
_NON_CODE = {"bash", "sh", "shell", "console", "text", "txt", "output", "plaintext"}
EMPTY_BLOCK = "an empty code block"
"""How a skipped block with nothing in it (but perhaps a file name) is named."""


@dataclass
class FileEdit:
    path: str
    content: str
    truncated: bool = False
    """The block had no closing fence (the model ran out of tokens)."""


@dataclass
class Extraction:
    edits: list[FileEdit] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """Why blocks were not used, for feedback to the model."""

    def paths(self) -> list[str]:
        return [e.path for e in self.edits]


def _path_from_header(lines: list[str]) -> str | None:
    """A path named on the last non-empty line (within two lines) before a fence."""
    for line in reversed(lines[-3:]):
        text = line.strip()
        if not text:
            continue
        text = text.strip("*_`#>:- ").replace("`", "")
        m = _PATH.search(text)
        return m.group("path") if m else None
    return None


def _blocks(answer: str) -> list[tuple[str | None, str, str, bool]]:
    """(path from header, info string, body, truncated) for every fenced block."""
    lines = answer.splitlines()
    out: list[tuple[str | None, str, str, bool]] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, info = m.group("fence"), m.group("info").strip()
        header = _path_from_header(lines[:i])
        body: list[str] = []
        j = i + 1
        closed = False
        while j < len(lines):
            close = _FENCE.match(lines[j])
            if (
                close
                and close.group("fence")[0] == fence[0]
                and len(close.group("fence")) >= len(fence)
                and not close.group("info").strip()
            ):
                closed = True
                break
            body.append(lines[j])
            j += 1
        out.append((header, info, "\n".join(body), not closed))
        i = j + 1
    return out


def _is_path_line(line: str) -> str | None:
    """The path when ``line`` holds nothing but a file path (``chunking.py``, `` `a/b.py` ``)."""
    text = line.strip().strip("*_`'\":")
    return text if text and _PATH.fullmatch(text) else None


def _unnest(answer: str) -> str:
    """Drop a stray fence opener right before ``path`` and the real opener (```` ``` ```` or
    ```` ```python ````, ``chunking.py``, ```` ```python ````, code): small models wrap the path
    in a fence too. Only an opener is dropped, never the fence that closes a block."""
    lines = answer.splitlines()
    out: list[str] = []
    inside: str | None = None  # the fence of the block we are in
    for i, line in enumerate(lines):
        fence = _FENCE.match(line)
        if fence and inside is not None:
            mark = fence.group("fence")
            if (
                mark[0] == inside[0]
                and len(mark) >= len(inside)
                and not fence.group("info").strip()
            ):
                inside = None
        elif fence:
            after = _FENCE.match(lines[i + 2]) if i + 2 < len(lines) else None
            if after and _is_path_line(lines[i + 1]) and after.group("info").strip():
                continue  # the stray opener: the path line now heads the real block
            inside = fence.group("fence")
        out.append(line)
    return "\n".join(out)


def _unfenced(answer: str, expected: list[str]) -> FileEdit | None:
    """A file given without its opening fence: an expected path on a line of its own, then
    the file, up to a lone closing fence if one follows (small models drop the opener)."""
    lines = answer.splitlines()
    for i, line in enumerate(lines):
        path = _is_path_line(line)
        if path is None or _normalise(path) not in expected:
            continue
        rest = lines[i + 1 :]
        end = next((k for k, text in enumerate(rest) if _FENCE.match(text)), len(rest))
        body = "\n".join(rest[:end]).strip("\n")
        try:
            ast.parse(body)
        except SyntaxError:
            return None
        return FileEdit(_normalise(path), body.rstrip() + "\n") if body.strip() else None
    return None


def _normalise(path: str) -> str:
    path = path.strip().strip("`'\"")
    while path.startswith("./"):
        path = path[2:]
    return path


def extract_files(answer: str, expected: list[str] | None = None) -> Extraction:
    """The files in ``answer``. ``expected`` paths let an unlabelled block be placed when only one is missing."""
    result = Extraction()
    unlabelled: list[tuple[str, bool]] = []
    blocks = _blocks(_unnest(answer))
    if not blocks and expected:
        edit = _unfenced(answer, expected)
        if edit is not None:
            result.edits.append(edit)
        return result
    for header, info, body, truncated in blocks:
        lang = info.split()[0].lower() if info else ""
        path = header
        info_path = _PATH.search(info)
        if info_path and not path:
            path = info_path.group("path")
        first = body.splitlines()[0] if body.strip() else ""
        comment = _PATH_COMMENT.match(first)
        named = comment.group("path") if comment else _is_path_line(first)
        if named and _PATH.fullmatch(named):
            path = path or named
            if path == named:
                body = "\n".join(body.splitlines()[1:])
        if not body.strip():
            result.skipped.append(EMPTY_BLOCK)
            continue
        if path is None:
            if lang in _NON_CODE:
                result.skipped.append(f"a {lang} block (commands or output, not a file)")
                continue
            unlabelled.append((body, truncated))
            continue
        result.edits.append(FileEdit(_normalise(path), body.rstrip() + "\n", truncated))
    missing = [p for p in (expected or []) if p not in result.paths()]
    opened = _unfenced(answer, missing) if missing else None
    if opened is not None:  # then what followed its lone closing fence is no block
        result.edits.append(opened)
        missing.remove(opened.path)
        unlabelled = [(body, cut) for body, cut in unlabelled if not cut]
    if unlabelled:
        if len(unlabelled) == 1 and len(missing) == 1:
            body, truncated = unlabelled[0]
            result.edits.append(FileEdit(missing[0], body.rstrip() + "\n", truncated))
        else:
            result.skipped.append(
                f"{len(unlabelled)} code block(s) without a file path on the line before them"
            )
    # A path given twice: the last block wins (models often restate a corrected file).
    last: dict[str, FileEdit] = {}
    for edit in result.edits:
        last[edit.path] = edit
    result.edits = list(last.values())
    return result


def _top_level_defs(tree: ast.Module) -> dict[str, ast.stmt]:
    return {
        node.name: node
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }


def merge_functions(existing: str, block: str) -> str | None:
    """``existing`` with the top-level functions/classes of ``block`` swapped in.

    Returns None when the block is better treated as a whole file: it does not parse, it
    defines everything the file defines, or it defines nothing the file already has.
    Imports in the block that the file lacks are added after the file's last import.
    """
    try:
        old_tree, new_tree = ast.parse(existing), ast.parse(block)
    except SyntaxError:
        return None
    old_defs, new_defs = _top_level_defs(old_tree), _top_level_defs(new_tree)
    if not new_defs or not (set(new_defs) & set(old_defs)) or set(old_defs) <= set(new_defs):
        return None
    others = [
        n
        for n in new_tree.body
        if not isinstance(
            n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Import | ast.ImportFrom
        )
    ]
    if any(not (isinstance(n, ast.Expr) and isinstance(n.value, ast.Constant)) for n in others):
        return None  # module-level code in the block: not a function-only edit
    old_lines = existing.splitlines()
    new_lines = block.splitlines()

    def span(node: ast.stmt) -> tuple[int, int]:
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        assert node.end_lineno is not None
        return start - 1, node.end_lineno

    replacements = []
    for name, node in new_defs.items():
        s, e = span(node)
        text = new_lines[s:e]
        if name in old_defs:
            replacements.append((span(old_defs[name]), text))
        else:
            replacements.append(((len(old_lines), len(old_lines)), ["", "", *text]))
    for (s, e), text in sorted(replacements, key=lambda r: r[0], reverse=True):
        old_lines[s:e] = text
    _add_imports(old_tree, new_tree, old_lines)
    return "\n".join(old_lines).rstrip() + "\n"


def _add_imports(old_tree: ast.Module, new_tree: ast.Module, old_lines: list[str]) -> None:
    """Put the imports of ``new_tree`` that ``old_tree`` lacks after the old file's last import."""
    have = {ast.unparse(n) for n in old_tree.body if isinstance(n, ast.Import | ast.ImportFrom)}
    added = [
        ast.unparse(n)
        for n in new_tree.body
        if isinstance(n, ast.Import | ast.ImportFrom) and ast.unparse(n) not in have
    ]
    if added:
        imports = [n for n in old_tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        at = imports[-1].end_lineno if imports and imports[-1].end_lineno else 0
        old_lines[at:at] = added


def _body(node: ast.stmt) -> str:
    return ast.dump(ast.Module(body=getattr(node, "body", []), type_ignores=[]))


def append_tests(existing: str, block: str) -> tuple[str, list[str]]:
    """``existing`` tests with the tests of ``block`` that it lacks appended; the names of
    the tests appended. A test repeated word for word is left out; a test function that reuses
    an existing name with other content is appended under a new name (``<name>_more``), so no
    existing test changes. Helpers and fixtures the file lacks come along. Both must parse."""
    old_tree, new_tree = ast.parse(existing), ast.parse(block)
    old_defs, new_defs = _top_level_defs(old_tree), _top_level_defs(new_tree)
    old_lines, new_lines = existing.splitlines(), block.splitlines()
    taken = set(old_defs)
    # What each existing test does, whatever its name or marks: a test repeated under a new
    # name (a disputed, skipped one, say) is no new test.
    known = {_body(n) for n in old_defs.values()}
    appended: list[str] = []
    for name, node in new_defs.items():
        if _body(node) in known:
            continue
        is_test = name.lower().startswith("test")
        renamable = is_test and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        if name in taken and not renamable:
            continue
        start = min([node.lineno, *(d.lineno for d in getattr(node, "decorator_list", []))])
        text = new_lines[start - 1 : node.end_lineno]
        fresh = name
        while fresh in taken:
            fresh += "_more"
        if fresh != name:
            text = [line.replace(f"def {name}(", f"def {fresh}(", 1) for line in text]
        taken.add(fresh)
        old_lines += ["", "", *text]
        if is_test:
            appended.append(fresh)
    if appended:
        _add_imports(old_tree, new_tree, old_lines)
    else:
        old_lines = existing.splitlines()  # helpers alone add nothing worth running
    return "\n".join(old_lines).rstrip() + "\n", appended
