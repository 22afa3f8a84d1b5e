"""The user-testing validator: the ``judge:`` scenario field, observing steps, and its verdicts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from localfactory.llm.call import ChatRequest
from localfactory.llm.router import Router
from localfactory.llm.scripted import ScriptedBackend
from localfactory.spec.scenario import load_scenario
from localfactory.validators.asking import Provenance, ask_router
from localfactory.validators.judge import Judge
from localfactory.validators.observe_driver import observe_job
from localfactory.validators.user_testing import (
    Observation,
    UserTestingValidator,
    describe_action,
    judged_scenarios,
)

CODER = Provenance(frozenset({"coder"}))


def judge(settings, verdicts: dict[str, str]) -> tuple[Judge, list[ChatRequest]]:
    """Verdicts by a word the observation contains (``{"field": "pass"}``); fail otherwise."""
    seen: list[ChatRequest] = []

    def answer(request: ChatRequest) -> str:
        seen.append(request)
        text = request.messages[1].content
        v = next((v for word, v in verdicts.items() if word in text), "fail")
        return json.dumps({"reasons": ["the message names no field"], "verdict": v, "score": 0.5})

    router = Router(
        settings, make_backend=lambda b, m, s: ScriptedBackend(m, s, script=answer, chunk_size=999)
    )
    return Judge.from_settings(settings, ask_router(router)), seen


def test_scenario_steps_may_carry_a_judge_criterion_and_old_ones_still_load(tmp_path: Path):
    path = tmp_path / "bad-age.yaml"
    path.write_text(
        "name: bad-age\nsteps:\n  - call: parse_age('x')\n    raises: ValueError\n"
        "    judge: the error message says which field is wrong\n  - call: parse_age('4')\n"
    )
    scenario = load_scenario(path)
    assert scenario.steps[0].judge == "the error message says which field is wrong"
    assert scenario.steps[1].judge is None
    plain = tmp_path / "plain.yaml"
    plain.write_text("name: plain\nsteps:\n  - call: parse_age('4')\n    expect: 4\n")
    assert judged_scenarios([scenario, load_scenario(plain)]) == [scenario]


def test_the_observer_records_values_errors_and_command_output_of_judged_steps(
    tmp_path: Path, monkeypatch
):
    monkeypatch.setattr(sys, "path", list(sys.path))  # the observer puts the workspace first
    (tmp_path / "agecheck_obs.py").write_text(
        "STATE = []\n"
        "def parse_age(text):\n"
        "    STATE.append(text)\n"
        "    if not text.isdigit():\n"
        "        raise ValueError(f'age must be digits, got {text!r}')\n"
        "    return int(text)\n"
        "def seen():\n    return list(STATE)\n"
        "def main():\n    import sys\n    print('usage: agecheck AGE', file=sys.stderr)\n"
        "    return 2\n"
        "if __name__ == '__main__':\n    raise SystemExit(main())\n"
    )
    job = {"kind": "library", "workspace": str(tmp_path), "scenario": "s", "module": "agecheck_obs",
           "steps": [{"call": "parse_age('x')", "judge": "names the field"},
                     {"call": "parse_age('7')"},
                     {"call": "seen()", "judge": "remembers both"}]}  # fmt: skip
    out = observe_job(job)
    assert out["observations"] == [
        {"step": 1, "observed": "raised ValueError: age must be digits, got 'x'"},
        {"step": 3, "observed": "returned ['x', '7']"},
    ]
    cli = {"kind": "cli", "workspace": str(tmp_path), "scenario": "c", "module": "agecheck_obs",
           "command": "agecheck", "steps": [{"run": "agecheck", "judge": "shows usage"}]}  # fmt: skip
    seen = observe_job(cli)["observations"][0]["observed"]
    assert seen.startswith("exit status 2\nstandard output:\n(nothing)")
    assert "standard error:\nusage: agecheck AGE" in seen
    sys.modules.pop("agecheck_obs", None)


def test_actions_are_told_as_a_user_would_tell_them():
    assert describe_action({"call": "parse_age('x')"}) == "called parse_age('x')"
    assert describe_action({"run": ["wc", "-l"], "stdin": "a\n"}) == (
        "ran the command: wc -l\nwith this standard input:\na\n"
    )
    assert describe_action({"request": "POST /users", "json": {"age": "x"}}) == (
        'sent the HTTP request POST /users with the JSON body {"age": "x"}'
    )


OBSERVED = [
    Observation("bad-age", 1, "the error message says which field is wrong", "called parse_age('x')",
                "raised ValueError: invalid literal for int()"),
    Observation("bad-age", 3, "the greeting is polite", "called greet('Ana')",
                "returned 'Hello, Ana, nice to meet you'"),
]  # fmt: skip


def test_judged_failures_name_the_scenario_and_step_without_source(settings):
    j, seen = judge(settings, {"nice to meet": "pass"})
    result = UserTestingValidator(j).review(
        OBSERVED, CODER, satisfaction={"overall": 1.0, "threshold": 1.0}
    )
    assert result.outcome == "fail"
    assert result.summary == "user testing fail: 1/2 judged criteria met"
    assert result.feedback == (
        "Users tried the software and were not satisfied:\n"
        "- scenario 'bad-age' step 1: a user was not satisfied: the message names no field"
    )
    assert len(seen) == 4
    first = seen[0].messages[1].content
    assert "### What the user did\ncalled parse_age('x')" in first
    assert "### What the program showed\nraised ValueError" in first


def test_strict_mode_says_only_how_many_checks_were_not_satisfied(settings):
    j, _ = judge(settings, {"nice to meet": "pass"})
    result = UserTestingValidator(j, strict=True).review(OBSERVED, CODER)
    assert result.feedback.startswith("1 of 3 checks by users")
    assert "bad-age" not in result.feedback and "field" not in result.feedback


def test_low_satisfaction_and_steps_that_could_not_be_tried_fail_without_asking(settings):
    j, seen = judge(settings, {})
    unreachable = Observation("s", 2, "clear", "ran x", "", problem="the service did not start")
    result = UserTestingValidator(j).review(
        [unreachable], CODER, satisfaction={"overall": 0.5, "threshold": 0.9}
    )
    assert seen == []
    assert result.outcome == "fail"
    assert "the holdout scenarios pass 50% of the time, below the target 90%." in result.feedback
    assert "step 2 could not be tried: the service did not start" in result.feedback


def test_nothing_to_judge_passes(settings):
    j, seen = judge(settings, {})
    result = UserTestingValidator(j).review([], CODER, satisfaction=None)
    assert (result.outcome, result.feedback, seen) == ("pass", "", [])
