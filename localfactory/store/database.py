"""The SQLite file under the run store: connections, pragmas, transactions, JSON.

One connection per thread (a writer thread and any number of readers; other processes may
read or write the same file too). Every connection runs in WAL mode with
``synchronous=FULL`` (a committed transaction survives a power cut, not just a killed
process), foreign keys on and a busy timeout, so a reader never blocks the writer and a
second writer waits instead of failing.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from datetime import date, datetime
from enum import Enum
from pathlib import Path
from typing import Any

from localfactory.store import schema
from localfactory.store.errors import NotARunStore, StoreError, StoreUnavailable

_UNAVAILABLE = (
    *("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM", "SQLITE_FULL"),
    *("SQLITE_BUSY", "SQLITE_LOCKED", "SQLITE_IOERR"),
)
"""SQLite error names (prefixes: ``SQLITE_IOERR_WRITE`` too) that mean the file cannot be used now."""


@contextmanager
def translated(path: Path) -> Iterator[None]:
    """Turn SQLite failures a user can fix (not a database, locked, disk full) into store errors."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        name = getattr(exc, "sqlite_errorname", "") or ""
        if name == "SQLITE_NOTADB":
            raise NotARunStore(path, "it is not a SQLite database") from None
        if name.startswith("SQLITE_CORRUPT"):
            raise StoreError(
                f"The run store {path} is damaged ({exc}).",
                hint="Restore it from a backup, or move it away to start a new one.",
            ) from None
        if name.startswith(_UNAVAILABLE):
            raise StoreUnavailable(path, str(exc)) from None
        raise


def to_json(value: Any) -> str | None:
    """JSON text for a column (None stays NULL); pydantic models, dataclasses and paths are accepted."""
    if value is None:
        return None
    return json.dumps(value, default=_plain, ensure_ascii=False, sort_keys=True)


def digest(value: Any) -> str:
    """sha256 of ``value`` as canonical JSON (sorted keys, no spaces): equal requests, equal digests."""
    text = json.dumps(
        value, default=_plain, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def next_seq(conn: sqlite3.Connection, table: str, run_id: str) -> int:
    """The next per-run sequence number (1, 2, 3…) of ``table``; call inside a write transaction."""
    row = conn.execute(f"SELECT ifnull(max(seq), 0) + 1 FROM {table} WHERE run_id = ?", (run_id,))
    return int(row.fetchone()[0])


def insert(conn: sqlite3.Connection, table: str, values: dict[str, Any]) -> int:
    """Insert one row of ``values`` (column → value) into ``table``; returns its rowid."""
    columns = ", ".join(values)
    marks = ", ".join("?" * len(values))
    cur = conn.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values()))
    return int(cur.lastrowid or 0)


def fetch_one(conn: sqlite3.Connection, sql: str, params: Sequence[Any]) -> sqlite3.Row:
    """The row a query must find (used to read back what was just written)."""
    row: sqlite3.Row | None = conn.execute(sql, params).fetchone()
    if row is None:  # pragma: no cover - only after a write in the same transaction
        raise LookupError(sql)
    return row


def and_equal(conditions: dict[str, Any]) -> tuple[str, list[Any]]:
    """`` AND column = ?`` for each condition whose value is not None, and the values."""
    given = {column: value for column, value in conditions.items() if value is not None}
    return "".join(f" AND {column} = ?" for column in given), list(given.values())


def _plain(value: Any) -> Any:
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} cannot be stored as JSON")


class Database:
    """The store file, with one connection per thread and nested transactions."""

    def __init__(self, path: Path | str, *, busy_timeout_s: float = 15.0) -> None:
        self.path = Path(path)
        self._busy_timeout_s = busy_timeout_s
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(
                self.path, f"cannot create its folder ({exc.strerror})"
            ) from None
        if self.path.is_dir():
            raise StoreUnavailable(self.path, "it is a folder")
        with translated(self.path):
            schema.migrate(self._connection(), self.path)

    # -- connections -------------------------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        with translated(self.path):
            conn = sqlite3.connect(
                self.path,
                timeout=self._busy_timeout_s,
                isolation_level=None,  # transactions are explicit: see transaction()
                check_same_thread=False,  # used by one thread only, but closed by close()
            )
            try:
                conn.row_factory = sqlite3.Row
                conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_s * 1000)}")
                schema.check(conn, self.path)  # before WAL: never convert someone else's file
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise StoreUnavailable(self.path, f"SQLite refused WAL mode (got {mode!r})")
                conn.execute("PRAGMA synchronous = FULL")
                conn.execute("PRAGMA foreign_keys = ON")
            except BaseException:
                conn.close()
                raise
        return conn

    def _connection(self) -> sqlite3.Connection:
        if self._closed:
            raise RuntimeError(f"the run store {self.path} is closed")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
            self._local.depth = 0
            with self._lock:
                self._connections.append(conn)
        return conn

    def close(self) -> None:
        """Close every connection this store opened (in any thread)."""
        with self._lock:
            self._closed = True
            for conn in self._connections:
                conn.close()
            self._connections.clear()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transactions and queries ---------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Everything inside commits together or not at all; nested uses join the outer one.

        The outermost level takes the write lock at once (``BEGIN IMMEDIATE``), so a
        read-then-write inside never fails half-way on a concurrent writer.
        """
        conn = self._connection()
        depth: int = self._local.depth
        savepoint = f"lf_{depth}"
        with translated(self.path):
            conn.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT {savepoint}")
        self._local.depth = depth + 1
        try:
            yield conn
        except BaseException:
            self._local.depth = depth
            if conn.in_transaction:
                if depth:
                    conn.execute(f"ROLLBACK TO {savepoint}")
                    conn.execute(f"RELEASE {savepoint}")
                else:
                    conn.execute("ROLLBACK")
            raise
        self._local.depth = depth
        with translated(self.path):
            try:
                conn.execute("COMMIT" if depth == 0 else f"RELEASE {savepoint}")
            except BaseException:
                if depth == 0 and conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with translated(self.path):
            return self._connection().execute(sql, params).fetchall()

    def _row(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Row | None:
        with translated(self.path):
            row: sqlite3.Row | None = self._connection().execute(sql, params).fetchone()
            return row

    def schema_version(self) -> int:
        return int(self._rows("PRAGMA user_version")[0][0])

    def integrity_problems(self) -> list[str]:
        """``PRAGMA integrity_check`` and ``foreign_key_check`` findings; empty when the file is sound."""
        problems = [str(r[0]) for r in self._rows("PRAGMA integrity_check") if r[0] != "ok"]
        problems += [
            f"{r['table']} row {r['rowid']} points at a missing {r['parent']} row"
            for r in self._rows("PRAGMA foreign_key_check")
        ]
        return problems
