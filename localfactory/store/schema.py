"""The run store's schema and its migrations.

The schema version lives in ``PRAGMA user_version`` and a marker in ``PRAGMA
application_id``. Migrations form an ordered list; each runs in one transaction that also
bumps ``user_version``, so a migration is applied entirely or not at all. A file with a
version above the last known migration was written by a newer localfactory and is refused.

Tables (version 1; times are seconds since the epoch, UTC; JSON columns are text):

``runs``
    One row per run: ``id`` (``20261121-153012-4kq7z``: UTC time, then two characters of
    milliseconds and three random ones, so ids sort by creation and are easy to type), the
    spec (name, path, sha256), ``status`` (created/running/succeeded/failed/cancelled),
    ``state`` (the factory loop's state: the ``to_state`` of the last transition),
    created/updated/finished times, ``settings`` and ``budget`` (JSON), ``error``,
    ``replay_of`` (the run a replay reproduces) and the owner (pid, host) of a run being
    worked on.
``transitions``
    The orchestrator's write-ahead record: ``(run_id, seq)`` with seq 1, 2, 3… per run,
    ``from_state``, ``to_state``, ``reason``, ``payload`` (JSON), the step that caused it.
``steps``
    ``(run_id, seq)``, ``name``, ``attempt``, ``status`` (started/finished/failed),
    ``input``/``output`` (JSON), ``error``, times. A partial unique index allows at most one
    ``started`` step per run.
``model_calls``
    ``(run_id, seq)`` numbers every call of a run; ``(run_id, step_seq, nth)`` is unique, so
    replay finds "call ``nth`` of step ``step_seq``" deterministically. Holds the request
    (messages, options, schema) as JSON with its sha256, the response text, finish reason,
    token counts (prompt, cached: NULL when the backend cannot tell, generated), time to
    first token, total seconds, tokens/s, the fallback reason, the error, and
    backend-specific ``details`` (JSON).
``blobs`` and ``artifacts``
    Content-addressed: ``blobs`` holds each distinct content once, keyed by sha256;
    ``artifacts`` names it (``run_id``, ``step_seq``, ``kind``, ``name``). A (run, step, kind,
    name) is unique; a step writing the same name again replaces it.
``log_lines``
    ``id`` (AUTOINCREMENT, so it only grows: it is the cursor for following a live run),
    ``run_id``, ``step_seq``, ``at``, ``level``, ``message``.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from localfactory.store.errors import NotARunStore, StoreTooNew

APPLICATION_ID = 0x4C466163
"""``PRAGMA application_id`` of a run store ("LFac")."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    summary: str
    statements: tuple[str, ...]


