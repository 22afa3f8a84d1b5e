"""The builder behind watch mode and the TUI: a build stops when the spec was edited
(cancelled, the newest version is built once) or when asked (resumable), without waiting for
the model's answer in progress.

The planner's first answer waits for the test to let it go, so a request always arrives while
a model is answering; everything else (sandbox, git, pytest, SQLite) is real.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from localfactory.factory.builds import Builder, BuildRequest, report_paths
from localfactory.factory.engine import Factory
from localfactory.store import RunStatus, RunStore
from tests.factory_helpers import PLAN, RIGHT, TESTS, ScriptedModels, make_project, settings_for
from tests.unit.test_watch import Heard


class HeldPlanner:
    """Scripted models whose first planner answer comes only once :meth:`release` is called."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.asked = threading.Event()
        """Set once the planner is being asked: the plan step is open."""
        self.models = ScriptedModels(
            {"planner": self._plan, "test_writer": [TESTS], "coder": [RIGHT]}
        )

    def _plan(self, n: int) -> str:
        if n == 0:
            self.asked.set()
        if n == 0 and not self.gate.wait(timeout=60):
            raise AssertionError("the test never released the planner")
        return PLAN

    def release(self) -> None:
        self.gate.set()


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Path, RunStore, HeldPlanner, Heard, Builder]]:
    spec = make_project(tmp_path, scenario=None)
    settings = settings_for(tmp_path)
    store = RunStore(settings.store_path())
    held = HeldPlanner()
    factory = Factory(settings, store, chat=held.models.chat, emit=lambda _line: None)
    heard = Heard()
    builder = Builder(factory, heard.event)
    yield spec, store, held, heard, builder
    held.release()
    builder.close(wait_s=30)


def kinds(heard: Heard) -> list[str]:
    return [e.kind for e in heard.events]


def start_held(spec: Path, held: HeldPlanner, heard: Heard, builder: Builder) -> str:
    """Build ``spec`` and wait until its plan step is open (the planner held); the run's id."""
    builder.submit(BuildRequest(spec=spec))
    heard.wait("the build starts", lambda: "started" in kinds(heard))
    assert held.asked.wait(timeout=30), "the plan step never began"
    run_id = heard.events[0].run_id
    assert run_id is not None
    return run_id


def test_edits_during_a_build_stop_it_at_once_and_build_the_newest_once(project) -> None:
    spec, store, held, heard, builder = project
    first = start_held(spec, held, heard, builder)
    builder.submit(BuildRequest(spec=spec, supersede=True))  # a save...
    builder.submit(BuildRequest(spec=spec, supersede=True))  # ...and another before it ends
    assert len(builder.waiting) == 1
    held.release()
    heard.wait("the newest version is built", lambda: "ended" in kinds(heard))

    assert kinds(heard) == ["started", "stopped", "started", "ended"]
    stopped = heard.events[1]
    assert stopped.message.startswith(
        f"run {first} stopped during step 1 (plan): its spec was edited"
    )
    old = store.get_run(first)
    assert old.status is RunStatus.CANCELLED and "edited" in (old.error or "")
    # The plan in progress was dropped, not finished: its step is closed with the reason.
    assert [(s.status.value, s.error) for s in store.steps(first)] == [("failed", old.error)]
    assert store.model_calls(first) == []
    newest = store.list_runs()[0]
    assert [r.id for r in store.list_runs()] == [newest.id, first]
    assert newest.status is RunStatus.SUCCEEDED
    page = report_paths(builder.factory.settings, newest.id)[1]
    assert page.is_file() and str(page) in heard.events[-1].message


def test_a_stopped_build_is_left_resumable_and_resuming_goes_on_where_it_stopped(project) -> None:
    spec, store, held, heard, builder = project
    run_id = start_held(spec, held, heard, builder)
    assert builder.stop(run_id)
    held.release()
    heard.wait("the build stops", lambda: "stopped" in kinds(heard))
    said = heard.events[-1].message
    assert "stopped during step 1 (plan)" in said and f"`localfactory runs resume {run_id}`" in said
    run = store.get_run(run_id)
    assert run.status is RunStatus.RUNNING and run.owner_pid is None
    open_step = store.open_step(run_id)
    assert open_step is not None and open_step.seq == 1  # to run again, as after a kill

    builder.submit(BuildRequest(run_id=run_id))
    heard.wait("the resumed build ends", lambda: "ended" in kinds(heard))
    assert store.get_run(run_id).status is RunStatus.SUCCEEDED
    assert held.models.counts["planner"] == 2  # the dropped plan was asked for again...
    steps = store.steps(run_id)
    assert steps[0].name == "plan" and [s.seq for s in steps] == list(range(1, len(steps) + 1))
    assert [s.name for s in steps].count("plan") == 1  # ...in the same step, none repeated
    assert len(store.list_runs()) == 1


def test_closing_during_a_step_leaves_the_run_for_resume(project) -> None:
    spec, store, held, heard, builder = project
    run_id = start_held(spec, held, heard, builder)
    assert builder.close(wait_s=0.1) == [run_id]  # the planner is still thinking
    held.release()
    heard.wait("the build stops", lambda: "stopped" in kinds(heard))
    run = store.get_run(run_id)
    assert not run.status.is_final and run.owner_pid is None
    builder.submit(BuildRequest(spec=spec))  # a closed builder takes no more work
    assert builder.waiting == []


def test_the_engine_stops_between_steps_when_asked_and_resumes_from_there(tmp_path: Path) -> None:
    spec = make_project(tmp_path, scenario=None)
    settings = settings_for(tmp_path)
    store = RunStore(settings.store_path())
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [RIGHT]})
    factory = Factory(settings, store, chat=models.chat, emit=lambda _line: None)
    run = factory.start(spec)
    asked: list[int] = []

    def after_two_steps() -> bool:
        closed = [s for s in store.steps(run.id) if s.status.value != "started"]
        asked.append(len(closed))
        return len(closed) >= 2

    assert not factory.run(run.id, should_stop=after_two_steps).status.is_final
    assert store.get_run(run.id).owner_pid is None  # released: `runs resume` may take it
    assert [s.name for s in store.steps(run.id)] == ["plan", "write_tests"]
    # Asked before each step began (0, 1, 2) and, during the two answers, after each chunk.
    assert sorted(set(asked)) == [0, 1, 2] and asked.count(2) == 1 and len(asked) > 3
    assert store.open_step(run.id) is None
    done = factory.run(run.id)
    assert done.status is RunStatus.SUCCEEDED
    assert models.counts["planner"] == 1 and models.counts["test_writer"] == 1
