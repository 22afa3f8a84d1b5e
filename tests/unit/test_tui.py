"""The TUI driven by Textual's pilot over a real run store in tmp_path.

Runs are either written straight into the store (as another ``localfactory`` process would)
or built by the factory for real with scripted models. Tests wait on what the screen shows,
with a generous timeout, never on durations.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Log, MarkdownViewer, Static
from textual.widgets._footer import FooterKey

from localfactory.factory.engine import Factory
from localfactory.store import RunStatus, RunStore
from localfactory.tui.app import FactoryApp, make_app
from localfactory.tui.rows import age
from localfactory.tui.screens.ask import Ask
from localfactory.tui.screens.report import ReportScreen
from localfactory.validators.review import decision_of, record_risk
from localfactory.validators.risk import RiskAssessment, RiskReason
from tests.factory_helpers import PLAN, RIGHT, TESTS, ScriptedModels, make_project, settings_for
from tests.unit.test_watch import MALFORMED
from tests.unit.test_watch_builder import HeldPlanner

WAIT_S = 60.0
HELD = RiskAssessment(0.6, 0.5, [RiskReason(0.6, "touches payments: shop/payments.py")])


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project with its spec in specs/, and the working folder in it, as a person has."""
    monkeypatch.chdir(tmp_path)
    make_project(tmp_path, scenario=None)
    (tmp_path / "specs").mkdir()
    os.replace(tmp_path / "adder.md", tmp_path / "specs" / "adder.md")
    return tmp_path


def app_for(root: Path, chat=None, **env: str) -> FactoryApp:
    settings = settings_for(root, **env)
    factory = Factory(settings, RunStore(settings.store_path()), chat=chat, emit=lambda _l: None)
    return make_app(factory, poll_s=0.05, quiet_s=0.2)


def drive(
    app: FactoryApp, body: Callable[[Pilot], Awaitable[None]], size: tuple[int, int] = (160, 48)
) -> None:
    async def main() -> None:
        async with app.run_test(size=size) as pilot:
            await body(pilot)

    asyncio.run(main())


