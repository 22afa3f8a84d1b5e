"""The TUI's app: the runs of this project, one run in detail, and the actions on them.

The run store is read on a timer (it is SQLite in WAL mode, written by this process's builder
and by any other ``localfactory`` process); builds run in a :class:`Builder`'s thread and
report back with messages, so the screen never waits for the factory.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual import work
from textual.app import App
from textual.message import Message

from localfactory.errors import UserError
from localfactory.factory.builds import Builder, BuildEvent, BuildRequest, report_paths
from localfactory.factory.watch import DEFAULT_QUIET_S, SpecWatch, shown, specs_in
from localfactory.tui.rows import worked_on
from localfactory.tui.screens.ask import Ask
from localfactory.tui.screens.report import ReportScreen
from localfactory.tui.screens.runs import RunsScreen

if TYPE_CHECKING:
    from localfactory.factory.engine import Factory
    from localfactory.store import Run
    from localfactory.validators.review import Decision


class BuildHeard(Message):
    """The builder's thread says what happened to a build."""

    def __init__(self, event: BuildEvent) -> None:
        super().__init__()
        self.event = event


class WatchSaid(Message):
    """Watch mode's thread says what it did with a save (``problem``: a malformed spec)."""

    def __init__(self, text: str, problem: bool) -> None:
        super().__init__()
        self.text = text
        self.problem = problem


