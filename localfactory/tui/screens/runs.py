"""The main screen: the runs of this project, the selected one in detail, what is going on.

It reads the run store on a timer (SQLite in WAL mode, written by this process's builder and
by any other ``localfactory`` process) and shows what changed. Its keys call the app's actions.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header

from localfactory.errors import UserError
from localfactory.factory.builds import Builder, report_paths
from localfactory.factory.watch import shown, specs_in
from localfactory.tui.rows import ReviewLabels, RunRow, row_of
from localfactory.tui.widgets.plain import Plain
from localfactory.tui.widgets.run_detail import RunDetail
from localfactory.tui.widgets.runs_table import RunsTable

if TYPE_CHECKING:
    from localfactory.config import Settings
    from localfactory.store import RunStore

RUN_LIMIT = 200
"""How many of the newest runs the list shows."""


class RunsScreen(Screen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("n", "app.new_run", "New run"),
        Binding("r", "app.resume", "Resume"),
        Binding("s", "app.stop", "Stop"),
        Binding("o", "app.report", "Report"),
        Binding("a", "app.approve", "Approve"),
        Binding("x", "app.reject", "Reject"),
        Binding("w", "app.watch", "Watch"),
        Binding("q", "app.quit", "Quit (runs stay resumable)"),
    ]
    DEFAULT_CSS = """
    RunsScreen #empty { padding: 1 2; height: 1fr; }
    RunsScreen #runs { height: 40%; }
    RunsScreen #detail { height: 1fr; }
    RunsScreen #summary { height: auto; padding: 0 1; background: $boost; }
    RunsScreen #steps { width: 45%; }
    RunsScreen #log { width: 1fr; border-left: solid $primary-darken-2; padding-left: 1; }
    RunsScreen #activity { height: auto; padding: 0 1; color: $text-muted; }
    RunsScreen #status { height: auto; padding: 0 1; }
    """

    def __init__(
        self,
        store: RunStore,
        settings: Settings,
        builder: Builder,
        watching: Callable[[], list[Path]],
        *,
        poll_s: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.store = store
        self.settings = settings
        self.builder = builder
        self.watching = watching
        self.poll_s = poll_s
        self.reviews = ReviewLabels(store)
        self.rows: dict[str, RunRow] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Plain(self._empty_text(), id="empty")
        yield RunsTable(id="runs")
        yield RunDetail(self.store, id="detail")
        yield Plain(id="activity")
        yield Plain(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.poll()
        self.set_interval(self.poll_s, self.poll)

    @property
    def selected(self) -> str | None:
        return self.query_one(RunsTable).selected

    def say(self, text: str) -> None:
        self.query_one("#status", Plain).show(text)

    def poll(self) -> None:
        """Show what the run store holds now: the list, the selected run, what is going on."""
        try:
            rows = [row_of(run, self.reviews) for run in self.store.list_runs(limit=RUN_LIMIT)]
        except UserError as exc:
            self.say(str(exc))
            return
        self.rows = {row.id: row for row in rows}
        self.query_one("#empty").display = not rows
        self.query_one("#runs").display = bool(rows)
        self.query_one("#detail").display = bool(rows)
        table = self.query_one(RunsTable)
        table.show(rows)
        self._show(table.selected)
        self.query_one("#activity", Plain).show(self._activity())

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "runs" and event.row_key.value is not None:
            self._show(event.row_key.value)

    def _show(self, run_id: str | None) -> None:
        row = self.rows.get(run_id or "")
        self.query_one(RunDetail).show(run_id, row, self._hint(row) if row else "")

    def _hint(self, row: RunRow) -> str:
        """What a person can do with the run now, and where its report is."""
        hints = []
        if row.id == self.builder.building:
            hints.append("building now: s stops it after its current step (r resumes it later)")
        elif row.status == "interrupted":
            hints.append(f"interrupted: r resumes it (or `localfactory runs resume {row.id}`)")
        if row.review == "held":
            hints.append("held for review: a approves, x rejects with a comment")
        _md, page = report_paths(self.settings, row.id)
        if page.is_file():
            hints.append(f"report: {page} (o shows it)")
        return "\n".join(hints)

    def _activity(self) -> str:
        parts = []
        if self.builder.building:
            parts.append(f"building run {self.builder.building}")
        waiting = self.builder.waiting
        if waiting:
            parts.append("queued: " + ", ".join(r.describe() for r in waiting))
        watched = self.watching()
        if watched:
            parts.append("watching: " + ", ".join(shown(p) for p in watched))
        return "  ·  ".join(parts)

    def _empty_text(self) -> str:
        project = self.settings.project_dir
        specs = specs_in(project / "specs") if (project / "specs").is_dir() else []
        example = f" (for example {shown(specs[0])})" if specs else ""
        lines = [
            f"No runs yet in {project}.",
            "",
            f"Press n to build a spec{example}, or w to watch one: it is built again each "
            "time you save it.",
            "Runs started elsewhere (`localfactory run SPEC`, `localfactory watch SPEC`) "
            "appear here as they start.",
        ]
        if not specs:
            lines += ["", "No spec here yet? `localfactory init` makes a project with an example "
                      "spec; `localfactory spec check FILE` explains any mistake in one."]  # fmt: skip
        return "\n".join(lines)
