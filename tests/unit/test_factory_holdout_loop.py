"""The factory loop and the holdout scenarios: what users' failures send back (never the
scenarios), tests extended for what they miss, and the users' scenarios as arbiter.

The sandbox, git, pytest, ruff and SQLite are real; only the model is scripted.
"""

from __future__ import annotations

from pathlib import Path

from localfactory.factory.audit import audit_run
from localfactory.factory.workspace import Workspace
from localfactory.spec import load_spec
from tests.factory_helpers import (
    OVERFIT,
    PLAN,
    RIGHT,
    TESTS,
    WRONG_TESTS,
    ScriptedModels,
    build,
    states,
)


def test_holdout_failure_goes_back_as_a_symptom_without_scenario_content(tmp_path: Path) -> None:
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [OVERFIT, RIGHT]})
    _, store, run, _ = build(tmp_path, models)
    assert run.status.value == "succeeded"
    assert states(store, run.id)[3:8] == ["check", "scrutinize", "validate", "repair", "check"]
    repair_prompt = [p for role, p in models.prompts if role == "coder"][1]
    assert "check 'random-sums' (Users add numbers in the hundreds)" in repair_prompt
    assert "returned a different value" in repair_prompt
    assert "123456" not in repair_prompt and "777777" not in repair_prompt
    sat = [t.reason for t in store.transitions(run.id) if t.from_state == "validate"]
    assert sat[0].startswith("satisfaction 0%") and sat[1].startswith("satisfaction 100%")


def with_test(name: str, assertion: str) -> str:
    """The test writer's answer to "users found a failure your tests miss": the old tests
    repeated (as small models do) and one new test."""
    return TESTS.replace("```\n", f"\n\ndef {name}():\n    assert {assertion}\n```\n")


def extended_run(tmp_path: Path, extension: str):
    """Overfit code that passes every test, the holdout catching it, and the test writer's
    ``extension`` of the tests (one a run); the right code on the coder's second answer."""
    models = ScriptedModels(
        {"planner": [PLAN], "test_writer": [TESTS, extension], "coder": [OVERFIT, RIGHT]}
    )
    _, store, run, lines = build(tmp_path, models, LOCALFACTORY_FACTORY__TEST_EXTENSIONS="1")
    assert run.status.value == "succeeded"
    return models, store, run, lines


def test_holdout_failure_of_code_passing_every_test_has_the_tests_extended(
    tmp_path: Path,
) -> None:
    extension = with_test("test_large_numbers", "add(100, 200) == 300")  # catches the overfit
    models, store, run, _ = extended_run(tmp_path, extension)
    assert states(store, run.id)[3:10] == [
        "check", "scrutinize", "validate", "extend_tests", "check", "repair", "check",
    ]  # fmt: skip
    extend_prompt = [p for role, p in models.prompts if role == "test_writer"][1]
    assert "check 'random-sums'" in extend_prompt and "def test_small" in extend_prompt
    # The coder now sees a failing test, a concrete case, instead of a symptom.
    repair_prompt = [p for role, p in models.prompts if role == "coder"][1]
    assert "test_large_numbers" in repair_prompt
    tests = Workspace(tmp_path / "build" / "adder").read("tests/test_adder.py") or ""
    assert tests.count("def test_small") == 1 and "def test_negative" in tests
    assert "def test_large_numbers" in tests
    spec = load_spec(tmp_path / "adder.md")
    assert audit_run(store, run.id, spec, tmp_path / "scenarios").leaks == []


def test_tests_are_extended_once_a_run_then_the_coder_gets_the_symptom(tmp_path: Path) -> None:
    # The added test passes on the overfit code too: it does not catch the failure.
    models, store, run, _ = extended_run(tmp_path, with_test("test_one_more", "add(1, 2) == 3"))
    assert states(store, run.id)[3:11] == [
        "check", "scrutinize", "validate", "extend_tests", "check", "scrutinize", "validate",
        "repair",
    ]  # fmt: skip
    repair_prompt = [p for role, p in models.prompts if role == "coder"][1]
    assert "check 'random-sums'" in repair_prompt


