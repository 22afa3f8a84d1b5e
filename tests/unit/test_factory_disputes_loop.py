"""The factory loop when a test may be what is wrong: tests questioned, corrected, stood by
and, when both sides stand by their work, disputed.

The sandbox, git, pytest, ruff and SQLite are real; only the model is scripted.
"""

from __future__ import annotations

from pathlib import Path

from tests.factory_helpers import (
    PLAN,
    RIGHT,
    TESTS,
    WRONG,
    WRONG_OTHER,
    WRONG_TESTS,
    ScriptedModels,
    build,
    states,
)


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