_V1 = (
    """CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        spec_name TEXT NOT NULL,
        spec_path TEXT NOT NULL,
        spec_sha256 TEXT NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('created', 'running', 'succeeded', 'failed', 'cancelled')),
        state TEXT NOT NULL,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL,
        finished_at REAL,
        settings TEXT NOT NULL,
        budget TEXT NOT NULL,
        error TEXT,
        replay_of TEXT REFERENCES runs (id),
        owner_pid INTEGER,
        owner_host TEXT
    ) STRICT""",
    "CREATE INDEX runs_by_created ON runs (created_at, id)",
    "CREATE INDEX runs_by_status ON runs (status, created_at)",
    """CREATE TABLE steps (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL CHECK (seq > 0),
        name TEXT NOT NULL,
        attempt INTEGER NOT NULL CHECK (attempt > 0),
        status TEXT NOT NULL CHECK (status IN ('started', 'finished', 'failed')),
        input TEXT,
        output TEXT,
        error TEXT,
        started_at REAL NOT NULL,
        finished_at REAL,
        PRIMARY KEY (run_id, seq)
    ) STRICT""",
    "CREATE UNIQUE INDEX steps_one_open ON steps (run_id) WHERE status = 'started'",
    """CREATE TABLE transitions (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL CHECK (seq > 0),
        from_state TEXT NOT NULL,
        to_state TEXT NOT NULL,
        reason TEXT NOT NULL,
        payload TEXT,
        step_seq INTEGER,
        at REAL NOT NULL,
        PRIMARY KEY (run_id, seq),
        FOREIGN KEY (run_id, step_seq) REFERENCES steps (run_id, seq) ON DELETE CASCADE
    ) STRICT""",
    """CREATE TABLE model_calls (
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        seq INTEGER NOT NULL CHECK (seq > 0),
        step_seq INTEGER NOT NULL,
        nth INTEGER NOT NULL CHECK (nth > 0),
        role TEXT NOT NULL,
        backend TEXT NOT NULL,
        model TEXT NOT NULL,
        request TEXT NOT NULL,
        request_sha256 TEXT NOT NULL,
        response_text TEXT,
        finish_reason TEXT,
        prompt_tokens INTEGER NOT NULL DEFAULT 0,
        cached_tokens INTEGER,
        generated_tokens INTEGER NOT NULL DEFAULT 0,
        ttft_s REAL,
        total_s REAL,
        tokens_per_s REAL,
        fallback_reason TEXT,
        error TEXT,
        details TEXT,
        at REAL NOT NULL,
        PRIMARY KEY (run_id, seq),
        UNIQUE (run_id, step_seq, nth),
        FOREIGN KEY (run_id, step_seq) REFERENCES steps (run_id, seq) ON DELETE CASCADE
    ) STRICT""",
    """CREATE TABLE blobs (
        sha256 TEXT PRIMARY KEY,
        size INTEGER NOT NULL,
        content BLOB NOT NULL
    ) STRICT""",
    """CREATE TABLE artifacts (
        id INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        step_seq INTEGER,
        kind TEXT NOT NULL,
        name TEXT NOT NULL,
        sha256 TEXT NOT NULL REFERENCES blobs (sha256),
        at REAL NOT NULL,
        FOREIGN KEY (run_id, step_seq) REFERENCES steps (run_id, seq) ON DELETE CASCADE
    ) STRICT""",
    "CREATE UNIQUE INDEX artifacts_unique ON artifacts (run_id, ifnull(step_seq, 0), kind, name)",
    "CREATE INDEX artifacts_by_name ON artifacts (run_id, name)",
    """CREATE TABLE log_lines (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        step_seq INTEGER,
        at REAL NOT NULL,
        level TEXT NOT NULL CHECK (level IN ('debug', 'info', 'warning', 'error')),
        message TEXT NOT NULL
    ) STRICT""",
    "CREATE INDEX log_lines_by_run ON log_lines (run_id, id)",
    f"PRAGMA application_id = {APPLICATION_ID}",
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "runs, transitions, steps, model calls, artifacts and log lines", _V1),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def _header(conn: sqlite3.Connection) -> tuple[int, int]:
    app_id = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    return int(app_id), int(version)


def check(conn: sqlite3.Connection, path: Path) -> int:
    """The file's schema version; raises if the file is not a run store this version can use."""
    app_id, version = _header(conn)
    if app_id not in (0, APPLICATION_ID):
        raise NotARunStore(path, "it is a SQLite database of another program")
    if version > SCHEMA_VERSION:
        raise StoreTooNew(path, version, SCHEMA_VERSION)
    if app_id == 0 and (
        version > 0 or conn.execute("SELECT count(*) FROM sqlite_schema").fetchone()[0]
    ):
        raise NotARunStore(path, "it is a SQLite database of another program")
    return version


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Apply every migration the file lacks, each in its own transaction; returns the new version.

    Safe when several processes open a fresh store at once: the version is read again after
    the write lock is taken, and a migration someone else applied is skipped.
    """
    for migration in MIGRATIONS:
        if check(conn, path) >= migration.version:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            if check(conn, path) < migration.version:
                for statement in migration.statements:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {migration.version}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
    return check(conn, path)
