"""Which operations of a document are plain CRUD, inferred from the usual REST shape.

A *collection* is a path with an item path under it (``/books`` and ``/books/{bookId}``),
or a path that both lists (GET answering an array, bare or wrapped) and creates (POST).
Its operations are ``create`` (POST collection), ``list`` (GET collection), ``read``,
``replace``, ``update`` and ``delete`` (GET, PUT, PATCH, DELETE item); every other
operation is ``custom``: behaviour the scaffold cannot guess, left to the coder model.
Nested collections (``/shelves/{shelfId}/books``) keep one table per parent.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from localfactory.twins.scaffold_openapi import ApiOperation
from localfactory.twins.scaffold_runtime import Paging, singular
from localfactory.twins.scaffold_schema import empty_value, properties, required, schema_types

Kind = Literal["create", "list", "read", "replace", "update", "delete", "custom"]

CREATED_NAMES = frozenset({"created_at", "createdAt", "created", "creation_time", "inserted_at"})
UPDATED_NAMES = frozenset({"updated_at", "updatedAt", "modified_at", "modifiedAt", "last_modified"})
LIMIT_NAMES = (
    "limit",
    "per_page",
    "perPage",
    "page_size",
    "pageSize",
    "size",
    "max_results",
    "maxResults",
    "count",
)
CURSOR_NAMES = (
    "cursor",
    "page_token",
    "pageToken",
    "next_token",
    "nextToken",
    "after",
    "starting_after",
)
OFFSET_NAMES = ("offset", "skip", "start", "start_at", "startAt")
PAGE_NAMES = ("page", "page_number", "pageNumber")
ITEMS_NAMES = ("data", "items", "results", "records", "entries", "values")
TOTAL_NAMES = ("total", "total_count", "totalCount", "count", "total_results", "totalResults")
NEXT_NAMES = (
    "next_cursor",
    "nextCursor",
    "next_page_token",
    "nextPageToken",
    "next_token",
    "nextToken",
    "cursor",
    "next",
)
MORE_NAMES = ("has_more", "hasMore", "more")


@dataclass
class Resource:
    name: str
    constant: str
    collection: str
    item: str | None
    id_param: str | None
    id_field: str = "id"
    id_kind: Literal["string", "integer", "uuid"] = "string"
    record_schema: dict[str, Any] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    created_fields: list[str] = field(default_factory=list)
    updated_fields: list[str] = field(default_factory=list)
    read_only: list[str] = field(default_factory=list)

    @property
    def singular(self) -> str:
        return singular(self.name)


@dataclass
class Classified:
    op: ApiOperation
    kind: Kind
    resource: Resource | None
    """For custom operations: the resource whose item (or collection) path they sit under."""


def segments(path: str) -> list[str]:
    return [s for s in path.strip("/").split("/") if s]


def is_param(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def shape(path: str) -> str:
    """A path with its parameters unnamed (``/books/{}``): documents name them unevenly."""
    return re.sub(r"\{[^{}/]*\}", "{}", path)


def classify(operations: list[ApiOperation]) -> tuple[list[Resource], list[Classified]]:
    """The resources of the document and what each operation does to them."""
    by_shape: dict[str, dict[str, ApiOperation]] = {}
    for op in operations:
        by_shape.setdefault(shape(op.path), {})[op.method] = op
    collections: dict[str, str | None] = {}
    for path in (op.path for op in operations):
        parts = segments(path)
        if len(parts) >= 2 and is_param(parts[-1]) and not is_param(parts[-2]):
            collections.setdefault("/" + "/".join(parts[:-1]), path)
    for op in operations:
        methods = by_shape[shape(op.path)]
        known = {shape(c) for c in collections}
        if shape(op.path) not in known and "POST" in methods and _lists(methods.get("GET")):
            collections[op.path] = None
    resources = [
        _resource(_named(collection, operations), item, by_shape)
        for collection, item in collections.items()
    ]
    _unique_names(resources)
    classified = [_classify(op, resources) for op in operations]
    return resources, classified


def _named(path: str, operations: list[ApiOperation]) -> str:
    """``path`` as the document spells it where it has operations of its own."""
    return next((op.path for op in operations if shape(op.path) == shape(path)), path)


def _lists(op: ApiOperation | None) -> bool:
    success = op.success if op is not None else None
    if success is None or success.schema is None:
        return False
    if "array" in schema_types(success.schema):
        return True
    return any("array" in schema_types(s) for s in properties(success.schema).values())


def _classify(op: ApiOperation, resources: list[Resource]) -> Classified:
    for resource in resources:
        if shape(op.path) == shape(resource.collection) and op.method in ("GET", "POST"):
            return Classified(op, "list" if op.method == "GET" else "create", resource)
        if resource.item and shape(op.path) == shape(resource.item) and op.method in _ITEM_KINDS:
            return Classified(op, _ITEM_KINDS[op.method], resource)
    return Classified(op, "custom", _owner(op.path, resources))


_ITEM_KINDS: dict[str, Kind] = {
    "GET": "read",
    "PUT": "replace",
    "PATCH": "update",
    "DELETE": "delete",
}


def _owner(path: str, resources: list[Resource]) -> Resource | None:
    """The resource whose item path (else collection) is the longest prefix of ``path``."""
    parts = segments(path)
    best: tuple[int, Resource] | None = None
    for resource in resources:
        for template, bonus in ((resource.item, 1), (resource.collection, 0)):
            if template is None:
                continue
            own = segments(template)
            if len(own) <= len(parts) and all(
                a == b or (is_param(a) and is_param(b)) for a, b in zip(own, parts, strict=False)
            ):
                score = 2 * len(own) + bonus
                if best is None or score > best[0]:
                    best = (score, resource)
    return best[1] if best else None


def _resource(
    collection: str, item: str | None, by_shape: dict[str, dict[str, ApiOperation]]
) -> Resource:
    name = next((s for s in reversed(segments(collection)) if not is_param(s)), "records")
    name = re.sub(r"\W+", "_", name).strip("_").lower() or "records"
    id_param = segments(item)[-1][1:-1] if item else None
    resource = Resource(name, name.upper(), collection, item, id_param)
    resource.record_schema = _record_schema(collection, item, by_shape)
    _fields(resource, by_shape.get(shape(collection), {}).get("POST"))
    return resource


def _record_schema(
    collection: str, item: str | None, by_shape: dict[str, dict[str, ApiOperation]]
) -> dict[str, Any]:
    candidates = [
        by_shape.get(shape(item or ""), {}).get("GET"),
        by_shape.get(shape(collection), {}).get("POST"),
    ]
    for op in candidates:
        success = op.success if op is not None else None
        if (
            success is not None
            and success.schema
            and "object" in (schema_types(success.schema) or ["object"])
        ):
            return success.schema
    listing = by_shape.get(shape(collection), {}).get("GET")
    success = listing.success if listing is not None else None
    if success is not None and success.schema is not None:
        schema = success.schema
        arrays = (
            [schema]
            if "array" in schema_types(schema)
            else [s for s in properties(schema).values() if "array" in schema_types(s)]
        )
        if arrays and isinstance(arrays[0].get("items"), dict):
            items: dict[str, Any] = arrays[0]["items"]
            return items
    return {}


def _fields(resource: Resource, create: ApiOperation | None) -> None:
    """The id field and what the twin sets by itself: timestamps, read-only and required defaults."""
    props = properties(resource.record_schema)
    base = resource.singular
    for candidate in (resource.id_param, "id", f"{base}_id", f"{base}Id", "uuid", "key"):
        if candidate and candidate in props:
            resource.id_field = candidate
            break
    id_schema = props.get(resource.id_field, {})
    if "integer" in schema_types(id_schema):
        resource.id_kind = "integer"
    elif id_schema.get("format") == "uuid":
        resource.id_kind = "uuid"
    settable = set(properties(create.body_schema)) if create and create.body_schema else set(props)
    wanted = set(required(resource.record_schema))
    for name, sub in props.items():
        if name == resource.id_field:
            continue
        if sub.get("readOnly"):
            resource.read_only.append(name)
        stamped = sub.get("format") == "date-time" and (sub.get("readOnly") or name not in settable)
        if name in UPDATED_NAMES and (stamped or name not in settable):
            resource.updated_fields.append(name)
        elif name in CREATED_NAMES or stamped:
            resource.created_fields.append(name)
        elif "default" in sub:
            resource.defaults[name] = sub["default"]
        elif name in wanted and (name not in settable or sub.get("readOnly")):
            resource.defaults[name] = empty_value(sub)


def _unique_names(resources: list[Resource]) -> None:
    counts: dict[str, int] = {}
    for resource in resources:
        counts[resource.name] = counts.get(resource.name, 0) + 1
    for resource in resources:
        if counts[resource.name] > 1:
            words = [s for s in segments(resource.collection) if not is_param(s)]
            resource.name = re.sub(r"\W+", "_", "_".join(words)).lower()
            resource.constant = resource.name.upper()


def paging_of(op: ApiOperation, resource: Resource) -> tuple[Paging, list[str]]:
    """How ``op`` (a list) pages and filters; also the query parameters it will ignore."""
    found: dict[str, Any] = {}
    params = {p.name: p for p in op.params("query")}
    limit = next((n for n in LIMIT_NAMES if n in params), None)
    if limit is not None:
        schema = params[limit].schema
        found["limit_param"] = limit
        found["default_limit"] = int(schema.get("default") or 20)
        found["max_limit"] = int(schema.get("maximum") or max(100, found["default_limit"]))
    for style, names in (("cursor", CURSOR_NAMES), ("offset", OFFSET_NAMES), ("page", PAGE_NAMES)):
        start = next((n for n in names if n in params), None)
        if start is not None:
            found.update(style=style, start_param=start)
            break
    success = op.success
    schema = success.schema if success is not None and success.schema else {}
    if schema and "array" not in schema_types(schema):
        props = properties(schema)
        arrays = [n for n, s in props.items() if "array" in schema_types(s)]
        preferred = [n for n in (*ITEMS_NAMES, resource.name) if n in arrays]
        found["items_field"] = (preferred or arrays or ["data"])[0]
        found["total_field"] = next((n for n in TOTAL_NAMES if n in props), None)
        found["cursor_field"] = next((n for n in NEXT_NAMES if n in props), None)
        found["more_field"] = next((n for n in MORE_NAMES if n in props), None)
    record_fields = set(properties(resource.record_schema))
    used = {found.get("limit_param"), found.get("start_param")}
    filters = [n for n in params if n not in used and n in record_fields]
    ignored = [n for n in params if n not in used and n not in filters]
    return Paging(filters=tuple(filters), **found), ignored
