"""A run's log as a person reads it: its transitions and log lines, in time order, as they arrive.

``localfactory runs log --follow`` and the TUI both follow runs with it; the run store is
read with cursors, so each call returns only what was written since the last one (by this
process or any other).
"""

from __future__ import annotations

from datetime import datetime

from localfactory.store import LogLine, RunStore, Transition


def transition_line(t: Transition) -> str:
    return f"{_clock(t.at)} {t.from_state} → {t.to_state}: {t.reason}"


def log_line(line: LogLine) -> str:
    return f"{_clock(line.at)} [{line.level.value}] {line.message}"


def _clock(at: datetime) -> str:
    """A stored time (UTC) as the local time of day, like the factory's progress lines."""
    return f"{at.astimezone():%H:%M:%S}"


class RunLog:
    """Follows one run's log; :meth:`new_lines` gives what was written since the last call."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self._transitions = 0
        self._lines = 0

    def new_lines(self) -> list[str]:
        transitions = self.store.transitions(self.run_id, since=self._transitions)
        lines = self.store.read_log(self.run_id, since=self._lines)
        if transitions:
            self._transitions = transitions[-1].seq
        if lines:
            self._lines = lines[-1].cursor
        entries = [(t.at, transition_line(t)) for t in transitions]
        entries += [(line.at, log_line(line)) for line in lines]
        return [text for _at, text in sorted(entries, key=lambda e: e[0])]
