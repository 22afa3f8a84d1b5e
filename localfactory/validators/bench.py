"""``localfactory bench judge``: how far each judge model can be trusted, on a labelled set.

The calibration set (``calibration/*.yaml``, shipped with the package) holds small pieces of
code against one acceptance criterion, and program outputs against a fuzzy criterion, each
labelled pass or fail (each code item's label is checked by its ``probe``, an expression the
unit tests evaluate on the code; a judge never sees it). Every item is judged the way the
validators judge (the same prompts, asked twice), by each model alone (no escalation). Reported
side by side per model:

- agreement: items whose decided verdict matches the label (undecided ones do not agree);
- self-consistency: items whose two askings agreed with each other;
- undecided and invalid answers, and the time taken.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from localfactory.errors import UserError
from localfactory.validators import scrutiny_prompts, user_testing_prompts
from localfactory.validators.asking import Ask, Provenance, ask_router
from localfactory.validators.judge import Judge, Question
from localfactory.validators.scrutiny import criterion_question
from localfactory.validators.user_testing import Observation, question

if TYPE_CHECKING:
    from localfactory.config import Settings

CALIBRATION_DIR = Path(__file__).parent / "calibration"
WRITER = Provenance(frozenset({"coder"}))
"""The calibration code and outputs stand for what the coder would have written."""


@dataclass(frozen=True)
class CalibrationItem:
    id: str
    kind: Literal["code", "output"]
    label: Literal["pass", "fail"]
    question: Question
    system: str
    probe: str | None = None
    """For code: a Python expression, True exactly when the code meets the criterion (tests only)."""


def load_calibration(folder: Path = CALIBRATION_DIR) -> list[CalibrationItem]:
    """Every labelled item of the shipped set (code review items first)."""
    items: list[CalibrationItem] = []
    for raw in _items(folder / "code_review.yaml"):
        q = criterion_question(raw["id"], raw["criterion"], raw["code"], raw["spec"])
        probe = raw.get("probe")
        items.append(
            CalibrationItem(raw["id"], "code", raw["label"], q, scrutiny_prompts.SYSTEM, probe)
        )
    for raw in _items(folder / "program_outputs.yaml"):
        obs = Observation(raw["id"], 1, raw["criterion"], raw["action"], raw["observed"].rstrip())
        q = question(obs)
        items.append(
            CalibrationItem(raw["id"], "output", raw["label"], q, user_testing_prompts.SYSTEM)
        )
    return items


def _items(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return list(data["items"])


@dataclass
class ModelScore:
    model: str
    items: int = 0
    agreed: int = 0
    consistent: int = 0
    undecided: int = 0
    invalid: int = 0
    failed: int = 0
    """Items judged a decided fail (in the factory, only these send work back)."""
    failed_rightly: int = 0
    """Of those, the ones labelled fail."""
    labelled_fail: int = 0
    seconds: float = 0.0
    by_kind: dict[str, list[int]] = field(default_factory=dict)
    """kind → [agreed, items]."""
    error: str | None = None

    def rate(self, n: int, of: int | None = None) -> str:
        total = self.items if of is None else of
        return f"{n / total:.0%} ({n}/{total})" if total else "-"


@dataclass
class JudgeBench:
    scores: list[ModelScore]

    def lines(self) -> list[str]:
        head = (
            f"{'MODEL':<22} {'AGREEMENT':<13} {'SELF-CONSISTENT':<15} {'CODE':<9} {'OUTPUT':<9} "
            f"{'FAILS RIGHT':<13} {'BAD CAUGHT':<13} {'UNDECIDED':>9} {'INVALID':>7} {'TIME':>7}"
        )
        out = [head]
        for s in self.scores:
            if s.error:
                out.append(f"{s.model:<22} error: {s.error}")
                continue
            kinds = [f"{a}/{n}" for a, n in (s.by_kind.get(k, [0, 0]) for k in ("code", "output"))]
            out.append(
                f"{s.model:<22} {s.rate(s.agreed):<13} {s.rate(s.consistent):<15} {kinds[0]:<9} "
                f"{kinds[1]:<9} {s.rate(s.failed_rightly, s.failed):<13} "
                f"{s.rate(s.failed_rightly, s.labelled_fail):<13} "
                f"{s.undecided:>9} {s.invalid:>7} {s.seconds:>6.0f}s"
            )
        out.append(
            "Only a decided fail sends work back in the factory: FAILS RIGHT is how often such a "
            "verdict was right (a wrong one costs a repair round), BAD CAUGHT how much of the "
            "labelled-bad work it caught."
        )
        return out


def score_model(
    model: str, ask: Ask, items: list[CalibrationItem], settings: Settings,
    say: Callable[[str], None] = lambda _line: None,
) -> ModelScore:  # fmt: skip
    """Judge every item with ``model`` alone (no escalation) and count against the labels."""
    judge = Judge(
        ask,
        model=model,
        second_asking=settings.validators.second_asking,
        max_tokens=settings.validators.judge_max_tokens,
    )
    score = ModelScore(model)
    start = time.perf_counter()
    for item in items:
        j = judge.judge(item.question, system=item.system, produced_by=WRITER)
        agreed = j.outcome == item.label
        score.items += 1
        score.agreed += agreed
        score.consistent += j.consistent
        score.undecided += j.outcome == "undecided"
        score.invalid += sum(1 for a in j.answers if a.verdict is None)
        score.failed += j.outcome == "fail"
        score.failed_rightly += j.outcome == "fail" and item.label == "fail"
        score.labelled_fail += item.label == "fail"
        kind = score.by_kind.setdefault(item.kind, [0, 0])
        kind[0] += agreed
        kind[1] += 1
        say(f"{model}: {item.id} labelled {item.label}, judged {j.outcome}")
    score.seconds = time.perf_counter() - start
    return score


def run(
    settings: Settings,
    models: list[str],
    *,
    limit: int | None = None,
    say: Callable[[str], None] = lambda _line: None,
) -> JudgeBench:
    """Score each model on the calibration set (the first ``limit`` items of each kind, if given)."""
    from localfactory.llm.router import Router

    items = load_calibration()
    if limit is not None:
        items = first_of_each_kind(items, limit)
    router = Router(settings)
    scores = []
    for model in models:
        try:
            scores.append(score_model(model, ask_router(router, model=model), items, settings, say))
        except UserError as exc:
            scores.append(ModelScore(model, error=exc.message))
    return JudgeBench(scores)


def first_of_each_kind(items: list[CalibrationItem], limit: int) -> list[CalibrationItem]:
    """The first ``limit`` items of each kind (the set alternates labels, so an even limit is balanced)."""
    taken: dict[str, int] = {}
    out = []
    for item in items:
        if taken.get(item.kind, 0) < limit:
            out.append(item)
            taken[item.kind] = taken.get(item.kind, 0) + 1
    return out


def default_models(settings: Settings) -> list[str]:
    """The judge role's model, and the escalation role's when one is configured."""
    models = [settings.role("judge").model]
    senior = settings.roles.get(settings.validators.escalation_role)
    if senior is not None and senior.model not in models:
        models.append(senior.model)
    return models
