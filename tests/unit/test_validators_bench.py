"""The calibration set and how ``bench judge`` scores a judge against it (scripted answers)."""

from __future__ import annotations

import ast
import json
from collections import Counter
from collections.abc import Callable

import pytest

from localfactory.validators.asking import Reply
from localfactory.validators.bench import (
    CalibrationItem,
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
    assert Counter((i.kind, i.label) for i in items) == {
        ("code", "pass"): 20, ("code", "fail"): 20, ("output", "pass"): 12, ("output", "fail"): 12,
    }  # fmt: skip
    assert len({i.id for i in items}) == len(items)
    for item in items:
        if item.kind == "code":
            ast.parse(dict(item.question.evidence)["Code"])
    # the static review agrees with the label of the eval item
    code = dict(next(i for i in items if i.id == "calculate-eval").question.evidence)["Code"]
    assert [f.kind for f in review_sources({"calc.py": code})] == ["unsafe"]


def shared(item: CalibrationItem) -> tuple[str | None, ...]:
    """What the two items of a pair have in common: all of the question but what is judged."""
    evidence = dict(item.question.evidence)
    context = evidence.get("Specification") or evidence["What the user did"]
    return (item.question.criterion, context, item.probe)


def test_each_pair_is_a_pass_then_a_fail_on_the_same_question():
    """Pairs keep a judge honest about the one behaviour, and an even ``--limit`` balanced."""
    for kind in ("code", "output"):
        items = [i for i in load_calibration() if i.kind == kind]
        for good, bad in zip(items[::2], items[1::2], strict=True):
            assert (good.label, bad.label) == ("pass", "fail"), f"{good.id}, {bad.id}"
            assert shared(good) == shared(bad), f"{good.id} and {bad.id} ask different questions"


def raises(error: type[BaseException], fn: Callable[..., object], *args: object) -> bool:
    """Whether ``fn(*args)`` raises ``error`` (another exception, or none, is False)."""
    try:
        fn(*args)
    except error:
        return True
    except Exception:
        return False
    return False


def message(fn: Callable[..., object], *args: object) -> str:
    """What ``fn(*args)`` raised, as text ("" when it returned)."""
    try:
        fn(*args)
    except Exception as exc:
        return str(exc)
    return ""


@pytest.mark.parametrize(
    "item", [i for i in load_calibration() if i.kind == "code"], ids=lambda i: i.id
)
def test_each_code_items_probe_confirms_its_label(item: CalibrationItem):
    assert item.probe, f"{item.id} has no probe"
    namespace: dict[str, object] = {}
    exec(compile(dict(item.question.evidence)["Code"], item.id, "exec"), namespace)
    try:
        held = eval(item.probe, {**namespace, "raises": raises, "message": message})
    except Exception as exc:
        pytest.fail(f"{item.id}: the probe {item.probe!r} raised {exc!r}")
    assert bool(held) == (item.label == "pass"), (
        f"{item.id} is labelled {item.label}, but its probe {item.probe!r} is {held!r}"
    )


def test_a_judge_never_sees_the_probe(settings):
    items = [i for i in load_calibration() if i.kind == "code"]
    prompts: list[str] = []

    def ask(role, messages, *, json_schema, max_tokens):
        prompts.append("\n".join(m.content for m in messages))
        return Reply(json.dumps({"reasons": ["r"], "verdict": "pass", "score": 0.5}), "m")

    score_model("m", ask, items, settings)
    assert len(prompts) == 2 * len(items)
    for item in items:
        code = dict(item.question.evidence)["Code"].rstrip()
        assert sum(code in p for p in prompts) >= 2, item.id
        assert item.probe and not any(item.probe in p for p in prompts), item.id


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
