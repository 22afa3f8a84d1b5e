"""The factory loop on a scripted model: every path through the state machine, for real.

The sandbox, git, pytest, ruff and SQLite are real; only the model is scripted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from localfactory.factory.audit import audit_run
from localfactory.factory.engine import Factory
from localfactory.factory.workspace import Workspace
from localfactory.spec import load_spec
from localfactory.store import RunStore
from tests.factory_helpers import (
    EMPTY_TESTS,
    OVERFIT,
    PLAN,
    RIGHT,
    SCENARIO,
    TESTS,
    WRONG,
    WRONG_OTHER,
    ScriptedModels,
    make_project,
    settings_for,
)


def build(
    tmp_path: Path,
    models: ScriptedModels,
    *,
    iterations: int = 4,
    scenario: str | None = SCENARIO,
    **env: str,
):
    spec = make_project(tmp_path, iterations=iterations, scenario=scenario)
    settings = settings_for(tmp_path, **env)
    store = RunStore(settings.store_path())
    lines: list[str] = []
    factory = Factory(settings, store, chat=models.chat, emit=lines.append)
    run = factory.run(factory.start(spec).id)
    return factory, store, run, lines


def states(store: RunStore, run_id: str) -> list[str]:
    return [t.to_state for t in store.transitions(run_id)]


def test_wrong_code_is_repaired_validated_and_delivered(tmp_path: Path) -> None:
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [WRONG, RIGHT]})
    _factory, store, run, _ = build(tmp_path, models, LOCALFACTORY_FACTORY__MYPY="true")
    assert run.status.value == "succeeded"
    assert states(store, run.id) == [
        "write_tests", "confirm_red", "implement", "check", "repair", "check", "scrutinize",
        "validate", "deliver", "done",
    ]  # fmt: skip
    ws = Workspace(tmp_path / "build" / "adder")
    assert "return a + b" in ws.git("show", "delivered:adder.py")
    # the repair prompt carried the failing test as feedback
    repair_prompt = [p for role, p in models.prompts if role == "coder"][1]
    assert "test_small" in repair_prompt and "return a - b" in repair_prompt
    report = (tmp_path / ".localfactory" / "reports" / run.id / "report.html").read_text()
    assert "DELIVERED" in report and "satisfaction" in report.lower()


def test_every_iteration_is_a_commit_carrying_run_and_step(tmp_path: Path) -> None:
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [RIGHT]})
    _, store, run, _ = build(tmp_path, models)
    ws = Workspace(tmp_path / "build" / "adder")
    bodies = ws.git("log", f"run/{run.id}", "--format=%b").split("\n")
    steps = sorted(int(b.split(": ")[1]) for b in bodies if b.startswith("Step: "))
    assert steps == [s.seq for s in store.steps(run.id)]
    assert all(b.split(": ")[1] == run.id for b in bodies if b.startswith("Run: "))


def test_iteration_budget_stops_a_run_that_never_passes(tmp_path: Path) -> None:
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [WRONG]})
    _, store, run, _ = build(tmp_path, models, iterations=2)
    assert run.status.value == "failed"
    assert "iteration budget ran out (2 of 2" in (run.error or "")
    # implement, then a repair: the two repairs between them kept the code as it was and sent
    # the tests to be questioned, which writes nothing and is not a code-writing round
    assert models.counts["coder"] == 4
    assert [s.name for s in store.steps(run.id)].count("revise_tests") == 2
    assert (tmp_path / ".localfactory" / "reports" / run.id / "report.md").is_file()


def test_answers_without_code_are_retried_with_the_problem_then_stopped(tmp_path: Path) -> None:
    models = ScriptedModels(
        {"planner": [PLAN], "test_writer": [TESTS], "coder": ["I would use the + operator."]}
    )
    _, _store, run, _ = build(tmp_path, models)
    assert run.status.value == "failed"
    assert "implement stage produced unusable output 3 times in a row" in (run.error or "")
    second = [p for role, p in models.prompts if role == "coder"][1]
    assert "could not be used: there was no ```python block" in second


def test_tests_that_pass_without_an_implementation_are_rewritten(tmp_path: Path) -> None:
    models = ScriptedModels(
        {"planner": [PLAN], "test_writer": [EMPTY_TESTS, TESTS], "coder": [RIGHT]}
    )
    _, store, run, _ = build(tmp_path, models)
    assert run.status.value == "succeeded"
    assert states(store, run.id)[:4] == ["write_tests", "confirm_red", "write_tests", "confirm_red"]
    retry_prompt = [p for role, p in models.prompts if role == "test_writer"][1]
    assert "NotImplementedError" in retry_prompt


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


WRONG_TESTS = TESTS.replace("add(2, 3) == 5", "add(2, 3) == 6")


def test_a_test_that_contradicts_the_spec_is_corrected_when_repairs_cannot_pass_it(
    tmp_path: Path,
) -> None:
    models = ScriptedModels(
        {"planner": [PLAN], "test_writer": [WRONG_TESTS, TESTS], "coder": [RIGHT]}
    )
    # No scenarios: the holdout cannot overrule the wrong test (see the next tests).
    _, store, run, _ = build(tmp_path, models, scenario=None)
    assert run.status.value == "succeeded"
    # The coder keeps its (right) code: the failing test is questioned and corrected.
    assert states(store, run.id)[2:7] == ["implement", "check", "repair", "revise_tests", "check"]
    revise_prompt = [p for role, p in models.prompts if role == "test_writer"][1]
    assert "test_small" in revise_prompt and "TESTS ARE RIGHT" in revise_prompt
    assert (
        "add(2, 3) == 5" in (tmp_path / "build" / "adder" / "tests" / "test_adder.py").read_text()
    )


def test_a_corrected_test_file_that_forgot_the_import_gets_it_back(tmp_path: Path) -> None:
    """A revision is mended like a first draft: without the import no test could pass."""
    forgot = TESTS.replace("from adder import add\n", "")
    models = ScriptedModels(
        {"planner": [PLAN], "test_writer": [WRONG_TESTS, forgot], "coder": [RIGHT]}
    )
    _, store, run, _ = build(tmp_path, models, scenario=None)
    assert run.status.value == "succeeded"
    assert states(store, run.id)[2:7] == ["implement", "check", "repair", "revise_tests", "check"]
    assert any("added `from adder import add`" in line.message for line in store.read_log(run.id))


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


def test_a_test_writer_that_stands_by_its_tests_sends_the_code_back_to_repair(
    tmp_path: Path,
) -> None:
    models = ScriptedModels(
        {
            "planner": [PLAN],
            "test_writer": [TESTS, "TESTS ARE RIGHT"],
            "coder": [WRONG, WRONG_OTHER, RIGHT],
        }
    )
    _, store, run, _ = build(tmp_path, models, iterations=5)
    assert run.status.value == "succeeded"
    assert states(store, run.id)[2:9] == [
        "implement",
        "check",
        "repair",
        "check",
        "revise_tests",
        "repair",
        "check",
    ]


PAYMENTS = RIGHT + (
    "\npayments.py\n```python\ndef charge_card(card_number: str, amount_cents: int) -> str:\n"
    "    return f'charged {amount_cents} to {card_number[-4:]}'\n```\n"
)


def test_a_risky_change_is_held_then_a_rejection_comes_back_as_feedback(tmp_path: Path) -> None:
    from localfactory.validators.review import decide

    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [PAYMENTS, RIGHT]})
    factory, store, run, _ = build(tmp_path, models)
    assert run.status.value == "succeeded"
    last = store.transitions(run.id)[-1]
    assert last.from_state == "deliver" and last.reason.startswith("held for review")
    ws = Workspace(tmp_path / "build" / "adder")
    assert ws.git("rev-parse", "--verify", "--quiet", "delivered", check=False) == ""
    decide(store, run.id, "reject", by="reviewer", comment="No card handling in an adder, please.")
    second = factory.run(factory.start(tmp_path / "adder.md").id)
    assert second.status.value == "succeeded"
    planner_prompts = [p for role, p in models.prompts if role == "planner"]
    assert "No card handling in an adder, please." in planner_prompts[1]
    assert "No card handling" not in planner_prompts[0]
    assert "return a + b" in ws.git("show", "delivered:adder.py")


def test_running_a_finished_run_again_changes_nothing(tmp_path: Path) -> None:
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [RIGHT]})
    factory, store, run, _ = build(tmp_path, models)
    steps = len(store.steps(run.id))
    again = factory.run(run.id)
    assert again.status.value == "succeeded" and again.state == "done"
    assert len(store.steps(run.id)) == steps and sum(models.counts.values()) == 3


def test_replay_reproduces_the_run_without_any_model(tmp_path: Path) -> None:
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [WRONG, RIGHT]})
    factory, store, run, _ = build(tmp_path, models)
    calls_before = sum(models.counts.values())
    factory._chat = None  # a replay must not need a model at all
    again = factory.replay(run.id)
    assert again.status.value == "succeeded" and again.replay_of == run.id
    assert states(store, again.id) == states(store, run.id)
    assert sum(models.counts.values()) == calls_before
    assert all(c.backend == "replay" for c in store.model_calls(again.id))


def test_a_path_outside_the_workspace_is_refused(tmp_path: Path) -> None:
    evil = RIGHT + "\n../escape.py\n```python\nx = 1\n```\n"
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [evil]})
    _, store, run, _ = build(tmp_path, models)
    assert run.status.value == "succeeded"
    assert not (tmp_path / "build" / "escape.py").exists()
    assert any("escape.py" in line.message for line in store.read_log(run.id))


def test_a_run_without_scenarios_is_delivered_with_a_warning(tmp_path: Path) -> None:
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [RIGHT]})
    _, store, run, _ = build(tmp_path, models, scenario=None)
    assert run.status.value == "succeeded"
    assert any("no holdout scenarios" in line.message for line in store.read_log(run.id))


@pytest.mark.parametrize("role", ["test_writer", "coder"])
def test_a_model_error_fails_the_run_with_its_message(tmp_path: Path, role: str) -> None:
    from localfactory.errors import BackendUnavailable

    def broken(n: int) -> str:
        raise BackendUnavailable("The model server is gone.")

    answers = {"planner": [PLAN], "test_writer": [TESTS], "coder": [RIGHT], role: broken}
    models = ScriptedModels(answers)  # type: ignore[arg-type]
    _, _, run, _ = build(tmp_path, models)
    assert run.status.value == "failed" and "The model server is gone." in (run.error or "")


def test_a_coder_that_keeps_its_code_gets_the_tests_questioned_then_is_told_to_change_it(
    tmp_path: Path,
) -> None:
    models = ScriptedModels(
        {
            "planner": [PLAN],
            "test_writer": [TESTS, "TESTS ARE RIGHT"],
            "coder": [WRONG, WRONG, WRONG, WRONG, RIGHT],
        }
    )
    factory, store, run, _ = build(tmp_path, models, iterations=6)
    assert run.status.value == "succeeded"
    assert states(store, run.id)[2:11] == [
        "implement", "check", "repair", "revise_tests", "repair", "revise_tests", "repair",
        "repair", "check",
    ]  # fmt: skip
    # once the tests were questioned twice, the same code again is retried, sampled and told so
    last_repair = [p for role, p in models.prompts if role == "coder"][4]
    assert "the answer was the same code as before" in last_repair
    coder = [c for c in store.model_calls(run.id) if c.role == "coder"]
    assert coder[4].request["options"].get("temperature") == 0.4
    assert coder[4].request["options"].get("repeat_penalty") == 1.1  # out of repetition loops
    # Repairs after the test writer stood by its tests asked what the first repair asked, and
    # the second revision what the first asked: greedy would answer the same, so they sampled.
    assert "temperature" not in coder[1].request["options"]
    assert [c.request["options"].get("temperature") for c in coder[2:4]] == [0.7, 0.7]
    again = [line.message for line in store.read_log(run.id) if "sampled instead" in line.message]
    assert [m.split(":")[0] for m in again] == [
        "call 1 of step 8 is the greedy call 1 of step 6 again",
        "call 1 of step 9 is the greedy call 1 of step 7 again",
        "call 1 of step 10 is the greedy call 1 of step 6 again",
    ]
    replayed = factory.replay(run.id)  # varies the same calls the same way, from its own calls
    assert replayed.status.value == "succeeded"
    assert [c.request for c in store.model_calls(replayed.id)] == [
        c.request for c in store.model_calls(run.id)
    ]
    assert not any("differs" in line.message for line in store.read_log(replayed.id))


def test_code_with_a_syntax_error_is_retried_showing_the_bad_line(tmp_path: Path) -> None:
    broken = "adder.py\n```python\ndef add(a: int, b: int) -> int:\n    return a +* b\n```\n"
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [broken, RIGHT]})
    _, _, run, _ = build(tmp_path, models)
    assert run.status.value == "succeeded"
    retry_prompt = [p for role, p in models.prompts if role == "coder"][1]
    assert "syntax error on line 2" in retry_prompt and "`return a +* b`" in retry_prompt


def test_code_whose_indentation_alone_is_wrong_is_mended_not_retried(tmp_path: Path) -> None:
    flattened = (
        "adder.py\n```python\ndef add(a: int, b: int) -> int:\n    if a == 0:\n return b\n"
        "    return a + b\n```\n"
    )
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [flattened]})
    _, store, run, _ = build(tmp_path, models)
    assert run.status.value == "succeeded"
    assert models.counts["coder"] == 1  # no retry
    assert any(
        "adder.py: mended the indentation of line(s) 3" in line.message
        for line in store.read_log(run.id)
    )
    code = (tmp_path / "build" / "adder" / "adder.py").read_text()
    assert "    if a == 0:\n        return b\n" in code


def test_a_test_with_a_syntax_error_is_dropped_and_the_good_tests_kept(tmp_path: Path) -> None:
    broken = TESTS.replace(
        "def test_negative",
        "def test_quotes():\n    assert add('1', \"2') == '12'\n\n\ndef test_negative",
    )
    models = ScriptedModels({"planner": [PLAN], "test_writer": [broken], "coder": [RIGHT]})
    _, store, run, lines = build(tmp_path, models)
    assert run.status.value == "succeeded"
    assert states(store, run.id)[:2] == ["write_tests", "confirm_red"]  # not asked again
    tests = Workspace(tmp_path / "build" / "adder").read("tests/test_adder.py") or ""
    assert "def test_small" in tests and "def test_negative" in tests
    assert "test_quotes" not in tests
    assert any("dropped test_quotes, which broke the file" in line for line in lines)


def test_a_test_both_sides_stand_by_is_skipped_as_disputed(
    tmp_path: Path,
) -> None:
    models = ScriptedModels(
        {"planner": [PLAN], "test_writer": [WRONG_TESTS, "TESTS ARE RIGHT"], "coder": [RIGHT]}
    )
    # No scenarios to overrule the test at once (see above): the dispute runs its course.
    _, store, run, lines = build(tmp_path, models, scenario=None)
    assert run.status.value == "succeeded", "\n".join(lines)
    assert states(store, run.id)[2:12] == [
        "implement", "check", "repair", "revise_tests", "repair", "revise_tests", "repair",
        "check", "scrutinize", "validate",
    ]  # fmt: skip
    from localfactory.factory.budget import iterations_used

    # the two repairs that kept the code and sent the tests to be questioned wrote nothing
    assert iterations_used(store, run.id) == 2
    tests = (tmp_path / "build" / "adder" / "tests" / "test_adder.py").read_text()
    assert "@pytest.mark.skip(reason='disputed" in tests and "add(2, 3) == 6" in tests
    check = [t.reason for t in store.transitions(run.id) if t.from_state == "check"][-1]
    # the test writer's own test_negative and the spec's two examples pass
    assert check == "3/4 tests pass, ruff clean; 1 disputed test(s) skipped: test_small"
    report = (tmp_path / ".localfactory" / "reports" / run.id / "report.md").read_text()
    assert "disputed tests skipped: test_small" in report
    # a reason in the risk score
    assert "1 of the test writer's tests were skipped (disputed, or contradicted" in report


HALF = RIGHT.replace("return a + b", "return a + b if a > 0 else a - b")


def test_a_repair_samples_more_answers_and_keeps_the_one_passing_the_most_tests(
    tmp_path: Path,
) -> None:
    models = ScriptedModels(
        {
            "planner": [PLAN],
            "test_writer": [TESTS],
            "coder": [WRONG, WRONG_OTHER, HALF, RIGHT, WRONG],
        }
    )
    _, store, run, _ = build(tmp_path, models, LOCALFACTORY_FACTORY__REPAIR_CANDIDATES="4")
    assert run.status.value == "succeeded"
    # implement, then the repair's greedy answer and two sampled ones: the second sampled
    # answer passed everything, so no fourth was asked for
    assert models.counts["coder"] == 4
    repair = [t.reason for t in store.transitions(run.id) if t.from_state == "repair"]
    assert repair == [
        "rewrote adder.py (sampled answer 3 of 3 kept: 4/4 tests pass, users' satisfaction 100%; "
        "the first: 0/4 tests pass)"
    ]
    coder = [c for c in store.model_calls(run.id) if c.role == "coder"]
    assert [c.request["options"].get("seed") for c in coder] == [None, None, 1, 2]
    assert "return a + b" in Workspace(tmp_path / "build" / "adder").git(
        "show", "delivered:adder.py"
    )
    # replaying asks no model and takes the same path
    again = settings_for(tmp_path, LOCALFACTORY_FACTORY__REPAIR_CANDIDATES="4")
    replayed = Factory(again, store, emit=lambda _l: None).replay(run.id)
    assert replayed.status.value == "succeeded"
    assert [t.reason for t in store.transitions(replayed.id) if t.from_state == "repair"] == repair


def test_a_repair_asks_for_no_more_answers_once_the_runs_time_is_spent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from localfactory.factory import budget

    models = ScriptedModels(
        {"planner": [PLAN], "test_writer": [TESTS], "coder": [WRONG, WRONG_OTHER, RIGHT]}
    )
    real = budget.spent

    def spent(*args: object, **kwargs: float) -> str | None:
        # the time runs out while the repair's first answer is being checked
        if models.counts.get("coder", 0) >= 2:
            return "the time budget ran out (601 s of 600 s used)"
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(budget, "spent", spent)
    _, _store, run, lines = build(tmp_path, models, LOCALFACTORY_FACTORY__REPAIR_CANDIDATES="3")
    assert models.counts["coder"] == 2  # implement, the repair's first answer; no sampled one
    assert any("no more answers asked: the time budget ran out" in line for line in lines)
    assert run.status.value == "failed" and "time budget ran out" in (run.error or "")


def test_when_no_sampled_answer_improves_the_code_the_budget_not_a_retry_limit_ends_the_run(
    tmp_path: Path,
) -> None:
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [WRONG]})
    _, store, run, _ = build(
        tmp_path, models, iterations=4, LOCALFACTORY_FACTORY__REPAIR_CANDIDATES="2"
    )
    assert run.status.value == "failed"
    assert "iteration budget ran out" in (run.error or "")
    reasons = [t.reason for t in store.transitions(run.id) if t.from_state == "repair"]
    assert "no answer improved the code: the checks run again on it as it is" in reasons


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


def test_code_that_hangs_fails_its_tests_on_time_and_the_repair_is_shown_where(
    tmp_path: Path,
) -> None:
    hangs = RIGHT.replace("    return a + b", "    while a < 0:\n        pass\n    return a + b")
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [hangs, RIGHT]})
    _, store, run, _ = build(tmp_path, models, LOCALFACTORY_FACTORY__TEST_TIMEOUT_S="1")
    assert run.status.value == "succeeded"
    # the other tests still ran: only the two with a negative number hung
    check = next(t.reason for t in store.transitions(run.id) if t.from_state == "check")
    assert check == "2/4 tests pass"
    repair_prompt = [p for role, p in models.prompts if role == "coder"][1]
    assert "while a < 0:" in repair_prompt
    assert "still running after 1 s; it was stopped on the line above" in repair_prompt


def test_a_repair_answer_missing_the_interface_is_refused_and_the_code_kept(
    tmp_path: Path,
) -> None:
    fragment = "adder.py\n```python\nobj['add']\n```\n"
    models = ScriptedModels(
        {"planner": [PLAN], "test_writer": [TESTS], "coder": [WRONG, fragment, RIGHT]}
    )
    _, store, run, _ = build(tmp_path, models)
    assert run.status.value == "succeeded"
    reasons = [t.reason for t in store.transitions(run.id) if t.from_state == "repair"]
    assert reasons[0] == (
        "unusable code: `adder.py` must define add; the answer has no add: write the complete file"
    )
    ws = Workspace(tmp_path / "build" / "adder")
    history = ws.git("log", "-p", "--format=%s", "--", "adder.py")
    assert "obj['add']" not in history
    retry_prompt = [p for role, p in models.prompts if role == "coder"][2]
    assert "return a - b" in retry_prompt and "the answer has no add" in retry_prompt


def test_the_last_answer_a_repair_tries_is_a_fresh_implementation_without_the_old_code(
    tmp_path: Path,
) -> None:
    models = ScriptedModels(
        {"planner": [PLAN], "test_writer": [TESTS], "coder": [WRONG, WRONG_OTHER, WRONG, RIGHT]}
    )
    _, store, run, _ = build(tmp_path, models, LOCALFACTORY_FACTORY__REPAIR_CANDIDATES="3")
    assert run.status.value == "succeeded"
    repair = [t.reason for t in store.transitions(run.id) if t.from_state == "repair"]
    assert repair == [
        "rewrote adder.py (fresh answer 3 of 3 kept: 4/4 tests pass, users' satisfaction 100%; "
        "the first: 0/4 tests pass)"
    ]
    fresh = [p for role, p in models.prompts if role == "coder"][3]
    assert "from the specification alone" in fresh and "`add(2, 3)` returns `5`" in fresh
    assert "a * b" not in fresh and "def test_small" not in fresh  # not the code, nor the tests
    coder = [c for c in store.model_calls(run.id) if c.role == "coder"]
    assert "temperature" not in coder[3].request["options"]  # the model's own best guess


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
