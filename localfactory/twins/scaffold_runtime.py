"""What twins scaffolded from an OpenAPI document run on: records in tables, and CRUD handlers.

A scaffolded twin declares each of its resources as a :class:`Collection` (in its
``resources.py``) and each CRUD operation with a handler made here (:func:`creator`,
:func:`lister`, ...). Handlers the scaffold cannot infer (``handlers.py``) use the same
collections: ``BOOKS.find(call)`` is the book the request's path names (a 404 in the
document's error shape when there is none), ``BOOKS.save(call, book)`` stores a change.

Records are plain JSON objects in one state table per collection (``books``; nested
collections get one table per parent, ``shelves/7/books``), keyed by their id as text, so
snapshots and restores need no code.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from localfactory.twins.core import INVALID_ARGUMENTS, Call, Operation, Refusal, TokenScheme
from localfactory.twins.pages import BadCursor, decode_cursor, encode_cursor, page_after
from localfactory.twins.state import TwinState

TOKENS = TokenScheme(prefix="twin_", schemes=("bearer", "token"), basic="password")
"""Tokens from ``POST /_twin/tokens``, as a bearer token or as the password of Basic credentials."""
_PARAM = re.compile(r"\{([^{}/]+)\}")


class GeneratedWorld(TwinState):
    """A scaffolded twin's world: one table per collection; a fresh world is empty."""


def issue_token(state: TwinState, request: dict[str, Any]) -> dict[str, Any]:
    """A token for ``{"user": name}`` (default ``tester``); handlers see it as ``call.principal``."""
    user = request.get("user") or "tester"
    if not isinstance(user, str):
        raise Refusal("bad_user", detail="user must be a name.")
    return {"user": user}


def now_iso() -> str:
    """The current time as ISO 8601 in UTC (``2024-05-01T10:00:00Z``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def not_implemented(call: Call) -> Refusal:
    """The refusal a handler nobody has written yet raises: 501 in the document's error shape."""
    op = call.operation
    return Refusal(
        "not_implemented",
        status=501,
        detail=f"{op.method} {op.path} ({op.name}) is not written yet in this twin.",
    )


@dataclass(frozen=True)
class Collection:
    """One kind of record the API keeps (books), and the helpers handlers use on it."""

    name: str
    path: str
    """The collection's path (``/books``, ``/shelves/{shelfId}/books``)."""
    id_field: str = "id"
    id_param: str | None = None
    """The item path's parameter naming a record (``bookId``)."""
    id_kind: Literal["string", "integer", "uuid"] = "string"
    fields: tuple[str, ...] = ()
    """The record's documented fields, in the document's order (answers keep it)."""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    created_fields: tuple[str, ...] = ()
    updated_fields: tuple[str, ...] = ()
    read_only: tuple[str, ...] = ()
    """Fields a client cannot set (ignored in bodies)."""

    def records(self, call: Call) -> dict[str, dict[str, Any]]:
        """The table of this collection (under the parent the request's path names)."""
        values = list(call.path.values())
        name = self.path.strip("/")
        for i, param in enumerate(_PARAM.findall(self.path)):
            value = call.path.get(param, values[i] if i < len(values) else "")
            name = name.replace("{" + param + "}", value)
        table: dict[str, dict[str, Any]] = call.state.table(name)
        return table

    def all(self, call: Call) -> list[dict[str, Any]]:
        """Every record, oldest first."""
        return list(self.records(call).values())

    def find(self, call: Call, record_id: Any = None) -> dict[str, Any]:
        """The record with ``record_id`` (default: the one the request's path names); 404 if none."""
        if record_id is None:
            record_id = self._path_id(call)
        found = self.records(call).get(str(record_id))
        if found is None:
            raise Refusal(
                "not_found",
                status=404,
                detail=f"No {singular(self.name)} has the id {str(record_id)!r}.",
            )
        return found

    def add(self, call: Call, fields: Mapping[str, Any]) -> dict[str, Any]:
        """A new record from ``fields`` (read-only ones ignored), with a new id and timestamps."""
        number = call.state.next_number(self.name)
        new_id: Any = number
        if self.id_kind == "string":
            new_id = str(number)
        elif self.id_kind == "uuid":
            new_id = f"00000000-0000-4000-8000-{number:012d}"
        stamp = now_iso()
        record = {self.id_field: new_id, **copy.deepcopy(dict(self.defaults))}
        record.update(self._settable(fields))
        for name in (*self.created_fields, *self.updated_fields):
            record[name] = stamp
        self.records(call)[str(new_id)] = record = self._ordered(record)
        return record

    def save(self, call: Call, record: dict[str, Any]) -> dict[str, Any]:
        """Store ``record`` (a changed one, or a new one with its id set); stamps updated fields."""
        for name in self.updated_fields:
            record[name] = now_iso()
        self.records(call)[str(record[self.id_field])] = record
        return record

    def remove(self, call: Call, record_id: Any = None) -> dict[str, Any]:
        """Delete the record (default: the one the path names) and return it; 404 if none."""
        record = self.find(call, record_id)
        del self.records(call)[str(record[self.id_field])]
        return record

    def _path_id(self, call: Call) -> str:
        if self.id_param is not None and self.id_param in call.path:
            return call.path[self.id_param]
        values = list(call.path.values())
        position = len(_PARAM.findall(self.path))
        return values[position] if position < len(values) else ""

    def _settable(self, fields: Mapping[str, Any]) -> dict[str, Any]:
        blocked = {self.id_field, *self.read_only, *self.created_fields, *self.updated_fields}
        return {k: v for k, v in fields.items() if k not in blocked}

    def _ordered(self, record: dict[str, Any]) -> dict[str, Any]:
        known = [k for k in self.fields if k in record]
        return {**{k: record[k] for k in known}, **record}


