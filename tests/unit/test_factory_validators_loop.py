"""The validators inside the factory loop: their verdicts change what the loop does next.

The sandbox, git, pytest, ruff and SQLite are real; the models (coder, test writer, judge)
are scripted.
"""

from __future__ import annotations

import json
from pathlib import Path

from localfactory.factory.engine import Factory
from localfactory.factory.workspace import Workspace
from localfactory.store import RunStore
from localfactory.validators.records import stored_verdicts
from tests.factory_helpers import (
    PLAN,
    RIGHT,
    RIGHT_OTHER,
    SCENARIO,
    TESTS,
    ScriptedModels,
    make_project,
    settings_for,
)

# test_one passes whatever add does: it calls it and checks nothing.
WEAK_TESTS = TESTS.replace("```\n", "\n\ndef test_one_and_one():\n    add(1, 1)\n```\n", 1).replace(
    "Here are the tests.\n\n", ""
)
STRONG_TESTS = WEAK_TESTS.replace("    add(1, 1)\n", "    assert add(1, 1) == 2\n")


def verdict(v: str, reason: str = "looks right") -> str:
    return json.dumps({"reasons": [reason], "verdict": v, "score": 1.0 if v == "pass" else 0.0})


def build(tmp_path: Path, models: ScriptedModels, *, scenario: str | None = SCENARIO, **env: str):
    spec = make_project(tmp_path, iterations=6, scenario=scenario)
    settings = settings_for(tmp_path, **env)
    store = RunStore(settings.store_path())
    lines: list[str] = []
    factory = Factory(settings, store, chat=models.chat, emit=lines.append)
    run = factory.run(factory.start(spec).id)
    return store, run, lines


def states(store: RunStore, run_id: str) -> list[str]:
    return [t.to_state for t in store.transitions(run_id)]


def delivered_tests(tmp_path: Path) -> str:
    return Workspace(tmp_path / "build" / "adder").git("show", "delivered:tests/test_adder.py")


def test_a_test_that_asserts_nothing_is_caught_by_scrutiny_and_rewritten(tmp_path: Path) -> None:
    assert "add(1, 1)\n" in WEAK_TESTS and "assert add(1, 1)" not in WEAK_TESTS
    models = ScriptedModels(
        {"planner": [PLAN], "test_writer": [WEAK_TESTS, STRONG_TESTS], "coder": [RIGHT]}
    )
    store, run, _ = build(tmp_path, models)
    assert run.status.value == "succeeded"
    assert states(store, run.id)[2:9] == [
        "implement", "check", "scrutinize", "strengthen_tests", "check", "scrutinize", "validate",
    ]  # fmt: skip
    rewrite_prompt = [p for role, p in models.prompts if role == "test_writer"][1]
    assert "test_one_and_one asserts nothing" in rewrite_prompt
    assert "assert add(1, 1) == 2" in delivered_tests(tmp_path)
    scrutiny = [
        v["outcome"] for v in stored_verdicts(store, run.id) if v["validator"] == "scrutiny"
    ]
    assert scrutiny == ["fail", "pass"]
    report = (tmp_path / ".localfactory" / "reports" / run.id / "report.md").read_text()
    gate = report.split("## Validators and risk gate", 1)[1].split("##", 1)[0]
    assert (
        "Scrutiny (code review): scrutiny fail" in gate
        and "test test_one_and_one asserts nothing" in gate
    )
    assert "Risk gate: score" in gate and "accepted automatically" in gate
    page = (tmp_path / ".localfactory" / "reports" / run.id / "report.html").read_text()
    assert "Validators and risk gate" in page and "accepted automatically" in page


def test_without_scrutiny_the_empty_test_is_delivered_as_it_was(tmp_path: Path) -> None:
    models = ScriptedModels({"planner": [PLAN], "test_writer": [WEAK_TESTS], "coder": [RIGHT]})
    store, run, _ = build(tmp_path, models, LOCALFACTORY_VALIDATORS__SCRUTINY="off")
    assert run.status.value == "succeeded"
    assert "strengthen_tests" not in states(store, run.id)
    tests = delivered_tests(tmp_path)
    assert "    add(1, 1)" in tests and "assert add(1, 1)" not in tests


def test_a_rewrite_that_still_checks_nothing_is_not_used_and_the_review_gives_up(
    tmp_path: Path,
) -> None:
    models = ScriptedModels({"planner": [PLAN], "test_writer": [WEAK_TESTS], "coder": [RIGHT]})
    store, run, lines = build(tmp_path, models, LOCALFACTORY_VALIDATORS__SEND_BACKS="1")
    assert run.status.value == "succeeded"
    assert states(store, run.id).count("strengthen_tests") == 1
    assert any("tests kept as they were" in line for line in lines)
    assert any("kept as advice" in t.reason for t in store.transitions(run.id))


