"""Artifacts (content-addressed: the same bytes are stored once) and a run's log lines."""

from __future__ import annotations

import hashlib
import time

from localfactory.store.database import Database, and_equal, fetch_one, insert
from localfactory.store.errors import StoreError
from localfactory.store.records import Artifact, ArtifactInfo, LogLevel, LogLine

_INFO = (
    "SELECT a.run_id, a.step_seq, a.kind, a.name, a.sha256, b.size, a.at"
    " FROM artifacts a JOIN blobs b ON b.sha256 = a.sha256"
)
_WITH_CONTENT = _INFO.replace(" FROM", ", b.content FROM")


class ArtifactsMixin(Database):
    def put_artifact(
        self,
        run_id: str,
        name: str,
        content: bytes | str,
        *,
        kind: str = "file",
        step_seq: int | None = None,
    ) -> ArtifactInfo:
        """Store ``content`` under ``name`` for the run (and step). Text is stored as UTF-8.

        Writing the same (step, kind, name) again replaces it, so a resumed step can repeat
        its writes; identical content shared by many artifacts is kept once.
        """
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        sha = hashlib.sha256(data).hexdigest()
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO blobs (sha256, size, content) VALUES (?, ?, ?)"
                " ON CONFLICT (sha256) DO NOTHING",
                (sha, len(data), data),
            )
            conn.execute(
                "DELETE FROM artifacts WHERE run_id = ? AND ifnull(step_seq, 0) = ifnull(?, 0)"
                " AND kind = ? AND name = ?",
                (run_id, step_seq, kind, name),
            )
            values = {"run_id": run_id, "step_seq": step_seq, "kind": kind, "name": name}
            rowid = insert(conn, "artifacts", {**values, "sha256": sha, "at": time.time()})
            row = fetch_one(conn, _INFO + " WHERE a.id = ?", (rowid,))
        return ArtifactInfo.from_row(row)

    def get_artifact(
        self, run_id: str, name: str, *, kind: str | None = None, step_seq: int | None = None
    ) -> Artifact | None:
        """The latest artifact of the run with this name (and kind, and step, if given)."""
        narrower, values = and_equal({"a.kind": kind, "a.step_seq": step_seq})
        row = self._row(
            _WITH_CONTENT + " WHERE a.run_id = ? AND a.name = ?" + narrower
            + " ORDER BY ifnull(a.step_seq, 0) DESC, a.id DESC LIMIT 1",
            [run_id, name, *values],
        )  # fmt: skip
        if row is None:
            return None
        return Artifact(ArtifactInfo.from_row(row), bytes(row["content"]))

    def list_artifacts(
        self, run_id: str, *, step_seq: int | None = None, kind: str | None = None
    ) -> list[ArtifactInfo]:
        """The run's artifacts (without content) in the order they were written."""
        narrower, values = and_equal({"a.step_seq": step_seq, "a.kind": kind})
        rows = self._rows(
            _INFO + " WHERE a.run_id = ?" + narrower + " ORDER BY a.id", [run_id, *values]
        )
        return [ArtifactInfo.from_row(r) for r in rows]

    def read_blob(self, sha256: str) -> bytes:
        """Stored content by its sha256."""
        row = self._row("SELECT content FROM blobs WHERE sha256 = ?", (sha256,))
        if row is None:
            raise StoreError(f"The run store holds no content with sha256 {sha256}.")
        return bytes(row[0])

    # -- log lines ---------------------------------------------------------------------

    def log(
        self,
        run_id: str,
        message: str,
        *,
        level: LogLevel | str = LogLevel.INFO,
        step_seq: int | None = None,
    ) -> LogLine:
        """Append a line to the run's log."""
        with self.transaction() as conn:
            values = {"run_id": run_id, "step_seq": step_seq, "at": time.time()}
            values |= {"level": LogLevel(level).value, "message": message}
            rowid = insert(conn, "log_lines", values)
            row = fetch_one(conn, "SELECT * FROM log_lines WHERE id = ?", (rowid,))
        return LogLine.from_row(row)

    def read_log(self, run_id: str, *, since: int = 0, limit: int | None = None) -> list[LogLine]:
        """The run's log lines after cursor ``since`` (0: from the start), oldest first.

        To follow a live run, pass the ``cursor`` of the last line read as the next ``since``.
        """
        sql = "SELECT * FROM log_lines WHERE run_id = ? AND id > ? ORDER BY id"
        params: list[object] = [run_id, since]
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [LogLine.from_row(r) for r in self._rows(sql, params)]
