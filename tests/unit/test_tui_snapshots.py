"""What the TUI's screens look like, as text, at a fixed terminal size.

The third tier of the TUI's tests: the other tiers assert on widgets' contents; these catch what
only the whole screen shows (a column cut off, a key missing from the footer, the detail pushed
off the screen). The runs are written into a real store at a frozen time, and the screen is read
at a frozen "now" in UTC, so the same code draws the same screen on any machine.

A screen that differs from its snapshot fails with the diff, and what was drawn is written
beside the snapshot (``*.actual.txt``). When the change is meant, rewrite the snapshots with
``LOCALFACTORY_UPDATE_SNAPSHOTS=1 make test`` (or pytest on this file) and review the diff.
Snapshots belong to the textual version that drew them (``textual-version``): under another
one these tests skip and say so, since textual draws its widgets differently between releases.
"""

from __future__ import annotations

import difflib
import itertools
import os
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from importlib.metadata import version
from pathlib import Path

import pytest
from textual.pilot import Pilot

from localfactory.store import RunStatus, RunStore
from localfactory.tui import rows as tui_rows
from localfactory.tui.app import FactoryApp
from localfactory.tui.screens.ask import Ask
from localfactory.tui.widgets import run_detail
from localfactory.validators.review import record_risk
from tests.unit.test_tui import HELD, app_for, drive, log_lines, project, until

__all__ = ["project"]  # the fixture: a project with its spec in specs/

SNAPSHOTS = Path(__file__).parent / "snapshots" / "tui"
TEXTUAL = version("textual")
SIZE = (120, 34)
T0 = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
NOW = T0 + timedelta(hours=2, minutes=5)


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The local time zone is UTC, and the screen's "now" is :data:`NOW`."""

    class Now(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def,override]
            return NOW if tz is not None else NOW.replace(tzinfo=None)

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    monkeypatch.setattr(tui_rows, "datetime", Now)
    monkeypatch.setattr(run_detail, "datetime", Now)
    yield
    monkeypatch.undo()
    time.tzset()


@contextmanager
def store_clock_frozen(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The store's clock starts at :data:`T0` and moves 2.5 s per reading, and run ids draw
    no random characters."""
    ticks = itertools.count()
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: T0.timestamp() + 2.5 * next(ticks))
        patch.setattr(secrets, "randbelow", lambda n: 4242 % n)
        yield


def assert_matches_snapshot(name: str, drawn: str) -> None:
    expected = SNAPSHOTS / f"{name}.txt"
    actual = SNAPSHOTS / f"{name}.actual.txt"
    drawn_with = SNAPSHOTS / "textual-version"
    if os.environ.get("LOCALFACTORY_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(parents=True, exist_ok=True)
        expected.write_text(drawn, encoding="utf-8")
        drawn_with.write_text(TEXTUAL + "\n", encoding="utf-8")
        actual.unlink(missing_ok=True)
        return
    snapshot_textual = drawn_with.read_text(encoding="utf-8").strip()
    if snapshot_textual != TEXTUAL:
        pytest.skip(
            f"the snapshots were drawn with textual {snapshot_textual}, this is {TEXTUAL}: "
            "draw them again with LOCALFACTORY_UPDATE_SNAPSHOTS=1 and review the diff"
        )
    if not expected.is_file():
        raise AssertionError(
            f"no snapshot {expected}: write it with LOCALFACTORY_UPDATE_SNAPSHOTS=1 and review it"
        )
    want = expected.read_text(encoding="utf-8")
    if drawn != want:
        actual.write_text(drawn, encoding="utf-8")
        diff = "\n".join(
            difflib.unified_diff(
                want.splitlines(), drawn.splitlines(), "snapshot", "drawn now", lineterm=""
            )
        )
        raise AssertionError(f"the screen differs from {expected} (drawn: {actual}):\n{diff}")
    actual.unlink(missing_ok=True)


async def screen_text(pilot: Pilot) -> str:
    """The whole screen as text, once the app has nothing left to draw."""
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()
    strips = pilot.app.screen._compositor.render_strips()
    return "\n".join(strip.text.rstrip() for strip in strips) + "\n"


def fixed_title(app: FactoryApp) -> None:
    app.sub_title = "~/shop"  # the project's folder, which is tmp_path here


def test_the_empty_project_screen(project: Path, frozen: None) -> None:
    app = app_for(project)

    async def body(pilot: Pilot) -> None:
        fixed_title(app)
        drawn = await screen_text(pilot)
        assert_matches_snapshot("empty", drawn.replace(str(project), "~/shop"))

    drive(app, body, size=SIZE)


def test_the_runs_list_with_a_failed_run_selected(
    project: Path, frozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_for(project)
    store: RunStore = app.store
    with store_clock_frozen(monkeypatch):
        done = store.create_run(
            spec_name="adder", spec_path="specs/adder.md", spec_sha256="0" * 64, state="done"
        ).id
        store.set_status(done, RunStatus.SUCCEEDED)
        failed = store.create_run(
            spec_name="csv-line", spec_path="specs/csv-line.md", spec_sha256="1" * 64, state="plan"
        ).id
        for state, nxt, outcome, reason in [
            ("plan", "write_tests", "ok", "planned 2 of 2 function(s)"),
            ("write_tests", "confirm_red", "ok", "wrote 10 test(s) in tests/test_csv_line.py"),
            ("confirm_red", "implement", "ok", "10/10 tests fail for the right reason"),
            ("implement", "check", "ok", "wrote csv_line.py"),
            ("check", "repair", "failing", "5/18 tests pass"),
        ]:
            step = store.begin_step(failed, state)
            store.log(failed, f"{state}: started", step_seq=step.seq)
            store.finish_step(failed, step.seq, output={"outcome": outcome, "reason": reason})
            store.record_transition(failed, state, nxt, reason=reason, step_seq=step.seq)
        step = store.begin_step(failed, "repair")
        why = "the iteration budget ran out (6 of 6 code-writing rounds used)"
        store.fail_step(failed, step.seq, why, output={"outcome": "budget", "reason": why})
        store.record_transition(failed, "repair", "failed", reason=why, step_seq=step.seq)
        store.set_status(failed, RunStatus.FAILED, error=why)
        held = store.create_run(
            spec_name="shop", spec_path="specs/shop.md", spec_sha256="2" * 64, state="done"
        ).id
        store.set_status(held, RunStatus.SUCCEEDED)
        record_risk(store, held, HELD, commit=None)

    async def body(pilot: Pilot) -> None:
        fixed_title(app)
        await pilot.press("down")  # from the newest (held) to the failed run
        await until(pilot, "the failed run's log", lambda: any(
            "repair → failed" in line for line in log_lines(app)))  # fmt: skip
        assert_matches_snapshot("runs-failed-selected", await screen_text(pilot))

    drive(app, body, size=SIZE)


def test_the_new_run_question(project: Path, frozen: None) -> None:
    app = app_for(project)

    async def body(pilot: Pilot) -> None:
        fixed_title(app)
        await pilot.press("n")
        await until(pilot, "the question", lambda: isinstance(app.screen, Ask))
        drawn = await screen_text(pilot)
        assert_matches_snapshot("new-run-question", drawn.replace(str(project), "~/shop"))

    drive(app, body, size=SIZE)
