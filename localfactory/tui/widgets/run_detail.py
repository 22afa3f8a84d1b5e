"""One run in detail: what it is, its steps, and its log as lines arrive."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.text import Text
from textual.containers import Horizontal, Vertical
from textual.widgets import DataTable, Log

from localfactory.factory.run_log import RunLog
from localfactory.store import RunStore, Step
from localfactory.tui.rows import RunRow
from localfactory.tui.widgets.plain import Plain

STEP_COLUMNS = ("#", "stage", "status", "outcome", "time", "reason")


def step_cells(step: Step, now: datetime) -> list[Text]:
    out = step.output or {}
    seconds = ((step.finished_at or now) - step.started_at).total_seconds()
    reason = str(out.get("reason", step.error or ""))
    cells = [str(step.seq), step.name, step.status.value, str(out.get("outcome", "")),
             f"{seconds:.1f}s", reason[:200]]  # fmt: skip
    return [Text(c) for c in cells]  # reasons quote code and test output: never markup


class RunDetail(Vertical):
    """Shows the run the app selects (:meth:`show`); :meth:`poll` adds what the store has new."""

    def __init__(self, store: RunStore, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store = store
        self.run_id: str | None = None
        self._follower: RunLog | None = None
        self._steps_seen: list[tuple[int, str]] = []

    def compose(self) -> Any:
        yield Plain(id="summary")
        with Horizontal():
            yield DataTable(id="steps", cursor_type="row")
            yield Log(id="log", max_lines=10_000)

    def on_mount(self) -> None:
        self.query_one("#steps", DataTable).add_columns(*STEP_COLUMNS)

    def show(self, run_id: str | None, row: RunRow | None, extra: str) -> None:
        """Switch to ``run_id`` (its log starts again from the beginning) and refresh."""
        if run_id != self.run_id:
            self.run_id = run_id
            self._follower = None if run_id is None else RunLog(self.store, run_id)
            self._steps_seen = []
            self.query_one("#steps", DataTable).clear()
            self.query_one("#log", Log).clear()
        self.poll(row, extra)

    def poll(self, row: RunRow | None, extra: str) -> None:
        if self.run_id is None or row is None:
            self.query_one("#summary", Plain).show("")
            return
        run = self.store.get_run(self.run_id)
        lines = [f"run {run.id}  ·  {run.spec_name}  ·  {run.spec_path}",
                 f"status {row.status}  ·  state {run.state}"
                 + (f"  ·  review: {row.review}" if row.review else "")]  # fmt: skip
        if run.error:
            lines.append(f"error: {run.error}")
        if extra:
            lines.append(extra)
        self.query_one("#summary", Plain).show("\n".join(lines))
        self._poll_steps()
        if self._follower is not None:
            new = self._follower.new_lines()
            if new:
                self.query_one("#log", Log).write_lines(new)

    def _poll_steps(self) -> None:
        assert self.run_id is not None
        steps = self.store.steps(self.run_id)
        seen = [(s.seq, s.status.value) for s in steps]
        table = self.query_one("#steps", DataTable)
        now = datetime.now(UTC)
        if seen != self._steps_seen:
            table.clear()
            for step in steps:
                table.add_row(*step_cells(step, now), key=str(step.seq))
            if steps:
                table.move_cursor(row=len(steps) - 1)
            self._steps_seen = seen
        elif steps and steps[-1].finished_at is None:  # the open step's clock goes on
            table.update_cell(str(steps[-1].seq), table.ordered_columns[4].key,
                              step_cells(steps[-1], now)[4])  # fmt: skip
