"""Reading a spec file into a :class:`Spec`, with one clear error naming the file and line.

Every way a spec can be wrong (no front matter, bad YAML, an unknown or misspelled key, a
wrong type, a missing field, no acceptance criteria, a bad duration, an unsupported
language, an unreadable file) ends as a :class:`SpecError`: ``FILE:LINE: what is wrong``
plus a hint. Nothing a person writes produces a traceback.
"""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from localfactory.errors import UserError
from localfactory.spec.document import DocumentProblem, SpecDocument, split
from localfactory.spec.model import CliInterface, LibraryInterface, ServiceInterface, Spec

_TAGS: dict[str, type[BaseModel]] = {
    "library": LibraryInterface,
    "cli": CliInterface,
    "http-service": ServiceInterface,
}


class SpecError(UserError):
    """A spec file that cannot be used; the message names the file and line to fix."""

    def __init__(
        self, path: Path | str, line: int | None, message: str, *, hint: str | None = None
    ):
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}", hint=hint)
        self.path = Path(path)
        self.line = line
        self.problem = message


def load_spec(path: Path | str) -> Spec:
    """Read and validate the spec at ``path``. Raises :class:`SpecError`."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(path, None, "No such spec file.", hint="Check the path.") from None
    except IsADirectoryError:
        raise SpecError(path, None, "This is a folder, not a spec file.") from None
    except OSError as exc:
        raise SpecError(path, None, f"Cannot read the spec: {exc.strerror}.") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SpecError(
            path,
            line,
            f"The spec is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}).",
            hint="Save the file as UTF-8.",
        ) from None
    return parse_spec(text, source=path)


def parse_spec(text: str, *, source: Path | str = "<spec>") -> Spec:
    """Validate a spec given as text; ``source`` only names it in error messages."""
    text = text.replace("\r\n", "\n")
    try:
        doc = split(text)
    except DocumentProblem as exc:
        raise SpecError(source, exc.line, exc.message, hint=exc.hint) from None
    data = _fields(doc, source)
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        raise _explain(exc, doc, source) from None


def _fields(doc: SpecDocument, source: Path | str) -> dict[str, Any]:
    data = dict(doc.front_matter)
    if "description" in data:
        raise SpecError(
            source,
            doc.key_line("description"),
            "'description' is not a front matter field.",
            hint="Write the description as the Markdown text after the closing '---'.",
        )
    if doc.criteria is not None:
        if "acceptance" in data:
            raise SpecError(
                source,
                doc.key_line("acceptance"),
                "Acceptance criteria are given twice: in the front matter and in the "
                f"'Acceptance criteria' section on line {doc.criteria.heading_line}.",
                hint="Keep the bullet list in the body and remove 'acceptance' from the front matter.",
            )
        if not doc.criteria.items:
            raise SpecError(
                source,
                doc.criteria.heading_line,
                "The 'Acceptance criteria' section has no bullet items.",
                hint="List each criterion as a line starting with '- '.",
            )
        data["acceptance"] = doc.criteria.items
    elif "acceptance" not in data:
        raise SpecError(
            source,
            1,
            "The spec has no acceptance criteria.",
            hint="Add a '## Acceptance criteria' section with one '- ' bullet per criterion.",
        )
    data["description"] = doc.body
    return data


def _explain(exc: ValidationError, doc: SpecDocument, source: Path | str) -> SpecError:
    errors = exc.errors()
    first = errors[0]
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    loc = tuple(first["loc"])
    line = _line(loc, doc)
    message, hint = _describe(first, loc)
    if len(errors) > 1:
        message = message.rstrip(".") + more + "."
    return SpecError(source, line, message, hint=hint)


def _line(loc: tuple[Any, ...], doc: SpecDocument) -> int:
    if loc and loc[0] == "acceptance" and doc.criteria is not None:
        if len(loc) > 1 and isinstance(loc[1], int) and loc[1] < len(doc.criteria.item_lines):
            return doc.criteria.item_lines[loc[1]]
        return doc.criteria.heading_line
    return doc.line_of(loc)


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for i, step in enumerate(loc):
        if i > 0 and loc[i - 1] == "interface" and step in _TAGS:
            continue
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += f".{step}" if out else str(step)
    return out or "front matter"


def _describe(err: ErrorDetails, loc: tuple[Any, ...]) -> tuple[str, str | None]:
    where = _dotted(loc)
    kind = err["type"]
    if kind == "extra_forbidden":
        known = _fields_at(loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
        parent = _dotted(loc[:-1])
        place = "the front matter" if len(loc) == 1 else f"'{parent}'"
        hint = f"Did you mean {close[0]!r}?" if close else None
        if not hint and known:
            hint = "Known keys here: " + ", ".join(known) + "."
        return f"Unknown key {loc[-1]!r} in {place}.", hint
    if kind == "missing":
        fields = ", ".join(_fields_at(loc[:-1]))
        return f"The required field {where!r} is missing.", (
            f"Fields here: {fields}." if fields else None
        )
    msg = err["msg"].removeprefix("Value error, ")
    if kind == "too_short" and loc and loc[-1] in ("acceptance", "functions", "routes"):
        return f"{where!r} is empty.", "Give at least one entry."
    got = err.get("input")
    if kind == "string_type" and isinstance(got, dict):
        return f"Invalid {where!r}: expected text but YAML read 'key: value' there.", (
            "Put a value that contains ': ' in quotes, e.g. - 'slugify(text: str) -> str'."
        )
    shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
    if kind.startswith("value_error"):
        return f"Invalid {where!r}: {msg}.", None
    return f"Invalid {where!r}: {msg[0].lower()}{msg[1:]}{shown}.", None


def _fields_at(loc: tuple[Any, ...]) -> list[str]:
    """Field names of the model found by following ``loc`` from :class:`Spec`."""
    model: type[BaseModel] | None = Spec
    for step in loc:
        if model is None:
            return []
        if isinstance(step, str) and step in _TAGS and step not in model.model_fields:
            model = _TAGS[step]
            continue
        info = model.model_fields.get(str(step)) if isinstance(step, str) else None
        if info is None:
            continue
        model = _model_in(info.annotation)
    if model is None:
        return []
    return [name for name in model.model_fields if name not in ("kind", "description")]


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType, list, dict):
        for arg in reversed(typing.get_args(annotation)):
            found = _model_in(arg)
            if found is not None:
                return found
    return None
