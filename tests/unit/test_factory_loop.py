"""The factory loop on a scripted model: the main paths through the state machine, for real.

The sandbox, git, pytest, ruff and SQLite are real; only the model is scripted. The holdout's
part, the tests' disputes and the repair's answers have files of their own
(``test_factory_holdout_loop``, ``test_factory_disputes_loop``, ``test_factory_repair_loop``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from localfactory.factory.workspace import Workspace
from tests.factory_helpers import (
    EMPTY_TESTS,
    PLAN,
    RIGHT,
    TESTS,
    WRONG,
    WRONG_OTHER,
    ScriptedModels,
    build,
    states,
)


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
    models = ScriptedModels(
        {"planner": [PLAN], "test_writer": [TESTS], "coder": lambda n: [WRONG, WRONG_OTHER][n % 2]}
    )
    _, _store, run, _ = build(tmp_path, models, iterations=2)
    assert run.status.value == "failed"
    assert "iteration budget ran out (2 of 2" in (run.error or "")
    assert models.counts["coder"] == 2  # implement, one repair: two rounds of code
    assert (tmp_path / ".localfactory" / "reports" / run.id / "report.md").is_file()


def test_a_run_out_of_budget_says_how_the_code_it_leaves_does_for_users(tmp_path: Path) -> None:
    # The repair's code fails the test of a negative sum, which no user's scenario tries: the
    # run never got to its validation, but what it leaves satisfies every user.
    half = RIGHT.replace("return a + b", "return a + b if a > 0 else a - b")
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [WRONG, half]})
    _, store, run, lines = build(tmp_path, models, iterations=2)
    assert run.status.value == "failed" and "validate" not in states(store, run.id)
    last = store.steps(run.id)[-1]
    assert (last.output or {})["left_behind"] == {"overall": 1.0, "passed": 4, "trajectories": 4}
    assert "the code this run leaves: satisfaction 100% (4/4 trajectories, target 100%)" in lines
    report = (tmp_path / ".localfactory" / "reports" / run.id / "report.md").read_text()
    assert f"Holdout satisfaction: 100% (target 100%; the code at step {last.seq})" in report


def test_a_coder_that_only_gives_back_the_failing_code_ends_on_the_retry_limit(
    tmp_path: Path,
) -> None:
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [WRONG]})
    _, store, run, _ = build(tmp_path, models, iterations=2)
    assert run.status.value == "failed"
    assert "repair stage produced unusable output 3 times in a row" in (run.error or "")
    assert "the answer was the same code as before" in (run.error or "")
    # Two repairs gave back the same code and sent the tests to be questioned; the repairs
    # after them, told so, gave it back again. None of them wrote code: no round was used.
    assert [s.name for s in store.steps(run.id)].count("revise_tests") == 2
    from localfactory.factory.budget import iterations_used

    assert iterations_used(store, run.id) == 1


def test_answers_without_code_are_retried_with_the_problem_then_stopped(tmp_path: Path) -> None:
    models = ScriptedModels(
        {"planner": [PLAN], "test_writer": [TESTS], "coder": ["I would use the + operator."]}
    )
    _, _store, run, _ = build(tmp_path, models)
    assert run.status.value == "failed"
    assert "implement stage produced unusable output 3 times in a row" in (run.error or "")
    second = [p for role, p in models.prompts if role == "coder"][1]
    assert "could not be used: there was no ```python block" in second


def test_an_answer_that_could_not_be_used_costs_no_iteration(tmp_path: Path) -> None:
    models = ScriptedModels(
        {"planner": [PLAN], "test_writer": [TESTS], "coder": ["I would use +.", RIGHT]}
    )
    factory, store, run, _ = build(tmp_path, models, iterations=1)
    assert run.status.value == "succeeded"  # one round of code, after one answer without any
    assert states(store, run.id)[2:5] == ["implement", "implement", "check"]
    md, _page = factory.report(run.id)
    assert "- Code-writing iterations: 1;" in md.read_text()


def test_a_test_file_that_runs_away_is_stopped_and_asked_for_again_without_tables(
    tmp_path: Path,
) -> None:
    rows = "".join(f"    ((2, {n}), 'too big'),\n" for n in range(3, 60))
    runaway = f"```python\nimport pytest\n\n@pytest.mark.parametrize('args, sum', [\n{rows}"
    models = ScriptedModels({"planner": [PLAN], "test_writer": [runaway, TESTS], "coder": [RIGHT]})
    _, store, run, _ = build(tmp_path, models)
    assert run.status.value == "succeeded"
    first = store.model_calls(run.id)[1]
    assert first.role == "test_writer" and (first.response_text or "").count("((2, ") == 12
    again = [p for role, p in models.prompts if role == "test_writer"][1]
    assert "went round in a loop (12 lines in a loop" in again
    assert "no long tables of cases" in again


def test_an_unused_import_is_removed_by_ruff_not_sent_back_to_the_coder(tmp_path: Path) -> None:
    unused = RIGHT.replace("```python\n", "```python\nimport os\n\n\n")
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [unused]})
    _, store, run, _ = build(tmp_path, models)
    assert run.status.value == "succeeded"
    assert states(store, run.id)[2:5] == ["implement", "check", "scrutinize"]  # no repair
    assert "import os" not in (tmp_path / "build" / "adder" / "adder.py").read_text()
    assert any("ruff fixed what it safely could in adder.py" in line.message
               for line in store.read_log(run.id))  # fmt: skip


def test_tests_that_pass_without_an_implementation_are_rewritten(tmp_path: Path) -> None:
    models = ScriptedModels(
        {"planner": [PLAN], "test_writer": [EMPTY_TESTS, TESTS], "coder": [RIGHT]}
    )
    _, store, run, _ = build(tmp_path, models)
    assert run.status.value == "succeeded"
    assert states(store, run.id)[:4] == ["write_tests", "confirm_red", "write_tests", "confirm_red"]
    retry_prompt = [p for role, p in models.prompts if role == "test_writer"][1]
    assert "NotImplementedError" in retry_prompt


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
    log = [line.message for line in store.read_log(run.id)]
    assert any("adder.py: mended the indentation of line(s) 3" in line for line in log)
    assert not any(
        "ignored adder.py" in line for line in log
    )  # the answer's own copy is no extra file
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
