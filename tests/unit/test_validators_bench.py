"""The calibration set and how ``bench judge`` scores a judge against it (scripted answers)."""

from __future__ import annotations

import ast
import json
from collections import Counter

from localfactory.validators.asking import Reply
from localfactory.validators.bench import (
    JudgeBench,
    ModelScore,
    default_models,
    first_of_each_kind,
    load_calibration,
    score_model,
)
from localfactory.validators.static_review import review_sources


def test_the_shipped_set_is_balanced_and_its_code_is_python():
    items = load_calibration()
    assert 20 <= len(items) <= 40
    assert Counter((i.kind, i.label) for i in items) == {
        ("code", "pass"): 8, ("code", "fail"): 8, ("output", "pass"): 6, ("output", "fail"): 6,
    }  # fmt: skip
    assert len({i.id for i in items}) == len(items)
    for item in items:
        if item.kind == "code":
            ast.parse(dict(item.question.evidence)["Code"])
    # the static review agrees with the label of the eval item
    code = dict(next(i for i in items if i.id == "calculate-eval").question.evidence)["Code"]
    assert [f.kind for f in review_sources({"calc.py": code})] == ["unsafe"]


def judged(item) -> str:
    evidence = dict(item.question.evidence)
    return evidence.get("Code") or evidence["What the program showed"]


def oracle(labels: dict[str, str], flip: set[str]):
    """An ask that answers each item's label, except items in ``flip`` (pass, then fail)."""
    asked: Counter[str] = Counter()

    def ask(role, messages, *, json_schema, max_tokens):
        text = messages[1].content
        item = next(k for k in labels if k in text)
        asked[item] += 1
        verdict = labels[item]
        if item in flip:
            verdict = "pass" if asked[item] == 1 else "fail"
        return Reply(json.dumps({"reasons": ["r"], "verdict": verdict, "score": 0.5}), "m")

    return ask


def test_agreement_and_self_consistency_are_counted_per_model(settings):
    items = first_of_each_kind(load_calibration(), 2)
    assert [i.kind for i in items] == ["code", "code", "output", "output"]
    # the oracle tells items apart by what is judged (pairs share their criterion)
    labels = {judged(i): i.label for i in items}
    labels[judged(items[1])] = "pass"  # the judge gets the failing slugify wrong, consistently
    flip_key = judged(items[3])
    score = score_model("m", oracle(labels, {flip_key}), items, settings)

    assert (score.items, score.agreed, score.consistent, score.undecided) == (4, 2, 3, 1)
    assert score.by_kind == {"code": [1, 2], "output": [1, 2]}
    lines = JudgeBench([score, ModelScore("qwen2.5-coder-7b", error="not installed")]).lines()
    assert lines[0].split() == [
        "MODEL", "AGREEMENT", "SELF-CONSISTENT", "CODE", "OUTPUT", "FAILS", "RIGHT", "BAD",
        "CAUGHT", "UNDECIDED", "INVALID", "TIME",
    ]  # fmt: skip
    # no decided fail at all: nothing was sent back, and none of the two bad items was caught
    assert lines[1].split()[:10] == [
        "m", "50%", "(2/4)", "75%", "(3/4)", "1/2", "1/2", "-", "0%", "(0/2)",
    ]  # fmt: skip
    assert lines[2] == f"{'qwen2.5-coder-7b':<22} error: not installed"


def test_fails_right_and_bad_caught_measure_what_a_send_back_is_worth(settings):
    items = first_of_each_kind(load_calibration(), 2)
    labels = {judged(i): i.label for i in items}
    labels[judged(items[0])] = "fail"  # good code judged bad: a wrong send-back
    score = score_model("m", oracle(labels, set()), items, settings)
    # decided fails: the good slugify (wrong), the bad slugify and the bad output (right)
    assert (score.failed, score.failed_rightly, score.labelled_fail) == (3, 2, 2)
    row = JudgeBench([score]).lines()[1].split()
    assert row[7:11] == ["67%", "(2/3)", "100%", "(2/2)"]


def test_the_default_models_are_the_judge_and_the_senior_judge(settings):
    from localfactory.config import RoleSettings

    assert default_models(settings) == ["qwen2.5-coder-0.5b"]
    settings.roles["senior_judge"] = RoleSettings(model="qwen2.5-coder-1.5b")
    assert default_models(settings) == ["qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"]
