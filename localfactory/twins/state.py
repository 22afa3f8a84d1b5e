"""A twin's world: plain JSON data in named tables, saved to disk and loaded back as is.

Everything a twin knows (users, channels, messages, issued tokens, id counters) lives in
one JSON-serialisable dictionary, so a snapshot is that dictionary written to a file
and a restore is reading it back: the state itself, not a replay of requests. Tables
are insertion-ordered dictionaries, and JSON keeps that order, so lists come back in
the same order after a restore.

A twin subclasses :class:`TwinState` to fill a fresh world (:meth:`populate`) and to
rebuild any derived indices after a load (:meth:`reindex`).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any, Self

SNAPSHOT_FORMAT = 1
TOKENS = "_tokens"
_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


class SnapshotError(Exception):
    """A snapshot file is missing, unreadable or belongs to another twin."""


class TwinState:
    """The data of one twin, as tables of JSON records plus counters."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.data.setdefault("tables", {})
        self.data.setdefault("counters", {})
        self.reindex()

    @classmethod
    def fresh(cls) -> Self:
        """A new world with the twin's defaults in it."""
        state = cls({"tables": {}, "counters": {}})
        state.populate()
        return state

    @classmethod
    def load(cls, data: dict[str, Any]) -> Self:
        return cls(data)

    def populate(self) -> None:
        """Fill a fresh world (a workspace, a default user...). Subclasses override."""

    def reindex(self) -> None:
        """Rebuild indices derived from the tables. Subclasses override when they keep any."""

    def table(self, name: str) -> dict[str, Any]:
        tables: dict[str, dict[str, Any]] = self.data["tables"]
        found = tables.get(name)
        if found is None:
            found = tables[name] = {}
        return found

    def next_number(self, kind: str) -> int:
        """1, 2, 3... per kind; saved with the state so ids never repeat after a restore."""
        counters: dict[str, int] = self.data["counters"]
        number = counters.get(kind, 0) + 1
        counters[kind] = number
        return number

    def next_id(self, kind: str, letter: str, width: int = 10) -> str:
        """A Slack-like id: ``letter`` plus a base-36 counter, zero-padded (``C00000000A``)."""
        number = self.next_number(kind)
        digits = ""
        while number:
            number, rest = divmod(number, 36)
            digits = _DIGITS[rest] + digits
        return letter + digits.rjust(width - len(letter), "0")

    @property
    def tokens(self) -> dict[str, Any]:
        return self.table(TOKENS)

    def dump(self) -> dict[str, Any]:
        return self.data


def save_snapshot(path: Path, twin: str, state: TwinState) -> int:
    """Write ``state`` to ``path`` atomically; returns the number of bytes written."""
    document = {
        "twin": twin,
        "format": SNAPSHOT_FORMAT,
        "saved_at": time.time(),
        "state": state.dump(),
    }
    encoded = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(encoded)
    os.replace(partial, path)
    return len(encoded)


def read_snapshot(path: Path, twin: str) -> dict[str, Any]:
    """The state saved in ``path``; refuses a file written by another twin."""
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise SnapshotError(f"No snapshot at {path}.") from None
    except (OSError, ValueError) as exc:
        raise SnapshotError(f"Cannot read the snapshot {path}: {exc}.") from None
    if not isinstance(document, dict) or document.get("format") != SNAPSHOT_FORMAT:
        raise SnapshotError(f"{path} is not a twin snapshot this version can read.")
    if document.get("twin") != twin:
        raise SnapshotError(f"{path} holds a {document.get('twin')!r} twin, not {twin!r}.")
    state = document.get("state")
    if not isinstance(state, dict):
        raise SnapshotError(f"{path} has no state in it.")
    return state
