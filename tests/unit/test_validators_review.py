"""Held runs, decisions and who made them, rejections handed to the next run, and the CLI."""

from __future__ import annotations

import subprocess

import pytest
import typer
from typer.testing import CliRunner

from localfactory.cli import common, review_cmd
from localfactory.config import Settings
from localfactory.store import RunStore
from localfactory.validators.review import (
    ReviewError,
    decide,
    held_runs,
    pending_feedback,
    record_risk,
    take_feedback,
)
from localfactory.validators.risk import RiskAssessment, RiskReason

HELD = RiskAssessment(0.5, 0.5, [RiskReason(0.5, "touches payments: shop/payments.py")])
ACCEPTED = RiskAssessment(0.1, 0.5, [RiskReason(0.1, "satisfaction was not measured")])


@pytest.fixture
def store(settings: Settings) -> RunStore:
    return RunStore(settings.store_path())


def new_run(store: RunStore, spec: str = "shop") -> str:
    return store.create_run(spec_name=spec, spec_path=f"{spec}.md", spec_sha256="0" * 64).id


def test_only_held_undecided_runs_are_listed(store):
    held, accepted, decided = new_run(store), new_run(store), new_run(store)
    assert record_risk(store, held, HELD, commit="abc") is True
    assert record_risk(store, accepted, ACCEPTED) is False
    record_risk(store, decided, HELD)
    decide(store, decided, "approve", by="ana")

    assert [h.run.id for h in held_runs(store)] == [held]
    assert {h.run.id for h in held_runs(store, include_decided=True)} == {held, decided}
    assert held_runs(store)[0].commit == "abc"
    assert "held for review" in store.read_log(held)[-1].message


def test_a_decision_records_who_made_it_and_cannot_be_made_twice(store, monkeypatch):
    run = new_run(store)
    record_risk(store, run, HELD, commit="c0ffee")
    monkeypatch.setattr("getpass.getuser", lambda: "osuser")
    decision = decide(store, run, "approve", comment="checked the charge path")
    assert (decision.decision, decision.by, decision.commit) == ("approve", "osuser", "c0ffee")
    with pytest.raises(ReviewError, match="already approved by osuser"):
        decide(store, run, "reject", by="bob", comment="no")


def test_runs_that_were_not_held_cannot_be_decided(store):
    run = new_run(store)
    record_risk(store, run, ACCEPTED)
    with pytest.raises(ReviewError, match="was not held"):
        decide(store, run, "approve")
    with pytest.raises(ReviewError, match="was not held"):
        decide(store, new_run(store), "reject", comment="x")


def test_a_rejection_needs_a_comment(store):
    run = new_run(store)
    record_risk(store, run, HELD)
    with pytest.raises(ReviewError, match="needs a comment"):
        decide(store, run, "reject", comment="  ")


def test_a_rejection_is_feedback_for_the_next_run_of_the_same_spec_once(store):
    first = new_run(store)
    record_risk(store, first, HELD)
    decide(store, first, "reject", by="ana", comment="refunds must not go negative")
    other = new_run(store, spec="text-tools")
    record_risk(store, other, HELD)
    decide(store, other, "reject", by="ana", comment="about another spec")

    assert [r.comment for r in pending_feedback(store, "shop")] == ["refunds must not go negative"]

    nxt = new_run(store)
    text = take_feedback(store, "shop", nxt)
    assert "refunds must not go negative" in text
    assert "another spec" not in text
    assert take_feedback(store, "shop", nxt) == text  # a resumed run gets the same text
    assert pending_feedback(store, "shop") == []
    assert take_feedback(store, "shop", new_run(store)) == ""
    assert [r.spec_name for r in pending_feedback(store, "text-tools")] == ["text-tools"]


# -- the command -----------------------------------------------------------------------------


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setattr(common, "settings", lambda: settings)
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """localfactory"""

    review_cmd.register(app)
    return app


def invoke(app: typer.Typer, *args: str) -> tuple[int, str, BaseException | None]:
    result = CliRunner().invoke(app, ["review", *args])
    return result.exit_code, result.output, result.exception


def test_review_with_no_store_says_nothing_is_waiting(cli):
    assert invoke(cli)[:2] == (0, "No runs are waiting for review.\n")


def test_review_lists_shows_and_rejects_from_the_command_line(cli, store, monkeypatch):
    run = new_run(store)
    record_risk(store, run, HELD)
    code, out, _ = invoke(cli)
    assert code == 0
    assert run in out and "touches payments" in out and "0.50" in out

    code, out, _ = invoke(cli, run[-5:])
    assert code == 0
    assert "risk 0.50, threshold 0.50: held for review" in out
    assert "+0.50  touches payments: shop/payments.py" in out

    code, _, exc = invoke(cli, run, "--reject")
    assert isinstance(exc, ReviewError)

    monkeypatch.setattr("getpass.getuser", lambda: "osuser")
    code, out, _ = invoke(cli, run, "--reject", "-m", "charges twice on retry")
    assert code == 0
    assert f"Run {run} rejected by osuser" in out
    assert "charges twice on retry" in take_feedback(store, "shop", new_run(store))
    assert invoke(cli)[1] == "No runs are waiting for review.\n"
    assert "rejected" in invoke(cli, "--all")[1]


def test_approving_delivers_the_held_commit(cli, store, settings):
    ws = settings.project_path(settings.factory.workspace_dir) / "shop"
    ws.mkdir(parents=True)
    git = ["git", "-C", str(ws), "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "held change"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    run = new_run(store)
    record_risk(store, run, HELD, commit=head)

    code, out, _ = invoke(cli, run, "--approve", "--by", "lead")
    assert code == 0
    assert f"approved by lead; commit {head[:10]} is now on branch 'delivered'" in out
    delivered = subprocess.run([*git, "rev-parse", "delivered"], capture_output=True, text=True)
    assert delivered.stdout.strip() == head


def test_approve_and_reject_together_are_refused(cli):
    _, _, exc = invoke(cli, "some-run", "--approve", "--reject")
    assert "not both" in str(exc)