def judged_models(judge: list[str]) -> ScriptedModels:
    return ScriptedModels(
        {"planner": [PLAN], "test_writer": [TESTS], "coder": [RIGHT, RIGHT_OTHER], "judge": judge}
    )


# Two criteria and the review question, each asked twice: six judge calls per scrutiny.
FAIL_FIRST = [verdict("fail", "negative numbers are not handled")] * 6 + [verdict("pass")] * 6


def test_a_criterion_the_judge_decides_is_unmet_goes_back_to_the_coder(tmp_path: Path) -> None:
    models = judged_models(FAIL_FIRST)
    store, run, _ = build(tmp_path, models, LOCALFACTORY_VALIDATORS__SCRUTINY="judge")
    assert run.status.value == "succeeded"
    assert states(store, run.id)[2:8] == [
        "implement", "check", "scrutinize", "repair", "check", "scrutinize",
    ]  # fmt: skip
    repair_prompt = [p for role, p in models.prompts if role == "coder"][1]
    assert "acceptance criterion not met" in repair_prompt
    assert "negative numbers are not handled" in repair_prompt
    assert models.counts["judge"] == 12


def test_an_undecided_judgement_never_sends_work_back(tmp_path: Path) -> None:
    # The judge answers pass when first asked and fail when asked again: undecided, every time.
    flip = [verdict("pass")] * 3 + [verdict("fail")] * 3
    models = judged_models(flip)
    store, run, lines = build(tmp_path, models, LOCALFACTORY_VALIDATORS__SCRUTINY="judge")
    assert run.status.value == "succeeded"
    assert "repair" not in states(store, run.id)
    assert any("stayed undecided: a person should look" in line for line in lines)
    scrutiny = [v for v in stored_verdicts(store, run.id) if v["validator"] == "scrutiny"]
    assert scrutiny[-1]["outcome"] == "undecided" and scrutiny[-1]["needs_human"] == 3


def test_a_judge_that_always_fails_the_code_cannot_stop_the_run(tmp_path: Path) -> None:
    models = judged_models([verdict("fail", "I do not like it")])
    store, run, _ = build(
        tmp_path, models, LOCALFACTORY_VALIDATORS__SCRUTINY="judge",
        LOCALFACTORY_VALIDATORS__SEND_BACKS="1", LOCALFACTORY_VALIDATORS__RISK_THRESHOLD="1.0",
    )  # fmt: skip
    assert run.status.value == "succeeded"
    assert states(store, run.id).count("repair") == 1
    reasons = [t.reason for t in store.transitions(run.id) if t.from_state == "scrutinize"]
    assert reasons[-1].endswith("(kept as advice)")
    report = (tmp_path / ".localfactory" / "reports" / run.id / "report.md").read_text()
    assert "criterion-1: fail — I do not like it" in report


JUDGED_SCENARIO = (
    SCENARIO
    + """  - call: add(2, 2)
    expect: 4
    judge: "the result is printed as a plain number"
"""
)


def test_user_testing_sends_a_judged_failure_back_with_what_users_saw(tmp_path: Path) -> None:
    models = ScriptedModels(
        {
            "planner": [PLAN],
            "test_writer": [TESTS],
            "coder": [RIGHT, RIGHT_OTHER],
            "judge": [verdict("fail", "users expected words, not digits")] * 2 + [verdict("pass")],
        }
    )
    store, run, _ = build(tmp_path, models, scenario=JUDGED_SCENARIO)
    assert run.status.value == "succeeded"
    assert states(store, run.id)[4:9] == ["scrutinize", "validate", "repair", "check", "scrutinize"]
    repair_prompt = [p for role, p in models.prompts if role == "coder"][1]
    assert "users expected words, not digits" in repair_prompt
    assert "add(2, 2)" not in repair_prompt  # holdout content never reaches the coder
    users = [
        v["outcome"] for v in stored_verdicts(store, run.id) if v["validator"] == "user_testing"
    ]
    assert users == ["fail", "pass"]


def test_a_coder_that_keeps_its_passing_code_against_the_judge_still_finishes(
    tmp_path: Path,
) -> None:
    models = ScriptedModels(
        {"planner": [PLAN], "test_writer": [TESTS], "coder": [RIGHT],
         "judge": [verdict("fail", "I do not like it")]}
    )  # fmt: skip
    store, run, _ = build(
        tmp_path, models, LOCALFACTORY_VALIDATORS__SCRUTINY="judge",
        LOCALFACTORY_VALIDATORS__RISK_THRESHOLD="1.0",
    )  # fmt: skip
    assert run.status.value == "succeeded"
    repairs = [t.reason for t in store.transitions(run.id) if t.from_state == "repair"]
    assert repairs == ["the coder kept the code as it was: it passes every check"] * 2
    assert states(store, run.id).count("scrutinize") == 3  # two send-backs, then advice