def test_an_added_test_the_repaired_code_still_fails_is_disputed(tmp_path: Path) -> None:
    # The test writer's late guess is wrong (300 is right): after a repair it is skipped as
    # disputed, and the holdout, which passes the repaired code, decides.
    wrong = with_test("test_large_numbers", "add(100, 200) == 301")
    _, store, run, lines = extended_run(tmp_path, wrong)
    after = states(store, run.id)
    assert after[after.index("extend_tests") :][:6] == [
        "extend_tests", "check", "repair", "check", "scrutinize", "validate",
    ]  # fmt: skip
    assert any("disputed tests skipped: test_large_numbers" in line for line in lines)


def test_an_extension_without_new_tests_sends_the_symptom_to_the_coder(tmp_path: Path) -> None:
    _, store, run, _ = extended_run(tmp_path, TESTS)
    after = states(store, run.id)
    assert after[after.index("extend_tests") :][:3] == ["extend_tests", "repair", "check"]
    extend = next(t for t in store.transitions(run.id) if t.from_state == "extend_tests")
    assert "no tests added (the answer had no test that the file lacks)" in extend.reason


def test_strict_holdout_withholds_even_the_symptom(tmp_path: Path) -> None:
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [OVERFIT, RIGHT]})
    _, _, _run, _ = build(tmp_path, models, LOCALFACTORY_FACTORY__STRICT_HOLDOUT="true")
    repair_prompt = [p for role, p in models.prompts if role == "coder"][1]
    assert "1 of 1 end-to-end checks by users failed" in repair_prompt
    assert "random-sums" not in repair_prompt


def test_failing_tests_the_holdout_contradicts_are_skipped_and_the_code_delivered(
    tmp_path: Path,
) -> None:
    models = ScriptedModels(
        {"planner": [PLAN], "test_writer": [WRONG_TESTS, "TESTS ARE RIGHT"], "coder": [RIGHT]}
    )
    _, store, run, lines = build(tmp_path, models)
    assert run.status.value == "succeeded", "\n".join(lines)
    # the spec's examples pass, only the writer's test fails: the users' scenarios decide at
    # once, with no repair asked of the coder and no revision of the tests
    assert states(store, run.id)[2:7] == ["implement", "check", "scrutinize", "validate", "deliver"]
    assert models.counts == {"planner": 1, "test_writer": 1, "coder": 1}
    tests = (tmp_path / "build" / "adder" / "tests" / "test_adder.py").read_text()
    assert "@pytest.mark.skip(reason='contradicted" in tests and "add(2, 3) == 6" in tests
    check = next(t.reason for t in store.transitions(run.id) if t.from_state == "check")
    assert check == (
        "3/4 tests pass, ruff clean; 1 test(s) the holdout contradicted skipped: test_small"
    )
    report = (tmp_path / ".localfactory" / "reports" / run.id / "report.md").read_text()
    assert "tests contradicted by the holdout skipped: test_small" in report


def test_failing_tests_put_to_an_unsatisfied_holdout_send_the_users_symptoms_too(
    tmp_path: Path,
) -> None:
    models = ScriptedModels(
        {
            "planner": [PLAN],
            "test_writer": [WRONG_TESTS, "TESTS ARE RIGHT"],
            "coder": [OVERFIT, OVERFIT, RIGHT],
        }
    )
    _, store, run, lines = build(tmp_path, models)
    assert run.status.value == "succeeded", "\n".join(lines)
    # the coder first kept its code: the check ran again on it, and the repair after that
    # was told what users saw as well (the scenarios did not run again on the same code)
    repairs = [p for role, p in models.prompts if role == "coder"][1:]
    assert len(repairs) == 2
    for prompt in repairs:
        assert "test_small" in prompt  # the failing test, and what users saw
        assert "End-to-end checks by users (not the tests) failed" in prompt
    # the repaired code satisfies the scenarios: the wrong test is skipped, the run delivered
    checks = [t.reason for t in store.transitions(run.id) if t.from_state == "check"]
    assert checks[-1].endswith("1 test(s) the holdout contradicted skipped: test_small")
    # the scenarios ran once per version of the code, each time recorded for the report
    sats = [i for i in store.list_artifacts(run.id, kind="satisfaction")]
    assert len(sats) == 3  # two checks and the validation


def test_code_the_holdout_failed_must_change_even_when_every_test_passes(tmp_path: Path) -> None:
    models = ScriptedModels(
        {"planner": [PLAN], "test_writer": [TESTS], "coder": [OVERFIT, OVERFIT, RIGHT]}
    )
    _, store, run, _ = build(tmp_path, models)  # one answer a repair
    assert run.status.value == "succeeded"
    assert states(store, run.id)[2:11] == [
        "implement", "check", "scrutinize", "validate", "repair", "repair", "check",
        "scrutinize", "validate",
    ]  # fmt: skip
    retried = [p for role, p in models.prompts if role == "coder"][2]
    assert "the answer was the same code as before" in retried


