"""Resolving an OpenAPI document's local ``$ref``s, so the rest of the scaffold sees plain values.

Only references inside the document (``#/components/...``) are followed; anything else is
refused. A reference met again while it is being resolved (a recursive schema, such as a
comment whose replies are comments) becomes ``{}`` there: accepted, not checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Fail = Callable[[str, str], Exception]
"""Builds the error for a problem (where, what)."""


def resolve_refs(document: dict[str, Any], fail: Fail) -> dict[str, Any]:
    """A copy of ``document`` with every local ``$ref`` replaced by what it points at."""
    resolved = _resolve(document, document, "", (), fail)
    assert isinstance(resolved, dict)
    return resolved


def _resolve(
    value: Any, root: dict[str, Any], where: str, active: tuple[str, ...], fail: Fail
) -> Any:
    if isinstance(value, list):
        return [_resolve(v, root, f"{where}[{i}]", active, fail) for i, v in enumerate(value)]
    if not isinstance(value, dict):
        return value
    ref = value.get("$ref")
    if ref is not None:
        if not isinstance(ref, str) or not ref.startswith("#/"):
            raise fail(
                where or "the document",
                f"$ref {ref!r} is not a reference inside this document (only '#/...' is supported)",
            )
        if ref in active:
            return {}
        target = _pointer(root, ref, where, fail)
        siblings = {k: v for k, v in value.items() if k != "$ref"}
        found = _resolve(target, root, where, (*active, ref), fail)
        if siblings and isinstance(found, dict):
            return {**found, **_resolve(siblings, root, where, active, fail)}
        return found
    return {key: _resolve(sub, root, _join(where, key), active, fail) for key, sub in value.items()}


def _pointer(root: dict[str, Any], ref: str, where: str, fail: Fail) -> Any:
    node: Any = root
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise fail(where or "the document", f"$ref {ref!r} points at nothing")
    return node


def _join(where: str, key: str) -> str:
    if not where:
        return key
    if key.startswith("/") or not key.isidentifier():
        return f"{where}[{key!r}]"
    return f"{where}.{key}"