async def until(pilot: Pilot, what: str, condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never shown: {what}; status: {status(pilot.app)!r}")
        await pilot.pause(0.05)


async def answer(pilot: Pilot, text: str) -> None:
    """Type ``text`` into the question on screen and press Enter."""
    await until(pilot, "a question", lambda: isinstance(pilot.app.screen, Ask))
    pilot.app.screen.query_one(Input).value = text
    await pilot.press("enter")


def status(app) -> str:
    return str(app.runs.query_one("#status", Static).render())


def rows(app: FactoryApp) -> dict[str, list[str]]:
    table = app.runs.query_one("#runs", DataTable)
    return {str(key.value): [str(c) for c in table.get_row(key)] for key in table.rows}


def log_lines(app: FactoryApp) -> list[str]:
    return list(app.runs.query_one("#log", Log).lines)


def new_run(store: RunStore, spec: str = "adder", state: str = "plan") -> str:
    return store.create_run(
        spec_name=spec, spec_path=f"specs/{spec}.md", spec_sha256="0" * 64, state=state
    ).id


def held_run(store: RunStore, spec: str = "shop") -> str:
    run = new_run(store, spec, state="done")
    store.set_status(run, RunStatus.SUCCEEDED)
    record_risk(store, run, HELD, commit=None)
    return run


# -- what is shown -----------------------------------------------------------------------------


def test_with_no_runs_it_says_what_to_do_and_shows_the_keys(project: Path) -> None:
    app = app_for(project)

    async def body(pilot: Pilot) -> None:
        empty = str(app.runs.query_one("#empty", Static).render())
        assert "No runs yet" in empty
        assert "Press n to build a spec (for example specs/adder.md), or w to watch one" in empty
        assert not app.runs.query_one("#runs").display
        await until(pilot, "the footer", lambda: len(app.runs.query(FooterKey)) > 0)
        keys = {k.key_display: k.description for k in app.runs.query(FooterKey)}
        assert keys["n"] == "New run" and keys["a"] == "Approve" and keys["w"] == "Watch"
        assert keys["q"] == "Quit (runs stay resumable)"
        await pilot.press("r")
        assert "Select a run first" in status(app)
        await pilot.press("q")

    drive(app, body)
    assert app.return_value == []


def test_the_list_shows_the_stores_runs_and_runs_other_processes_add(project: Path) -> None:
    app = app_for(project)
    store = app.store
    done = new_run(store, state="done")
    store.set_status(done, RunStatus.SUCCEEDED)
    abandoned = new_run(store, "lru")
    store.set_status(abandoned, RunStatus.RUNNING)  # its process died: no owner any more
    held = held_run(store)

    async def body(pilot: Pilot) -> None:
        shown = rows(app)
        assert list(shown) == [held, abandoned, done]  # newest first
        assert shown[done][1:4] == ["adder", "succeeded", "done"]
        assert shown[abandoned][1:3] == ["lru", "interrupted"]
        assert shown[held][1] == "shop" and shown[held][-1] == "held"
        later = new_run(RunStore(store.path), "text-tools")  # another process's connection
        await until(pilot, "a run started elsewhere", lambda: later in rows(app))
        assert next(iter(rows(app))) == later

    drive(app, body)


def test_selecting_a_run_shows_its_steps_and_its_log_as_lines_arrive(project: Path) -> None:
    app = app_for(project)
    store = app.store
    run = new_run(store)
    step = store.begin_step(run, "plan")
    store.log(run, "planning adder", step_seq=step.seq)
    store.finish_step(run, step.seq, output={"outcome": "ok", "reason": "planned [bold]add[/]"})
    store.record_transition(run, "plan", "write_tests", reason="planned 1 function")
    new_run(store, "lru")  # newer: the cursor starts on it

    async def body(pilot: Pilot) -> None:
        await until(pilot, "two runs", lambda: len(rows(app)) == 2)
        assert not any("planning adder" in line for line in log_lines(app))
        await pilot.press("down")
        await until(pilot, "the run's log", lambda: any("[info] planning adder" in line
                                                        for line in log_lines(app)))  # fmt: skip
        assert any("plan → write_tests: planned 1 function" in line for line in log_lines(app))
        steps = app.runs.query_one("#steps", DataTable)
        cells = [str(c) for c in steps.get_row_at(0)]
        assert cells[:4] == ["1", "plan", "finished", "ok"]
        assert cells[-1] == "planned [bold]add[/]"  # shown as written, never as markup
        summary = str(app.runs.query_one("#summary", Static).render())
        assert f"run {run}" in summary and "specs/adder.md" in summary

        writer = RunStore(store.path)  # the factory writing from another process
        writer.begin_step(run, "write_tests")
        writer.log(run, "tests: wrote 2", step_seq=2)
        await until(pilot, "the new line", lambda: any("tests: wrote 2" in line
                                                       for line in log_lines(app)))  # fmt: skip
        await until(pilot, "the new step", lambda: steps.row_count == 2)
        assert str(steps.get_row_at(1)[2]) == "started"
        assert sum("planning adder" in line for line in log_lines(app)) == 1  # not repeated

    drive(app, body)


def test_a_held_run_is_approved_or_rejected_with_a_comment(project: Path) -> None:
    app = app_for(project)
    store = app.store
    older, newer = held_run(store), held_run(store, "payments")

    async def body(pilot: Pilot) -> None:
        await until(pilot, "the held runs", lambda: len(rows(app)) == 2)
        await pilot.press("a")
        await answer(pilot, "checked the charge path")
        await until(pilot, "the approval", lambda: rows(app)[newer][-1] == "approved")
        assert f"Run {newer} approved by" in status(app)

        await pilot.press("down", "x")
        await answer(pilot, "  ")
        await until(pilot, "the refusal", lambda: "needs a comment" in status(app))
        assert decision_of(store, older) is None and rows(app)[older][-1] == "held"
        await pilot.press("x")
        await answer(pilot, "refunds must not go negative")
        await until(pilot, "the rejection", lambda: rows(app)[older][-1] == "rejected")
        assert "the comment goes to the next run of shop" in status(app)

        await pilot.press("a")  # already decided: nothing is asked
        assert "is not waiting for review" in status(app)

    drive(app, body)
    approved, rejected = decision_of(store, newer), decision_of(store, older)
    assert approved is not None and rejected is not None
    assert (approved.decision, approved.comment) == ("approve", "checked the charge path")
    assert (rejected.decision, rejected.comment) == ("reject", "refunds must not go negative")


# -- what it does ------------------------------------------------------------------------------


def test_a_run_started_here_is_built_and_shown_succeeded_with_its_report(project: Path) -> None:
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [RIGHT]})
    app = app_for(project, chat=models.chat)

    async def body(pilot: Pilot) -> None:
        await pilot.press("n")
        await answer(pilot, "specs/adder.md")  # what the question offers is typed over
        await until(pilot, "the run", lambda: len(rows(app)) == 1)
        run = next(iter(rows(app)))
        await until(pilot, "success", lambda: rows(app)[run][2] == "succeeded")
        await until(pilot, "the outcome", lambda: status(app).startswith(f"delivered: run {run} "
                                                                         "succeeded; report: "))  # fmt: skip
        await until(pilot, "the last transition", lambda: any("deliver → done" in line
                                                              for line in log_lines(app)))  # fmt: skip
        await pilot.press("o")
        await until(pilot, "the report", lambda: isinstance(app.screen, ReportScreen))
        assert app.screen.page.is_file() and app.screen.page.parent.name == run
        assert "DELIVERED" in app.screen.markdown
        assert app.screen.query_one(MarkdownViewer) is not None
        await pilot.press("escape")
        await pilot.press("q")

    drive(app, body)
    assert app.return_value == []


