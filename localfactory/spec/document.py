"""Splitting a spec file into its YAML front matter and Markdown body, keeping line numbers.

Nothing here validates fields: this module only finds where things are, so that every
error about a spec can name the line a person has to fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

_FENCE = "---"
_CLOSERS = ("---", "...")
_CRITERIA_HEADING = re.compile(r"^#{1,6}\s+acceptance\s+criteria\s*:?\s*$", re.IGNORECASE)
_HEADING = re.compile(r"^#{1,6}\s")
_ITEM = re.compile(r"^\s{0,3}(?:[-*+]|\d+[.)])\s+(.*\S)\s*$")


class DocumentProblem(Exception):
    """Something about the layout of the file; ``line`` is 1-based in the whole file."""

    def __init__(self, message: str, line: int, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.hint = hint


@dataclass
class CriteriaSection:
    heading_line: int
    items: list[str] = field(default_factory=list)
    item_lines: list[int] = field(default_factory=list)


@dataclass
class SpecDocument:
    """A spec file taken apart: parsed front matter, its YAML node tree, and the body."""

    front_matter: dict[str, object]
    node: yaml.MappingNode
    first_line: int
    """File line of the front matter's first YAML line (the line after the opening ``---``)."""

    body: str
    """The Markdown body without the acceptance criteria section."""

    criteria: CriteriaSection | None

    def key_line(self, key: str) -> int | None:
        for key_node, _ in self.node.value:
            if getattr(key_node, "value", None) == key:
                return self.first_line + key_node.start_mark.line
        return None

    def line_of(self, path: tuple[object, ...]) -> int:
        """File line of the front matter entry at ``path`` (keys and list indexes)."""
        return node_line(self.node, path, self.first_line)


def node_line(root: yaml.Node, path: tuple[object, ...], first_line: int = 1) -> int:
    """File line of the YAML entry at ``path`` (keys and list indexes) under ``root``.

    Elements that have no counterpart in the YAML (pydantic's union tags) are skipped,
    and the deepest entry found is used. ``first_line`` is the file line of the YAML's first line.
    """
    node: yaml.Node = root
    line = node.start_mark.line
    for step in path:
        if isinstance(node, yaml.MappingNode):
            found = next((kv for kv in node.value if _key_matches(kv[0], step)), None)
            if found is None:
                continue
            line = found[0].start_mark.line
            node = found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            if step >= len(node.value):
                break
            node = node.value[step]
            line = node.start_mark.line
        else:
            break
    return first_line + line


def _key_matches(key_node: yaml.Node, step: object) -> bool:
    value = getattr(key_node, "value", None)
    return value == step or (value is not None and str(value) == str(step))


def split(text: str) -> SpecDocument:
    """Take a spec file's text apart. Raises :class:`DocumentProblem` with the line to fix."""
    lines = text.lstrip("\ufeff").split("\n")
    if not lines or lines[0].rstrip() != _FENCE:
        raise DocumentProblem(
            "The spec has no front matter: its first line must be '---'.",
            1,
            hint="Start the file with '---', the YAML fields (name, kind, interface...), then '---'.",
        )
    close = next((i for i in range(1, len(lines)) if lines[i].rstrip() in _CLOSERS), None)
    if close is None:
        raise DocumentProblem(
            "The front matter opened on line 1 is never closed.",
            1,
            hint="Add a line '---' after the last YAML field.",
        )
    yaml_text = "\n".join(lines[1:close])
    data, node = parse_yaml_mapping(yaml_text, first_line=2)
    body_lines = lines[close + 1 :]
    body, criteria = _take_criteria(body_lines, first_line=close + 2)
    return SpecDocument(data, node, 2, body, criteria)


def parse_yaml_mapping(
    text: str, first_line: int, what: str = "The front matter"
) -> tuple[dict[str, object], yaml.MappingNode]:
    """Parse YAML that must be a mapping; problems carry the file line (``first_line`` = YAML line 1)."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = first_line + (mark.line if mark else 0)
        problem = exc.problem or "invalid YAML"
        hint = "Check the indentation and quoting on that line."
        if "mapping values are not allowed" in problem:
            hint = "Put a value that contains ': ' in quotes, e.g. - 'slugify(text: str) -> str'."
        raise DocumentProblem(f"{what} is not valid YAML: {problem}.", line, hint) from None
    except yaml.YAMLError as exc:
        raise DocumentProblem(f"{what} is not valid YAML: {exc}.", first_line) from None
    if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
        raise DocumentProblem(
            f"{what} must be a set of 'key: value' fields.",
            first_line,
            hint="Write one 'key: value' field per line (name: text-tools).",
        )
    seen: dict[object, int] = {}
    for key_node, _ in node.value:
        key = getattr(key_node, "value", None)
        if key in seen:
            raise DocumentProblem(
                f"The field {key!r} appears twice in {what.lower()} (first on line "
                f"{first_line + seen[key]}).",
                first_line + key_node.start_mark.line,
                hint="Keep one of them.",
            )
        seen[key] = key_node.start_mark.line
    return data, node


def _take_criteria(lines: list[str], first_line: int) -> tuple[str, CriteriaSection | None]:
    """Cut the acceptance criteria section out of the body and read its bullet items."""
    start = next((i for i, ln in enumerate(lines) if _CRITERIA_HEADING.match(ln.strip())), None)
    if start is None:
        return "\n".join(lines).strip(), None
    end = next((i for i in range(start + 1, len(lines)) if _HEADING.match(lines[i])), len(lines))
    section = CriteriaSection(heading_line=first_line + start)
    open_item = False
    for i in range(start + 1, end):
        raw = lines[i]
        match = _ITEM.match(raw)
        if match:
            section.items.append(match.group(1))
            section.item_lines.append(first_line + i)
            open_item = True
        elif not raw.strip():
            open_item = open_item and i + 1 < end and lines[i + 1][:1].isspace()
        elif open_item and (raw[:1].isspace() or lines[i - 1].strip()):
            section.items[-1] += " " + raw.strip()
        else:
            open_item = False
    body = "\n".join(lines[:start] + lines[end:]).strip()
    return body, section
