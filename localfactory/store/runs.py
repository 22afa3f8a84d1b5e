"""Runs and their transitions: creating, finding, listing, owning, moving between states."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from localfactory.store import run_ids
from localfactory.store.database import Database, and_equal, fetch_one, insert, next_seq, to_json
from localfactory.store.errors import AmbiguousRunId, RunBusy, RunNotFound, StaleState
from localfactory.store.records import Run, RunStatus, Transition

_SHOWN_CANDIDATES = 5


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunsMixin(Database):
    def create_run(
        self,
        *,
        spec_name: str,
        spec_path: str | Path,
        spec_sha256: str,
        settings: Any = None,
        budget: Any = None,
        state: str = "created",
        replay_of: str | None = None,
    ) -> Run:
        """A new run in status ``created`` and the given starting ``state``."""
        now = time.time()
        with self.transaction() as conn:
            newest = conn.execute("SELECT max(id) FROM runs").fetchone()[0]
            run_id = run_ids.new_run_id(now, after=newest)
            insert(conn, "runs", {
                "id": run_id, "spec_name": spec_name, "spec_path": str(spec_path),
                "spec_sha256": spec_sha256, "status": RunStatus.CREATED.value, "state": state,
                "created_at": now, "updated_at": now, "settings": to_json(settings or {}),
                "budget": to_json(budget or {}), "replay_of": replay_of,
            })  # fmt: skip
            return self.get_run(run_id)

    def get_run(self, run_id: str) -> Run:
        row = self._row("SELECT * FROM runs WHERE id = ?", (run_id,))
        if row is None:
            raise RunNotFound(run_id)
        return Run.from_row(row)

    def find_run(self, ref: str) -> Run:
        """The run a user means by ``ref``: a full id, a unique id prefix, the start of an id's
        last part, or ``latest``. Raises :class:`RunNotFound` or :class:`AmbiguousRunId`."""
        key = run_ids.normalize(ref)
        if key in run_ids.LATEST:
            newest = self.list_runs(limit=1)
            if not newest:
                raise RunNotFound(ref)
            return newest[0]
        if not key:
            raise RunNotFound(ref)
        bounds = run_ids.prefix_bounds(key)
        rows = self._rows("SELECT id FROM runs WHERE id >= ? AND id < ? ORDER BY id", bounds)
        ids = [r[0] for r in rows]
        if key in ids:
            return self.get_run(key)
        if not ids and "-" not in key:
            every = [r[0] for r in self._rows("SELECT id FROM runs ORDER BY id")]
            ids = [i for i in every if run_ids.tail(i).startswith(key)]
        if not ids:
            raise RunNotFound(ref)
        if len(ids) > 1:
            newest_first = ids[::-1]
            raise AmbiguousRunId(ref, newest_first[:_SHOWN_CANDIDATES], len(ids))
        return self.get_run(ids[0])

    def list_runs(
        self,
        *,
        status: RunStatus | str | Iterable[RunStatus | str] | None = None,
        spec_name: str | None = None,
        limit: int | None = None,
    ) -> list[Run]:
        """Runs, newest first; optionally only those with one of the given statuses or one spec."""
        sql, params = "SELECT * FROM runs WHERE 1", list[object]()
        if status is not None:
            wanted = [status] if isinstance(status, str) else list(status)
            statuses = [RunStatus(s).value for s in wanted]
            sql += f" AND status IN ({', '.join('?' * len(statuses))})"
            params += statuses
        narrower, values = and_equal({"spec_name": spec_name})
        sql += narrower + " ORDER BY created_at DESC, id DESC LIMIT ?"
        params += [*values, -1 if limit is None else limit]
        return [Run.from_row(r) for r in self._rows(sql, params)]

    def set_status(self, run_id: str, status: RunStatus | str, *, error: str | None = None) -> Run:
        """Change a run's status; a final status (succeeded, failed, cancelled) sets ``finished_at``."""
        status = RunStatus(status)
        now = time.time()
        with self.transaction() as conn:
            cur = conn.execute(
                "UPDATE runs SET status = ?, error = ?, updated_at = ?, finished_at = ? WHERE id = ?",
                (status.value, error, now, now if status.is_final else None, run_id),
            )
            if cur.rowcount == 0:
                raise RunNotFound(run_id)
        return self.get_run(run_id)

    def claim_run(self, run_id: str) -> Run:
        """Mark this process as the one working on the run; refuses if another live one is.

        A claim left by a process that died (killed, crashed) on this host is taken over, so
        a killed run can be resumed. Release it with :meth:`release_run`.
        """
        pid, host = os.getpid(), socket.gethostname()
        with self.transaction() as conn:
            run = self.get_run(run_id)
            owner = (run.owner_pid, run.owner_host)
            if (
                run.owner_pid is not None
                and owner != (pid, host)
                and (run.owner_host != host or _pid_alive(run.owner_pid))
            ):
                raise RunBusy(run_id, run.owner_pid, run.owner_host or "another host")
            conn.execute(
                "UPDATE runs SET owner_pid = ?, owner_host = ?, updated_at = ? WHERE id = ?",
                (pid, host, time.time(), run_id),
            )
        return self.get_run(run_id)

    def release_run(self, run_id: str) -> None:
        """Give up this process's claim on the run (nothing happens if it holds none)."""
        with self.transaction() as conn:
            conn.execute(
                "UPDATE runs SET owner_pid = NULL, owner_host = NULL"
                " WHERE id = ? AND owner_pid = ? AND owner_host = ?",
                (run_id, os.getpid(), socket.gethostname()),
            )

    # -- transitions -------------------------------------------------------------------

    def record_transition(
        self,
        run_id: str,
        from_state: str,
        to_state: str,
        *,
        reason: str = "",
        payload: Any = None,
        step_seq: int | None = None,
    ) -> Transition:
        """Write the move ``from_state`` → ``to_state`` and make ``to_state`` the run's state.

        Refuses with :class:`StaleState` if the run is not in ``from_state``: a transition is
        recorded once, even when a resumed loop tries it again.
        """
        now = time.time()
        with self.transaction() as conn:
            current = self.get_run(run_id).state
            if current != from_state:
                raise StaleState(
                    f"Run {run_id} is in state {current!r}, not {from_state!r}, so the move to "
                    f"{to_state!r} was not recorded.",
                    hint="Another process may be working on this run: see `localfactory runs show`.",
                )
            seq = next_seq(conn, "transitions", run_id)
            insert(conn, "transitions", {
                "run_id": run_id, "seq": seq, "from_state": from_state, "to_state": to_state,
                "reason": reason, "payload": to_json(payload), "step_seq": step_seq, "at": now,
            })  # fmt: skip
            row = fetch_one(
                conn, "SELECT * FROM transitions WHERE run_id = ? AND seq = ?", (run_id, seq)
            )
            conn.execute(
                "UPDATE runs SET state = ?, updated_at = ? WHERE id = ?", (to_state, now, run_id)
            )
        return Transition.from_row(row)

    def transitions(self, run_id: str, *, since: int = 0) -> list[Transition]:
        """The run's transitions in order; ``since`` skips those with ``seq <= since``."""
        rows = self._rows(
            "SELECT * FROM transitions WHERE run_id = ? AND seq > ? ORDER BY seq", (run_id, since)
        )
        return [Transition.from_row(r) for r in rows]