def test_a_missing_model_fails_the_run_with_the_clis_message(project: Path) -> None:
    app = app_for(project, LOCALFACTORY_MODELS__CACHE_DIR=str(project / "no-models"))

    async def body(pilot: Pilot) -> None:
        await pilot.press("n")
        await answer(pilot, "specs/adder.md")
        await until(pilot, "the failure", lambda: "failed" in status(app))
        run = next(iter(rows(app)))
        assert rows(app)[run][2] == "failed"
        assert f"run {run} failed: Model qwen2.5-coder" in status(app)
        assert "localfactory models install" in status(app) and "Traceback" not in status(app)
        assert "is not installed" in str(app.runs.query_one("#summary", Static).render())

    drive(app, body)


def test_a_malformed_spec_is_refused_with_its_line(project: Path) -> None:
    (project / "specs" / "broken.md").write_text(MALFORMED)
    app = app_for(project)

    async def body(pilot: Pilot) -> None:
        await pilot.press("n")
        await answer(pilot, "specs/broken.md")
        await until(pilot, "the refusal", lambda: "broken.md:4" in status(app))
        assert "not valid YAML" in status(app) and rows(app) == {}

    drive(app, body)


def test_stop_leaves_the_run_interrupted_and_resume_finishes_it(project: Path) -> None:
    held = HeldPlanner()
    app = app_for(project, chat=held.models.chat)

    async def body(pilot: Pilot) -> None:
        await pilot.press("n")
        await answer(pilot, "specs/adder.md")
        await until(pilot, "the run", lambda: app.builder.building is not None)
        run = app.builder.building
        await until(pilot, "the run listed", lambda: run in rows(app))
        await pilot.press("s")
        assert f"run {run} stops now" in status(app)
        held.release()
        await until(pilot, "the stop", lambda: "localfactory runs resume" in status(app))
        await until(pilot, "the run interrupted", lambda: rows(app)[run][2] == "interrupted")
        await pilot.press("r")
        await until(pilot, "success", lambda: rows(app)[run][2] == "succeeded")
        assert held.models.counts["planner"] == 2  # the plan in progress was dropped

    try:
        drive(app, body)
    finally:
        held.release()


def test_watching_a_spec_says_when_it_is_malformed_and_can_be_turned_off(project: Path) -> None:
    spec = project / "specs" / "adder.md"
    spec.write_text(MALFORMED)
    app = app_for(project)

    async def body(pilot: Pilot) -> None:
        await pilot.press("w")
        await answer(pilot, "specs/adder.md")
        await until(pilot, "the problem", lambda: "adder.md:4" in status(app))
        activity = str(app.runs.query_one("#activity", Static).render())
        assert "watching: specs/adder.md" in activity
        await pilot.press("w")
        await answer(pilot, "specs/adder.md")
        await until(pilot, "watching off", lambda: "stopped watching" in status(app))
        assert "watching" not in str(app.runs.query_one("#activity", Static).render())

    drive(app, body)
    assert app.store.list_runs() == []


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0, "0s"), (59, "59s"), (60, "1m"), (7200, "2h"), (3 * 86400, "3d")]
)
def test_ages_read_at_a_glance(seconds: float, shown: str) -> None:
    assert age(seconds) == shown
