"""The scrutiny validator's conclusions and feedback, on hand-made material and a scripted judge."""

from __future__ import annotations

import json

from localfactory.factory import checks as factory_checks
from localfactory.llm.call import ChatRequest
from localfactory.llm.router import Router
from localfactory.llm.scripted import ScriptedBackend
from localfactory.spec import Spec
from localfactory.validators.asking import Provenance, ask_router
from localfactory.validators.judge import Judge
from localfactory.validators.scrutiny import ScrutinyMaterial, ScrutinyValidator

SPEC = Spec.model_validate({
    "name": "ages", "kind": "library",
    "interface": {"module": "ages", "functions": ["parse_age(text: str) -> int"]},
    "acceptance": ["parse_age('42') returns 42", "parse_age('x') raises ValueError",
                   "parse_age('-1') raises ValueError"],
})  # fmt: skip
CODE = {"ages.py": "def parse_age(text: str) -> int:\n    return int(text)\n"}
TESTS = {
    "tests/test_ages.py": "from ages import parse_age\n\n"
    "def test_42():\n    assert parse_age('42') == 42\n\n"
    "def test_runs():\n    parse_age('7')\n"
}
WRITERS = Provenance(frozenset({"coder", "test_writer"}))


def judge(settings, decide) -> tuple[Judge, list[ChatRequest]]:
    """A judge whose verdicts come from ``decide(ask_text) -> 'pass' | 'fail' | 'flip'``."""
    seen: list[ChatRequest] = []
    flips: list[str] = []

    def answer(request: ChatRequest) -> str:
        seen.append(request)
        ask = request.messages[1].content.rsplit("### Question\n", 1)[1]
        v = decide(ask)
        if v == "flip":  # the first asking passes, the second fails
            flips.append(ask)
            v = "pass" if len(flips) == 1 else "fail"
        return json.dumps({"reasons": [f"checked: {ask[:30]}"], "verdict": v, "score": 0.5})

    router = Router(
        settings, make_backend=lambda b, m, s: ScriptedBackend(m, s, script=answer, chunk_size=999)
    )
    return Judge.from_settings(settings, ask_router(router)), seen


def material(**kw) -> ScrutinyMaterial:
    return ScrutinyMaterial(spec=SPEC, code=dict(CODE), tests=dict(TESTS), **kw)


def test_missed_criteria_empty_tests_and_failing_checks_become_concrete_feedback(settings):
    j, seen = judge(settings, lambda ask: "fail" if "-1" in ask else "pass")
    checks = factory_checks.CheckReport(
        tests=factory_checks.TestCounts(total=2, passed=1, failed=1), pytest_ok=False, ruff_ok=True,
        mypy_ok=True, feedback="", pytest_summary="pytest: 1 passed, 1 failed",
    )  # fmt: skip
    result = ScrutinyValidator(j).review(material(checks=checks), WRITERS)

    assert result.outcome == "fail"
    fb = result.feedback
    assert fb.startswith("A code review of the current version found problems to fix:")
    assert "- pytest: 1 passed, 1 failed" in fb
    assert "- tests/test_ages.py:6: test test_runs asserts nothing" in fb
    assert "acceptance criterion not met: parse_age('-1') raises ValueError" in fb
    assert "parse_age('x') raises ValueError (review" not in fb
    assert len(seen) == 2 * (3 + 1)
    assert result.summary.startswith("scrutiny fail: 2/3 criteria met by review")
    kinds = {f["kind"] for f in result.findings}
    assert kinds == {"check", "asserts-nothing", "criterion"}


def test_clean_work_passes_with_no_feedback(settings):
    j, _ = judge(settings, lambda ask: "pass")
    tests = {
        "tests/test_ages.py": "from ages import parse_age\n\ndef test_42():\n    assert parse_age('42') == 42\n"
    }
    result = ScrutinyValidator(j).review(
        ScrutinyMaterial(spec=SPEC, code=dict(CODE), tests=tests), WRITERS
    )
    assert (result.outcome, result.feedback) == ("pass", "")


def test_undecided_judgements_leave_the_verdict_undecided_not_passed(settings):
    j, _ = judge(settings, lambda ask: "flip" if "42" in ask else "pass")
    tests = {"tests/test_ages.py": "def test_a():\n    assert 1 + 1 == 2\n"}
    result = ScrutinyValidator(j).review(
        ScrutinyMaterial(spec=SPEC, code=dict(CODE), tests=tests), WRITERS
    )
    assert result.outcome == "undecided"
    assert result.undecided == 1 and result.needs_human == 1
    assert "1 undecided judgement(s)" in result.summary


def test_only_the_configured_number_of_criteria_is_judged_and_the_rest_is_said(settings):
    j, seen = judge(settings, lambda ask: "pass")
    result = ScrutinyValidator(j, max_criteria=1).review(material(), WRITERS)
    assert len(seen) == 2 * (1 + 1)
    assert "2 criteria not judged" in result.summary


def test_tests_changed_after_red_are_advice_after_the_blocking_problems(settings):
    j, _ = judge(settings, lambda ask: "pass")
    result = ScrutinyValidator(j).review(
        material(tests_changed_after_red=["tests/test_ages.py"]), WRITERS
    )
    fb = result.feedback
    assert fb.index("asserts nothing") < fb.index("Worth fixing too:") < fb.index("changed after")
