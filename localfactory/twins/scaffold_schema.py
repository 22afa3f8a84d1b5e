"""OpenAPI schemas turned into what a scaffolded twin checks, and examples made from them.

A twin checks requests with the JSON Schema subset of :mod:`localfactory.twins.schema`.
:func:`twin_schema` keeps what that subset checks, merges ``allOf``, turns OpenAPI 3.0's
``nullable`` and ``const`` into their 3.1 forms, and drops the rest, saying what it dropped
(the scaffold's report lists it: those parts are accepted unchecked). In request schemas,
``readOnly`` properties go: a client does not send an id.

:func:`example_of` makes a value that fits a schema (its examples and defaults first), for
requests that the document gives no example of.
"""

from __future__ import annotations

import re
from typing import Any

from localfactory.twins.schema import _ANNOTATIONS, _KEYWORDS

_DROPPED_SILENTLY = frozenset(
    {"example", "xml", "externalDocs", "discriminator", "writeOnly", "$schema", "$id", "$comment"}
)
_FORMAT_EXAMPLES = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "email": "ada@example.com",
    "uuid": "00000000-0000-4000-8000-000000000001",
    "uri": "https://example.com/",
    "url": "https://example.com/",
}


def twin_schema(
    schema: dict[str, Any], *, request: bool, notes: list[str], where: str
) -> dict[str, Any]:
    """``schema`` in the subset a twin checks; what could not be kept is appended to ``notes``."""
    schema = _merge_all_of(schema)
    out: dict[str, Any] = {}
    types = schema.get("type")
    names = [types] if isinstance(types, str) else list(types) if isinstance(types, list) else []
    if schema.get("nullable") is True and names and "null" not in names:
        names.append("null")
    if len([n for n in names if n != "null"]) > 1:
        notes.append(f"{where}: a value of several types ({', '.join(names)}) is not checked")
        names = []
    if names:
        out["type"] = names[0] if len(names) == 1 else names
    if "const" in schema:
        out["enum"] = [schema["const"]]
    for key, value in schema.items():
        if key in ("type", "nullable", "const", "allOf") or key in _DROPPED_SILENTLY:
            continue
        if key == "properties" and isinstance(value, dict):
            props = {
                name: twin_schema(sub, request=request, notes=notes, where=f"{where}.{name}")
                for name, sub in value.items()
                if isinstance(sub, dict) and not (request and sub.get("readOnly"))
            }
            out["properties"] = props
        elif key == "items" and isinstance(value, dict):
            out["items"] = twin_schema(value, request=request, notes=notes, where=f"{where}[]")
        elif key == "additionalProperties":
            out[key] = value if isinstance(value, bool) else True
        elif key == "pattern":
            if _compiles(value):
                out[key] = value
            else:
                notes.append(f"{where}: the pattern {value!r} is not a Python regular expression")
        elif key == "examples":
            if isinstance(value, list):
                out[key] = value
        elif key in _KEYWORDS or key in _ANNOTATIONS or key.startswith("x-"):
            out[key] = value
        else:
            notes.append(f"{where}: {key!r} is not checked")
    if request and "required" in out:
        kept = set(out.get("properties", {})) if "properties" in schema else None
        required = [r for r in out["required"] if kept is None or r in kept]
        if required:
            out["required"] = required
        else:
            del out["required"]
    return out


def _merge_all_of(schema: dict[str, Any]) -> dict[str, Any]:
    parts = schema.get("allOf")
    if not isinstance(parts, list):
        return schema
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    for part in parts:
        if not isinstance(part, dict):
            continue
        part = _merge_all_of(part)
        for key, value in part.items():
            if key == "properties":
                merged["properties"] = {**merged.get("properties", {}), **value}
            elif key == "required":
                merged["required"] = [*merged.get("required", []), *value]
            else:
                merged.setdefault(key, value)
    return merged


def _compiles(pattern: Any) -> bool:
    try:
        re.compile(pattern)
    except (re.error, TypeError):
        return False
    return True


def schema_types(schema: dict[str, Any]) -> list[str]:
    """The types a schema allows (``[]``: any), with OpenAPI 3.0's ``nullable`` as ``null``."""
    types = _merge_all_of(schema).get("type")
    names = [types] if isinstance(types, str) else list(types) if isinstance(types, list) else []
    if schema.get("nullable") is True and names:
        names.append("null")
    return names


def properties(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    props = _merge_all_of(schema).get("properties")
    return props if isinstance(props, dict) else {}


def required(schema: dict[str, Any]) -> list[str]:
    found = _merge_all_of(schema).get("required")
    return [r for r in found if isinstance(r, str)] if isinstance(found, list) else []


def empty_value(schema: dict[str, Any]) -> Any:
    """What a required field the client cannot set starts as: false, [], {}, 0, "" or null."""
    kinds = schema_types(schema)
    if "null" in kinds:
        return None
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kind = kinds[0] if kinds else "string"
    return {"boolean": False, "array": [], "object": {}, "integer": 0, "number": 0}.get(kind, "")


def example_of(schema: dict[str, Any], *, request: bool = True, depth: int = 0) -> Any:
    """A value that fits ``schema``: its example, default or first enum value, else one made up.

    Objects get their required properties, plus the optional ones that have an example.
    """
    schema = _merge_all_of(schema)
    for key in ("example", "default", "const"):
        if key in schema:
            return schema[key]
    if isinstance(schema.get("examples"), list) and schema["examples"]:
        return schema["examples"][0]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return schema["enum"][0]
    kinds = [t for t in schema_types(schema) if t != "null"]
    kind = kinds[0] if kinds else ("object" if "properties" in schema else "string")
    if kind == "object":
        if depth > 4:
            return {}
        wanted = set(required(schema))
        out: dict[str, Any] = {}
        for name, sub in properties(schema).items():
            if request and sub.get("readOnly"):
                continue
            if name in wanted or "example" in sub or "examples" in sub:
                out[name] = example_of(sub, request=request, depth=depth + 1)
        return out
    if kind == "array":
        count = int(schema.get("minItems") or 0)
        found = schema.get("items")
        item: dict[str, Any] = found if isinstance(found, dict) else {}
        return [example_of(item, request=request, depth=depth + 1) for _ in range(count)]
    if kind in ("integer", "number"):
        low = schema.get("minimum")
        value = low if isinstance(low, int | float) else 1
        return int(value) if kind == "integer" else float(value)
    if kind == "boolean":
        return True
    text = _FORMAT_EXAMPLES.get(str(schema.get("format")), "example")
    low = int(schema.get("minLength") or 0)
    return text + "x" * max(0, low - len(text))