class FactoryApp(App[list[str]]):
    """Returns (from :meth:`run`) the runs it left unfinished: each can be resumed."""

    TITLE = "localfactory"

    def __init__(
        self, factory: Factory, *, poll_s: float = 1.0, quiet_s: float = DEFAULT_QUIET_S
    ) -> None:
        super().__init__()
        self.factory = factory
        self.settings = factory.settings
        self.store = factory.store
        self.quiet_s = quiet_s
        self.builder = Builder(factory, self._heard)
        self.spec_watch: SpecWatch | None = None
        self.runs = RunsScreen(self.store, self.settings, self.builder, self._watched,
                               poll_s=poll_s)  # fmt: skip
        self.left_unfinished: list[str] = []
        self._closed = False

    def get_default_screen(self) -> RunsScreen:
        return self.runs

    def on_mount(self) -> None:
        self.sub_title = str(self.settings.project_dir)

    def _watched(self) -> list[Path]:
        return [] if self.spec_watch is None else self.spec_watch.watching

    # -- hearing from other threads --------------------------------------------------------
    def _heard(self, event: BuildEvent) -> None:
        self.post_message(BuildHeard(event))

    def _watch_said(self, text: str) -> None:
        self.post_message(WatchSaid(text, False))

    def _watch_warned(self, text: str) -> None:
        self.post_message(WatchSaid(text, True))

    def on_build_heard(self, message: BuildHeard) -> None:
        self._say(message.event.message, error=not message.event.ok)
        self.runs.poll()

    def on_watch_said(self, message: WatchSaid) -> None:
        self._say(message.text, error=message.problem)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.runs.say(text)
        self.notify(text, severity="error" if error else "information", timeout=12 if error else 5,
                    markup=False)  # fmt: skip

    # -- actions -----------------------------------------------------------------------------
    def _selected(self) -> Run | None:
        run_id = self.runs.selected
        if run_id is None:
            self._say("Select a run first (the list is empty: n builds a spec).", error=True)
            return None
        return self.store.get_run(run_id)

    def _spec_default(self) -> str:
        """The spec a person most likely means: the selected run's, else the project's first."""
        run_id = self.runs.selected
        if run_id is not None:
            return shown(Path(self.store.get_run(run_id).spec_path))
        folder = self.settings.project_dir / "specs"
        specs = specs_in(folder) if folder.is_dir() else []
        return shown(specs[0]) if specs else ""

    def action_new_run(self) -> None:
        self.push_screen(Ask("Build which spec?", value=self._spec_default(),
                             hint="A spec file (Markdown with YAML front matter)."), self._start)  # fmt: skip

    def _start(self, answer: str | None) -> None:
        if not answer:
            return
        self.builder.submit(BuildRequest(spec=Path(answer.strip()).expanduser()))
        self._say(f"starting a run of {answer.strip()}")
        self.runs.poll()

    def action_resume(self) -> None:
        run = self._selected()
        if run is None:
            return
        if run.status.is_final:
            self._say(f"run {run.id} already ended ({run.status.value}); nothing to resume")
        elif run.id == self.builder.building:
            self._say(f"run {run.id} is being built now")
        elif worked_on(run):
            self._say(f"run {run.id} is being built by process {run.owner_pid} on "
                      f"{run.owner_host}", error=True)  # fmt: skip
        else:
            self.builder.submit(BuildRequest(run_id=run.id))
            self.runs.poll()

    def action_stop(self) -> None:
        run = self._selected()
        if run is None:
            return
        if self.builder.stop(run.id):
            self._say(f"run {run.id} stops now (an answer in progress is dropped); r resumes it")
        elif self.builder.building:
            self._say(f"only the build in progress (run {self.builder.building}) can be stopped "
                      "here", error=True)  # fmt: skip
        else:
            self._say("nothing is being built here", error=True)

    def action_report(self) -> None:
        run = self._selected()
        if run is not None:
            self._open_report(run.id)

    @work(thread=True, group="report", exclusive=True, exit_on_error=False)
    def _open_report(self, run_id: str) -> None:
        md, page = report_paths(self.settings, run_id)
        try:
            if not md.is_file():
                md, page = self.factory.report(run_id)  # as `localfactory runs report` does
            text = md.read_text(encoding="utf-8")
        except UserError as exc:
            self.call_from_thread(self._say, str(exc), error=True)
            return
        self.call_from_thread(self.push_screen, ReportScreen(text, md, page))

    def action_approve(self) -> None:
        self._ask_decision("approve", "Approve run {run}? A comment (optional):")

    def action_reject(self) -> None:
        self._ask_decision("reject", "Reject run {run}: why? (the next run of the spec reads it)")

    def _ask_decision(self, decision: Decision, question: str) -> None:
        run = self._selected()
        if run is None:
            return
        row = self.runs.rows.get(run.id)
        if row is None or row.review != "held":
            self._say(f"run {run.id} is not waiting for review (only runs the risk gate held "
                      "are)", error=True)  # fmt: skip
            return

        def answered(comment: str | None) -> None:
            if comment is not None:
                self._decide(run.id, decision, comment)

        self.push_screen(Ask(question.format(run=run.id)), answered)

    @work(thread=True, group="review", exit_on_error=False)
    def _decide(self, run_id: str, decision: Decision, comment: str) -> None:
        from localfactory.validators.review import record_decision

        try:
            said = record_decision(self.settings, self.store, run_id, decision, comment=comment)
        except UserError as exc:
            self.call_from_thread(self._say, str(exc), error=True)
            return
        self.call_from_thread(self._say, said)
        self.call_from_thread(self.runs.poll)

    def action_watch(self) -> None:
        watched = ""
        if self.spec_watch is not None and self.spec_watch.watching:
            watched = "Watching now: " + ", ".join(shown(p) for p in self.spec_watch.watching)
        self.push_screen(Ask("Watch which spec or folder of specs? (one already watched stops "
                             "being watched)", value=self._spec_default(), hint=watched),
                         self._toggle_watch)  # fmt: skip

    def _toggle_watch(self, answer: str | None) -> None:
        if not answer:
            return
        path = Path(answer.strip()).expanduser()
        if self.spec_watch is None:
            self.spec_watch = SpecWatch(
                self.builder, self._watch_said, warn=self._watch_warned, quiet_s=self.quiet_s
            )
        if self.spec_watch.remove(path):
            self._say(f"stopped watching {answer.strip()}")
        else:
            try:
                self.spec_watch.add(path)
            except UserError as exc:
                self._say(str(exc), error=True)
                return
            self._say(f"watching {answer.strip()}: each save with new content builds it again")
        self.runs.poll()

    async def action_quit(self) -> None:
        self.shutdown()
        self.exit(self.left_unfinished)

    def on_unmount(self) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        """Stop watching and building (a build stops between steps or during a model's answer,
        as a killed run would); the runs left unfinished are in :attr:`left_unfinished`."""
        if self._closed:
            return
        self._closed = True
        if self.spec_watch is not None:
            self.spec_watch.close()
        self.left_unfinished = self.builder.close(wait_s=1.0)


def make_app(
    factory: Factory, *, poll_s: float = 1.0, quiet_s: float = DEFAULT_QUIET_S
) -> FactoryApp:
    """The TUI over ``factory``'s settings and run store; ``localfactory tui`` and the tests
    both build it here (tests give a factory whose ``chat`` is scripted, and poll faster)."""
    return FactoryApp(factory, poll_s=poll_s, quiet_s=quiet_s)
