"""Request schemas compiled once into plain Python checks.

A twin declares each operation's arguments as a JSON Schema (the subset below). The
same dictionary goes into the twin's OpenAPI document, and is compiled here into a
chain of closures so a request costs a few dictionary look-ups, not a schema walk.

Arguments often arrive as strings (query strings, form bodies), so a check also
*coerces*: ``"20"`` becomes ``20`` for an integer, ``"true"`` becomes ``True``, and a
JSON text becomes the array or object it spells (Slack sends ``blocks`` that way).

Supported keywords: ``type`` (one name, or a list that may include ``"null"``),
``properties``, ``required``, ``additionalProperties`` (a boolean), ``items``,
``minItems``, ``maxItems``, ``enum``, ``minLength``, ``maxLength``, ``pattern``,
``minimum``, ``maximum``, plus annotations (``description``, ``title``, ``default``,
``examples``, ``format``, ``deprecated`` and ``x-*``). Anything else is refused when the
twin is declared, so no part of a schema is silently left unchecked. A required
property given as an empty string counts as absent: a form body cannot tell the two apart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any, str], Any]
"""A compiled schema: takes a value and its location, returns the (coerced) value."""

_ANNOTATIONS = frozenset(
    {"description", "title", "default", "examples", "format", "deprecated", "readOnly"}
)
_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "minItems",
        "maxItems",
        "enum",
        "minLength",
        "maxLength",
        "pattern",
        "minimum",
        "maximum",
    }
)
_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off", ""})


class SchemaViolation(Exception):
    """A value does not match its schema. ``reason`` is a stable word a twin can map to its own error."""

    def __init__(self, where: str, reason: str, detail: str) -> None:
        super().__init__(f"{where or 'request'}: {detail}")
        self.where = where
        self.reason = reason
        self.detail = detail

    @property
    def field(self) -> str:
        """The top-level argument at fault (``channel`` for ``channel`` or ``channel.id``)."""
        return self.where.split(".", 1)[0].split("[", 1)[0]


class SchemaError(Exception):
    """A twin declared a schema this compiler cannot check (a programming error, not a user's)."""


def compile_schema(schema: dict[str, Any]) -> Check:
    """Compile ``schema`` into a check; raises :class:`SchemaError` for unsupported keywords."""
    for key in schema:
        if key not in _KEYWORDS and key not in _ANNOTATIONS and not key.startswith("x-"):
            raise SchemaError(f"Unsupported schema keyword {key!r} in {schema!r}.")
    types = schema.get("type")
    names: tuple[str, ...] = (
        () if types is None else (types,) if isinstance(types, str) else tuple(types)
    )
    nullable = "null" in names
    names = tuple(n for n in names if n != "null")
    if len(names) > 1:
        raise SchemaError(f"Only one non-null type per schema is supported, got {names!r}.")
    kind = names[0] if names else None
    steps: list[Check] = []
    if kind is not None:
        if kind not in _TYPE_CHECKS:
            raise SchemaError(f"Unknown schema type {kind!r}.")
        steps.append(_TYPE_CHECKS[kind](schema))
    if "enum" in schema:
        steps.append(_enum(schema["enum"]))
    return _chain(steps, nullable)


def _chain(steps: list[Check], nullable: bool) -> Check:
    if not steps:
        return lambda value, where: value

    def check(value: Any, where: str) -> Any:
        if value is None and nullable:
            return None
        for step in steps:
            value = step(value, where)
        return value

    return check


def _fail(where: str, reason: str, detail: str) -> SchemaViolation:
    return SchemaViolation(where, reason, detail)


def _object(schema: dict[str, Any]) -> Check:
    props = {name: compile_schema(sub) for name, sub in schema.get("properties", {}).items()}
    required = tuple(schema.get("required", ()))
    closed = schema.get("additionalProperties", True) is False
    if not isinstance(schema.get("additionalProperties", True), bool):
        raise SchemaError("additionalProperties must be true or false here.")

    def check(value: Any, where: str) -> Any:
        if isinstance(value, str) and value[:1] == "{":
            value = _parse_json(value, where)
        if not isinstance(value, dict):
            raise _fail(where, "type", "expected an object")
        out = dict(value)
        for name in required:
            if name not in out or out[name] is None or out[name] == "":
                raise _fail(_join(where, name), "missing", f"{name} is required")
        for name, sub in props.items():
            if name in out:
                out[name] = sub(out[name], _join(where, name))
        if closed:
            for name in out:
                if name not in props:
                    raise _fail(_join(where, name), "unknown", f"{name} is not accepted")
        return out

    return check


def _array(schema: dict[str, Any]) -> Check:
    item = compile_schema(schema["items"]) if "items" in schema else None
    low = schema.get("minItems")
    high = schema.get("maxItems")

    def check(value: Any, where: str) -> Any:
        if isinstance(value, str) and value[:1] == "[":
            value = _parse_json(value, where)
        if not isinstance(value, list):
            raise _fail(where, "type", "expected an array")
        if low is not None and len(value) < low:
            raise _fail(where, "min_items", f"needs at least {low} items")
        if high is not None and len(value) > high:
            raise _fail(where, "max_items", f"takes at most {high} items")
        if item is None:
            return value
        return [item(v, f"{where}[{i}]") for i, v in enumerate(value)]

    return check


def _string(schema: dict[str, Any]) -> Check:
    low = schema.get("minLength")
    high = schema.get("maxLength")
    pattern = re.compile(schema["pattern"]) if "pattern" in schema else None

    def check(value: Any, where: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise _fail(where, "type", "expected a string")
        if not isinstance(value, str):
            value = str(value)
        if low is not None and len(value) < low:
            raise _fail(where, "min_length", f"must be at least {low} characters")
        if high is not None and len(value) > high:
            raise _fail(where, "max_length", f"must be at most {high} characters")
        if pattern is not None and pattern.search(value) is None:
            raise _fail(where, "pattern", f"must match {pattern.pattern}")
        return value

    return check


def _number(schema: dict[str, Any], integral: bool) -> Check:
    low = schema.get("minimum")
    high = schema.get("maximum")
    label = "an integer" if integral else "a number"

    def check(value: Any, where: str) -> Any:
        if isinstance(value, str):
            try:
                value = int(value) if integral else float(value)
            except ValueError:
                raise _fail(where, "type", f"expected {label}") from None
        elif isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(where, "type", f"expected {label}")
        elif integral and isinstance(value, float):
            if not value.is_integer():
                raise _fail(where, "type", f"expected {label}")
            value = int(value)
        if low is not None and value < low:
            raise _fail(where, "minimum", f"must be at least {low}")
        if high is not None and value > high:
            raise _fail(where, "maximum", f"must be at most {high}")
        return value

    return check


def _boolean(schema: dict[str, Any]) -> Check:
    def check(value: Any, where: str) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            lowered = value.lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise _fail(where, "type", "expected a boolean")

    return check


def _enum(allowed: list[Any]) -> Check:
    choices = frozenset(allowed)

    def check(value: Any, where: str) -> Any:
        if value not in choices:
            shown = ", ".join(repr(a) for a in allowed)
            raise _fail(where, "enum", f"must be one of {shown}")
        return value

    return check


_TYPE_CHECKS: dict[str, Callable[[dict[str, Any]], Check]] = {
    "object": _object,
    "array": _array,
    "string": _string,
    "integer": lambda s: _number(s, integral=True),
    "number": lambda s: _number(s, integral=False),
    "boolean": _boolean,
}


def _join(where: str, name: str) -> str:
    return f"{where}.{name}" if where else name


def _parse_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise _fail(where, "json", "is not valid JSON") from None


# -- builders for the schemas twins declare -------------------------------------------------


def obj(required: tuple[str, ...] = (), **properties: dict[str, Any]) -> dict[str, Any]:
    """An object schema; ``required`` names the properties that must be there."""
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = list(required)
    return schema


def closed_list(required: tuple[str, ...] = (), **properties: dict[str, Any]) -> dict[str, Any]:
    """An array of objects that take no properties but these (seed data lists)."""
    return {
        "type": "array",
        "items": {**obj(required, **properties), "additionalProperties": False},
    }


def string(description: str, **more: Any) -> dict[str, Any]:
    return {"type": "string", "description": description, **more}


def optional_string(description: str) -> dict[str, Any]:
    """A string or null."""
    return {"type": ["string", "null"], "description": description}


def boolean(description: str) -> dict[str, Any]:
    return {"type": "boolean", "description": description}


def strings(description: str) -> dict[str, Any]:
    return {"type": "array", "items": {"type": "string"}, "description": description}