@dataclass(frozen=True)
class Paging:
    """How a list operation pages and filters, as found in its parameters and answer."""

    style: Literal["none", "cursor", "offset", "page"] = "none"
    limit_param: str | None = None
    start_param: str | None = None
    """The cursor, offset or page parameter."""
    default_limit: int = 20
    max_limit: int = 100
    items_field: str | None = None
    """Where the records go in the answer; None: the answer is the bare array."""
    total_field: str | None = None
    cursor_field: str | None = None
    more_field: str | None = None
    filters: tuple[str, ...] = ()
    """Query parameters that are fields of the records: a record is listed when it matches."""


Handler = Callable[[Call], Any]


def creator(records: Collection) -> Handler:
    def create(call: Call) -> dict[str, Any]:
        return records.add(call, call.body or {})

    return create


def reader(records: Collection) -> Handler:
    def read(call: Call) -> dict[str, Any]:
        return records.find(call)

    return read


def replacer(records: Collection) -> Handler:
    def replace(call: Call) -> dict[str, Any]:
        old = records.find(call)
        kept = {records.id_field, *records.read_only, *records.created_fields}
        new = {k: v for k, v in old.items() if k in kept}
        new.update({k: v for k, v in records.defaults.items() if k not in new})
        new.update(records._settable(call.body or {}))
        return records.save(call, records._ordered(new))

    return replace


def updater(records: Collection) -> Handler:
    def update(call: Call) -> dict[str, Any]:
        record = records.find(call)
        record.update(records._settable(call.body or {}))
        return records.save(call, record)

    return update


def deleter(records: Collection, *, answer_record: bool) -> Handler:
    def delete(call: Call) -> dict[str, Any] | None:
        record = records.remove(call)
        return record if answer_record else None

    return delete


def lister(records: Collection, paging: Paging) -> Handler:
    def list_records(call: Call) -> Any:
        found = records.all(call)
        for name in paging.filters:
            wanted = call.args.get(name)
            if wanted is not None and wanted != "":
                found = [r for r in found if _matches(r.get(name), wanted)]
        return _page(records, paging, call, found)

    return list_records


def _matches(value: Any, wanted: Any) -> bool:
    if isinstance(value, list):
        return any(_matches(v, wanted) for v in value)
    return value == wanted or str(value) == str(wanted)


def _page(records: Collection, paging: Paging, call: Call, found: list[dict[str, Any]]) -> Any:
    asked = call.args.get(paging.limit_param) if paging.limit_param else None
    limit = min(max(int(asked or paging.default_limit), 1), paging.max_limit)
    start = call.args.get(paging.start_param) if paging.start_param else None
    following: Any = None
    if paging.style == "cursor":
        keys = [str(r.get(records.id_field)) for r in found]
        try:
            key = decode_cursor(str(start), records.name) if start else None
            page = page_after(found, keys, key, limit)
        except BadCursor:
            raise Refusal(
                INVALID_ARGUMENTS, detail=f"The cursor {start!r} was not handed out by this twin."
            ) from None
        chunk = page.items
        following = encode_cursor(records.name, page.next_key) if page.next_key else None
    elif paging.style in ("offset", "page"):
        number = int(start or (0 if paging.style == "offset" else 1))
        first = number if paging.style == "offset" else (max(number, 1) - 1) * limit
        chunk = found[first : first + limit]
        if first + limit < len(found):
            following = first + limit if paging.style == "offset" else max(number, 1) + 1
    else:
        chunk = found[:limit] if paging.limit_param else found
    if paging.items_field is None:
        return chunk
    body: dict[str, Any] = {paging.items_field: chunk}
    if paging.cursor_field:
        body[paging.cursor_field] = following
    if paging.more_field:
        body[paging.more_field] = following is not None
    if paging.total_field:
        body[paging.total_field] = len(found)
    return body


def seeder(collections: list[Collection]) -> Callable[[TwinState, dict[str, Any]], dict[str, Any]]:
    """``POST /_twin/seed {"books": [{...}, ...]}``: adds records to top-level collections."""
    top = {c.name: c for c in collections if not _PARAM.search(c.path)}

    def seed(state: TwinState, request: dict[str, Any]) -> dict[str, Any]:
        added: dict[str, Any] = {}
        for name, items in request.items():
            if name not in top or not isinstance(items, list):
                known = ", ".join(sorted(top)) or "none"
                raise Refusal("bad_seed", detail=f"Seed lists of records by collection ({known}).")
            records = top[name]
            seeding = Operation("POST", "/_twin/seed", _no_handler, name="seed", auth=False)
            call = Call(seeding, state, {}, {}, None, None, {}, "")
            added[name] = [records.add(call, item)[records.id_field] for item in items]
        return added

    return seed


def _no_handler(call: Call) -> None:
    """The handler of the stand-in operation that seeding calls go through."""


def singular(word: str) -> str:
    """``books`` -> ``book``, ``categories`` -> ``category`` (English plurals, roughly)."""
    if word.endswith("ies") and len(word) > 3:
        return word[:-3] + "y"
    if word.endswith(("sses", "shes", "ches", "xes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word
