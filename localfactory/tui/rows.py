"""What the runs list shows of a run, computed from the run store (no textual here)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime

from localfactory.store import Run, RunStatus, RunStore

COLUMNS = (("id", "run"), ("spec", "spec"), ("status", "status"), ("state", "state"),
           ("started", "started"), ("age", "age"), ("review", "review"))  # fmt: skip
"""(key, title) of each column of the runs list."""


@dataclass(frozen=True)
class RunRow:
    id: str
    spec: str
    status: str
    state: str
    started: str
    age: str
    review: str

    def cells(self) -> list[str]:
        return [getattr(self, key) for key, _title in COLUMNS]


def age(seconds: float) -> str:
    """A duration as people glance at it: 40s, 12m, 3h, 5d."""
    seconds = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def worked_on(run: Run) -> bool:
    """Whether a live process holds the run (``claim_run``); a dead owner on this host does not."""
    if run.owner_pid is None:
        return False
    if run.owner_host != socket.gethostname():
        return True  # another machine's process: it cannot be checked from here
    try:
        os.kill(run.owner_pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def status_label(run: Run) -> str:
    """The run's status, except that a running run nobody works on any more is *interrupted*."""
    if run.status is RunStatus.RUNNING and not worked_on(run):
        return "interrupted"
    return run.status.value


class ReviewLabels:
    """held / approved / rejected for runs the risk gate held; settled answers are kept."""

    def __init__(self, store: RunStore) -> None:
        self.store = store
        self._settled: dict[str, str] = {}

    def of(self, run: Run) -> str:
        if run.id in self._settled:
            return self._settled[run.id]
        if run.state != "done":
            return ""  # only a run that reached delivery can have been held
        from localfactory.validators.review import DONE, decision_of, risk_of

        risk = risk_of(self.store, run.id)
        if risk is None or not risk[0].held:
            label = ""
        else:
            decided = decision_of(self.store, run.id)
            if decided is None:
                return "held"  # asked again next time: someone may decide meanwhile
            label = DONE[decided.decision]
        if run.status.is_final:
            self._settled[run.id] = label
        return label


def row_of(run: Run, review: ReviewLabels, now: datetime | None = None) -> RunRow:
    now = now or datetime.now(UTC)
    return RunRow(
        id=run.id, spec=run.spec_name, status=status_label(run), state=run.state,
        started=f"{run.created_at.astimezone():%Y-%m-%d %H:%M}",
        age=age((now - run.created_at).total_seconds()), review=review.of(run),
    )  # fmt: skip
