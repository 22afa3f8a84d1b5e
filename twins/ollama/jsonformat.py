"""The ``format`` of a request: ``"json"`` or a JSON schema the answer must follow.

Ollama turns the schema into a grammar, so its answers always parse and conform. The
scripted responder keeps that promise: a scripted reply is checked against the schema
(:func:`violation`), and when no script applies an answer is made from the schema itself
(:func:`example`: required properties only, first enum values, minimums), the same answer
every time.

The checks cover what schemas from pydantic and hand-written ones use: ``type`` (one or a
list), ``enum``, ``const``, ``properties``, ``required``, ``additionalProperties``,
``items``, ``minItems``/``maxItems``, ``minLength``/``maxLength``, ``pattern``,
``minimum``/``maximum`` (and the exclusive forms), ``anyOf``/``oneOf``/``allOf`` and
local ``$ref``s (``#/$defs/...``). Other keywords are not checked.
"""

from __future__ import annotations

import json
import re
from typing import Any

_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
}


def parse(text: str, fmt: Any) -> tuple[Any, str | None]:
    """The JSON in ``text`` and what is wrong with it for ``fmt`` (None when it conforms)."""
    try:
        value = json.loads(text)
    except ValueError:
        return None, "it is not valid JSON"
    if isinstance(fmt, dict):
        return value, violation(value, fmt, fmt)
    return value, None


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in schema and seen < 32:
        ref = str(schema["$ref"])
        if not ref.startswith("#/"):
            return {}
        node: Any = root
        for part in ref[2:].split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        schema = node if isinstance(node, dict) else {}
        seen += 1
    return schema


def _is(value: Any, kind: str) -> bool:
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _TYPES.get(kind, (object,)))


def violation(value: Any, schema: Any, root: dict[str, Any], where: str = "$") -> str | None:
    """The first way ``value`` breaks ``schema``, as ``"$.path: reason"``, or None."""
    if not isinstance(schema, dict):
        return None
    schema = _resolve(schema, root)
    kinds = schema.get("type")
    if kinds is not None:
        names = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_is(value, k) for k in names):
            return f"{where}: expected {' or '.join(names)}"
    if "const" in schema and value != schema["const"]:
        return f"{where}: must be {schema['const']!r}"
    if "enum" in schema and value not in schema["enum"]:
        return f"{where}: must be one of {schema['enum']!r}"
    for key in ("anyOf", "oneOf"):
        if key in schema and all(violation(value, s, root, where) for s in schema[key]):
            return f"{where}: matches none of the {key} choices"
    for sub in schema.get("allOf", []):
        if found := violation(value, sub, root, where):
            return found
    if isinstance(value, dict):
        return _object_violation(value, schema, root, where)
    if isinstance(value, list):
        return _array_violation(value, schema, root, where)
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            return f"{where}: shorter than {schema['minLength']}"
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            return f"{where}: longer than {schema['maxLength']}"
        if "pattern" in schema and re.search(schema["pattern"], value) is None:
            return f"{where}: does not match {schema['pattern']}"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number_violation(value, schema, where)
    return None


def _object_violation(
    value: dict[str, Any], schema: dict[str, Any], root: dict[str, Any], where: str
) -> str | None:
    properties = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            return f"{where}: {name} is required"
    for name, item in value.items():
        if name in properties:
            if found := violation(item, properties[name], root, f"{where}.{name}"):
                return found
        elif schema.get("additionalProperties") is False:
            return f"{where}: {name} is not allowed"
        elif isinstance(schema.get("additionalProperties"), dict):
            extra = schema["additionalProperties"]
            if found := violation(item, extra, root, f"{where}.{name}"):
                return found
    return None


def _array_violation(
    value: list[Any], schema: dict[str, Any], root: dict[str, Any], where: str
) -> str | None:
    if len(value) < schema.get("minItems", 0):
        return f"{where}: fewer than {schema['minItems']} items"
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        return f"{where}: more than {schema['maxItems']} items"
    for i, item in enumerate(value):
        if found := violation(item, schema.get("items"), root, f"{where}[{i}]"):
            return found
    return None


def _number_violation(value: float, schema: dict[str, Any], where: str) -> str | None:
    if "minimum" in schema and value < schema["minimum"]:
        return f"{where}: below {schema['minimum']}"
    if "maximum" in schema and value > schema["maximum"]:
        return f"{where}: above {schema['maximum']}"
    if "exclusiveMinimum" in schema and value <= schema["exclusiveMinimum"]:
        return f"{where}: not above {schema['exclusiveMinimum']}"
    if "exclusiveMaximum" in schema and value >= schema["exclusiveMaximum"]:
        return f"{where}: not below {schema['exclusiveMaximum']}"
    return None


def example(schema: Any, root: dict[str, Any] | None = None, depth: int = 0) -> Any:
    """A value that follows ``schema``, the same one every time."""
    if not isinstance(schema, dict) or depth > 16:
        return None
    root = schema if root is None else root
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        choices = [s for s in schema.get(key, []) if _resolve(s, root).get("type") != "null"]
        if choices:
            return example(choices[0], root, depth + 1)
    kinds = schema.get("type", "object" if "properties" in schema else None)
    kind = kinds if isinstance(kinds, str) else next((k for k in kinds or [] if k != "null"), None)
    if kind == "object":
        properties = schema.get("properties", {})
        return {
            name: example(properties.get(name, {}), root, depth + 1)
            for name in schema.get("required", [])
        }
    if kind == "array":
        return [example(schema.get("items", {}), root, depth + 1)] * schema.get("minItems", 0)
    if kind == "string":
        return "x" * schema.get("minLength", 0)
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", -1) + 1)
        return int(low) if kind == "integer" else float(low)
    if kind == "boolean":
        return False
    return None