def test_after_a_failed_holdout_the_users_scenarios_choose_among_a_repairs_answers(
    tmp_path: Path,
) -> None:
    # every answer passes every test: only the scenarios tell the overfitting code apart
    models = ScriptedModels(
        {"planner": [PLAN], "test_writer": [TESTS], "coder": [OVERFIT, OVERFIT, RIGHT]}
    )
    _, store, run, _ = build(tmp_path, models, LOCALFACTORY_FACTORY__REPAIR_CANDIDATES="3")
    assert run.status.value == "succeeded"
    assert states(store, run.id)[2:10] == [
        "implement", "check", "scrutinize", "validate", "repair", "check", "scrutinize",
        "validate",
    ]  # fmt: skip
    repair = next(t.reason for t in store.transitions(run.id) if t.from_state == "repair")
    assert repair == (
        "rewrote adder.py (sampled answer 2 of 2 kept: 4/4 tests pass, users' satisfaction "
        "100%; the first: 4/4 tests pass, users' satisfaction 0%)"
    )
    # nothing of the scenarios reached a prompt
    spec = load_spec(tmp_path / "adder.md")
    assert audit_run(store, run.id, spec, tmp_path / "scenarios").leaks == []


def test_a_disputed_test_comes_back_when_the_holdout_then_fails(tmp_path: Path) -> None:
    # test_big is right; the overfitting code fails it and the coder stands by its code
    big = TESTS.replace("\n```\n", "\n\n\ndef test_big():\n    assert add(100, 1) == 101\n```\n")
    models = ScriptedModels(
        {
            "planner": [PLAN],
            "test_writer": [big, "TESTS ARE RIGHT"],
            "coder": lambda n: OVERFIT if n < 5 else RIGHT,
        }
    )
    _, store, run, lines = build(tmp_path, models, iterations=8)
    assert run.status.value == "succeeded", "\n".join(lines)
    assert sum("disputed tests skipped: test_big" in line for line in lines) == 1
    assert any("disputed tests restored: test_big" in line for line in lines)
    # the failed holdout sent the run back to the checks, which showed the restored test
    # failing; restored, it stayed through the next repair that kept the code
    steps = [(t.from_state, t.reason) for t in store.transitions(run.id)]
    at = next(i for i, (src, why) in enumerate(steps) if src == "validate" and "restored" in why)
    assert [why for src, why in steps[at + 1 : at + 4]] == [
        "4/5 tests pass",
        "the coder kept the code as it was: the failing tests are restored after the holdout failed",
        "4/5 tests pass",
    ]
    # the repair after the failed holdout saw test_big as a live test again, and the code that
    # passes it was delivered with it
    last_repair = [p for role, p in models.prompts if role == "coder"][-1]
    assert "def test_big():" in last_repair and "disputed" not in last_repair
    tests = (tmp_path / "build" / "adder" / "tests" / "test_adder.py").read_text()
    assert "skip" not in tests
    check = [t.reason for t in store.transitions(run.id) if t.from_state == "check"][-1]
    assert check == "5/5 tests pass, ruff clean"


def test_an_answer_the_users_prefer_beats_one_that_passes_a_wrong_test(tmp_path: Path) -> None:
    # Both answers fail the test writer's wrong test_small; only one satisfies the users.
    models = ScriptedModels(
        {
            "planner": [PLAN],
            "test_writer": [WRONG_TESTS],
            "coder": [OVERFIT, OVERFIT, RIGHT, OVERFIT],
        }
    )
    _, store, run, lines = build(tmp_path, models, LOCALFACTORY_FACTORY__REPAIR_CANDIDATES="3")
    assert run.status.value == "succeeded", "\n".join(lines)
    repair = next(t.reason for t in store.transitions(run.id) if t.from_state == "repair")
    assert repair == (
        "rewrote adder.py (sampled answer 2 of 3 kept: 3/4 tests pass, users' satisfaction "
        "100%; the first: 3/4 tests pass, users' satisfaction 0%)"
    )
    check = [t.reason for t in store.transitions(run.id) if t.from_state == "check"][-1]
    assert check.endswith("1 test(s) the holdout contradicted skipped: test_small")
