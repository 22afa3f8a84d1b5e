"""The factory loop's repairs: more answers sampled and the best kept by the checks, a fresh
answer from the spec alone, budgets, and answers that hang or lack the interface.

The sandbox, git, pytest, ruff and SQLite are real; only the model is scripted.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from localfactory.factory.engine import Factory
from localfactory.factory.workspace import Workspace
from tests.factory_helpers import (
    OVERFIT,
    PLAN,
    RIGHT,
    TESTS,
    WRONG,
    WRONG_OTHER,
    ScriptedModels,
    build,
    build_with_coder,
    reasons_of,
    settings_for,
)

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
    models, store, run, _ = build_with_coder(tmp_path, [WRONG, fragment, RIGHT])
    assert run.status.value == "succeeded"
    assert reasons_of(store, run.id, "repair")[0] == (
        "unusable code: `adder.py` must define add; the answer has no add: write the complete file"
    )
    ws = Workspace(tmp_path / "build" / "adder")
    history = ws.git("log", "-p", "--format=%s", "--", "adder.py")
    assert "obj['add']" not in history
    retry_prompt = [p for role, p in models.prompts if role == "coder"][2]
    assert "return a - b" in retry_prompt and "the answer has no add" in retry_prompt


def test_a_repair_answered_with_an_empty_block_keeps_the_code_without_asking_again(
    tmp_path: Path,
) -> None:
    models, store, run, lines = build_with_coder(tmp_path, [WRONG, "```\nadder.py\n```", RIGHT])
    assert run.status.value == "succeeded"
    # not "unusable code" and a retry: the coder stood by its code, so the tests are questioned
    assert reasons_of(store, run.id, "repair")[0] == (
        "the coder kept the code as it was: the failing tests are questioned"
    )
    assert "the coder answered with an empty code block: taken as the code kept as it was" in lines
    assert models.counts["coder"] == 3


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


def test_a_repair_whose_answers_all_do_worse_keeps_the_code_it_was_given(tmp_path: Path) -> None:
    # HALF passes one of the spec's examples; both answers of the first repair pass none.
    _, store, run, _ = build_with_coder(
        tmp_path, [HALF, WRONG, WRONG_OTHER, RIGHT], LOCALFACTORY_FACTORY__REPAIR_CANDIDATES="2"
    )
    assert run.status.value == "succeeded"
    assert reasons_of(store, run.id, "repair")[0] == (
        "no answer beat the code as it was: the failing tests are questioned (the code before "
        "the repair kept, no answer of 2 beat it: 2/4 tests pass; the first answer: 0/4 tests pass)"
    )
    # neither worse answer was ever committed: the code went from HALF straight to RIGHT
    ws = Workspace(tmp_path / "build" / "adder")
    history = ws.git("log", "-p", "--format=%s", "--", "adder.py")
    assert "return a - b\n" not in history.replace("else a - b", "") and "a * b" not in history
    assert "return a + b" in ws.git("show", "delivered:adder.py")


def test_after_a_failed_validation_answers_that_satisfy_fewer_users_do_not_replace_the_code(
    tmp_path: Path,
) -> None:
    # PARTIAL passes every test and some users' trajectories (sums of 1,500 or less);
    # OVERFIT passes every test too but satisfies no user.
    partial = RIGHT.replace(
        "    return a + b", "    if 1500 < a + b < 2000:\n        return 0\n    return a + b"
    )
    _, store, run, _ = build_with_coder(
        tmp_path, [partial, OVERFIT, WRONG, RIGHT], LOCALFACTORY_FACTORY__REPAIR_CANDIDATES="2"
    )
    assert run.status.value == "succeeded"
    assert reasons_of(store, run.id, "repair")[0].startswith(
        "no answer improved the code: the checks run again on it as it is (the code before the "
        "repair kept, no answer of 2 beat it: 4/4 tests pass, users' satisfaction "
    )
    ws = Workspace(tmp_path / "build" / "adder")
    assert "if a > 50" not in ws.git("log", "-p", "--format=%s", "--", "adder.py")
