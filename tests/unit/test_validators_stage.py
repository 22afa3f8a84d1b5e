"""The validators as the engine calls them, on a run the factory really built.

The factory loop, sandbox, git, pytest and SQLite are real; the models (coder and judge)
are scripted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from localfactory.factory.calls import ModelGateway
from localfactory.factory.context import StageContext
from localfactory.factory.engine import Factory
from localfactory.factory.layout import layout_for
from localfactory.factory.workspace import Workspace
from localfactory.store import RunStore
from localfactory.validators import stage
from localfactory.validators.records import stored_verdicts
from localfactory.validators.review import held_runs
from tests.factory_helpers import PLAN, RIGHT, TESTS, ScriptedModels, make_project, settings_for

JUDGED_SCENARIO = """name: small-sums
steps:
  - call: add(2, 2)
    expect: 4
    judge: the result is the number four
  - call: add(1, 1)
"""


def verdict(v: str) -> str:
    return json.dumps({"reasons": ["seen"], "verdict": v, "score": 1.0 if v == "pass" else 0.0})


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, RunStore, Any, Factory]:
    root = tmp_path_factory.mktemp("project")
    spec = make_project(root, scenario=JUDGED_SCENARIO)
    # The run itself is built without user testing: these tests call the validators directly.
    settings = settings_for(root, LOCALFACTORY_VALIDATORS__USER_TESTING="false")
    store = RunStore(settings.store_path())
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [RIGHT]})
    factory = Factory(settings, store, chat=models.chat, emit=lambda _line: None)
    run = factory.run(factory.start(spec).id)
    assert run.status.value == "succeeded"
    return settings, store, run, factory


@contextmanager
def reviewing(built: Any, judge: ScriptedModels) -> Iterator[StageContext]:
    """A stage context on a new step of the built run; the step is closed afterwards."""
    settings, store, run, factory = built
    spec = factory.spec_of(run)
    step = store.begin_step(run.id, "review")
    gateway = ModelGateway(store, run.id, judge.chat)
    gateway.at_step(step.seq)
    root = settings.project_path(settings.factory.workspace_dir) / spec.name
    ctx = StageContext(
        settings=settings, spec=spec, spec_path=Path(run.spec_path), store=store, run_id=run.id,
        step_seq=step.seq, attempt=1, retry=0, gateway=gateway,
        workspace=Workspace.create(root, branch=f"run/{run.id}"), layout=layout_for(spec),
        emit=lambda _line: None, make_sandbox=factory.make_sandbox,
    )  # fmt: skip
    try:
        yield ctx
    finally:
        ctx.workspace.reset_to_head()
        store.finish_step(run.id, step.seq, output={})


def test_scrutiny_runs_the_checks_asks_the_judge_and_stores_its_verdict(built):
    judge = ScriptedModels({"judge": [verdict("pass")]})
    with reviewing(built, judge) as ctx:
        result = stage.scrutinize(ctx)
    assert result.outcome == "pass", result.summary
    assert result.details["checks"]["pytest"].startswith(
        "pytest: 4 passed"
    )  # two tests, two spec examples
    assert any("plan ok" in line for line in result.details["trajectory"])
    # two acceptance criteria and the review question, each asked twice, through the gateway
    assert judge.counts == {"judge": 6}
    assert len(ctx.store.model_calls(ctx.run_id, ctx.step_seq)) == 6
    prompts = [p for _, p in judge.prompts]
    assert all("return a + b" in p for p in prompts)
    assert any("`add(2, 3)` returns `5`." in p for p in prompts)
    stored = [v for v in stored_verdicts(ctx.store, ctx.run_id) if v["step_seq"] == ctx.step_seq]
    assert [(v["validator"], v["outcome"]) for v in stored] == [("scrutiny", "pass")]


def test_user_testing_judges_only_what_the_program_showed(built):
    judge = ScriptedModels({"judge": [verdict("fail")]})
    with reviewing(built, judge) as ctx:
        result = stage.user_test(ctx)
    assert judge.counts == {"judge": 2}
    for _, prompt in judge.prompts:
        assert "called add(2, 2)" in prompt and "returned 4" in prompt
        assert "the result is the number four" in prompt
        assert "return a + b" not in prompt and "def add" not in prompt
    assert result.outcome == "fail"
    assert "scenario 'small-sums' step 1: a user was not satisfied: seen" in result.feedback
    assert result.details["satisfaction"]["overall"] == 1.0


def test_the_gate_accepts_the_plain_adder_and_holds_a_payments_change(built):
    with reviewing(built, ScriptedModels({})) as ctx:
        plain = stage.gate(ctx)
        payments = "def refund(card_id: str, cents: int) -> None:\n    pass\n"
        ctx.workspace.write("payments.py", payments)
        risky = stage.gate(ctx)
    assert not plain.held, plain.reasons
    assert risky.held
    assert any(r.text.startswith("touches payments: payments.py") for r in risky.reasons)
    assert [h.run.id for h in held_runs(ctx.store)] == [ctx.run_id]


def test_scrutiny_uses_the_check_report_it_is_given_instead_of_running_the_checks(built):
    from localfactory.factory import checks

    report = checks.CheckReport(
        tests=checks.TestCounts(total=2, passed=1, failed=1), pytest_ok=False, ruff_ok=True,
        mypy_ok=True, feedback="", pytest_summary="pytest: 1 passed, 1 failed (given)",
    )  # fmt: skip
    with reviewing(built, ScriptedModels({"judge": [verdict("pass")]})) as ctx:
        result = stage.scrutinize(ctx, checks=report)
    assert result.outcome == "fail"
    assert result.details["checks"]["pytest"] == "pytest: 1 passed, 1 failed (given)"
    assert "- pytest: 1 passed, 1 failed (given)" in result.feedback
