"""Steps of a run: begun, then finished or failed, one at a time."""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from localfactory.store.database import fetch_one, insert, next_seq, to_json
from localfactory.store.errors import StepError
from localfactory.store.records import Step, StepStatus
from localfactory.store.runs import RunsMixin


class StepsMixin(RunsMixin):
    def begin_step(
        self, run_id: str, name: str, *, input: Any = None, attempt: int | None = None
    ) -> Step:
        """Open the run's next step. Refuses while another step of the run is still open.

        ``attempt`` defaults to one more than the number of earlier steps with this name.
        """
        now = time.time()
        with self.transaction() as conn:
            self.get_run(run_id)  # RunNotFound for a wrong id, not a foreign-key error
            still_open = self.open_step(run_id)
            if still_open is not None:
                raise StepError(
                    f"Step {still_open.seq} ({still_open.name}) of run {run_id} is still open, "
                    f"so step {name!r} cannot begin.",
                    hint="Finish or fail the open step first (a resumed run continues it).",
                )
            if attempt is None:
                earlier = conn.execute(
                    "SELECT count(*) FROM steps WHERE run_id = ? AND name = ?", (run_id, name)
                ).fetchone()[0]
                attempt = int(earlier) + 1
            seq = next_seq(conn, "steps", run_id)
            insert(conn, "steps", {
                "run_id": run_id, "seq": seq, "name": name, "attempt": attempt,
                "status": StepStatus.STARTED.value, "input": to_json(input), "started_at": now,
            })  # fmt: skip
            row = fetch_one(conn, "SELECT * FROM steps WHERE run_id = ? AND seq = ?", (run_id, seq))
            _touch(conn, run_id, now)
        return Step.from_row(row)

    def finish_step(self, run_id: str, seq: int, *, output: Any = None) -> Step:
        """Close an open step as finished, with its output."""
        return self._close_step(run_id, seq, StepStatus.FINISHED, output, None)

    def fail_step(self, run_id: str, seq: int, error: str, *, output: Any = None) -> Step:
        """Close an open step as failed, saying why."""
        return self._close_step(run_id, seq, StepStatus.FAILED, output, error)

    def _close_step(
        self, run_id: str, seq: int, status: StepStatus, output: Any, error: str | None
    ) -> Step:
        now = time.time()
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE steps SET status = ?, output = ?, error = ?, finished_at = ?"
                " WHERE run_id = ? AND seq = ? AND status = 'started'",
                (status.value, to_json(output), error, now, run_id, seq),
            )
            if cur.rowcount == 0:
                raise _not_open(self.get_step(run_id, seq), status)
            _touch(conn, run_id, now)
            return self.get_step(run_id, seq)

    def get_step(self, run_id: str, seq: int) -> Step:
        row = self._row("SELECT * FROM steps WHERE run_id = ? AND seq = ?", (run_id, seq))
        if row is None:
            self.get_run(run_id)
            raise StepError(f"Run {run_id} has no step {seq}.")
        return Step.from_row(row)

    def steps(self, run_id: str, *, since: int = 0) -> list[Step]:
        """The run's steps in order; ``since`` skips those with ``seq <= since``."""
        rows = self._rows(
            "SELECT * FROM steps WHERE run_id = ? AND seq > ? ORDER BY seq", (run_id, since)
        )
        return [Step.from_row(r) for r in rows]

    def last_step(self, run_id: str) -> Step | None:
        """The run's latest step, whatever its status (``started`` means it was interrupted
        or is running now): where a resumed run picks up."""
        row = self._row("SELECT * FROM steps WHERE run_id = ? ORDER BY seq DESC LIMIT 1", (run_id,))
        return None if row is None else Step.from_row(row)

    def open_step(self, run_id: str) -> Step | None:
        """The run's step in status ``started``, if any (there is never more than one)."""
        row = self._row("SELECT * FROM steps WHERE run_id = ? AND status = 'started'", (run_id,))
        return None if row is None else Step.from_row(row)


def _touch(conn: sqlite3.Connection, run_id: str, now: float) -> None:
    conn.execute("UPDATE runs SET updated_at = ? WHERE id = ?", (now, run_id))


def _not_open(step: Step, wanted: StepStatus) -> StepError:
    verb = "finished" if wanted is StepStatus.FINISHED else "failed"
    return StepError(
        f"Step {step.seq} ({step.name}) of run {step.run_id} is already {step.status.value}, "
        f"so it cannot be {verb} again."
    )
