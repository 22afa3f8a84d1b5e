"""What a judge answers, and what a judgement and a validator conclude.

A judge answers one question with a :class:`JudgeVerdict`: ``verdict`` (pass or fail),
``score`` (0 to 1, how far the criterion is met) and ``reasons`` (a few short sentences).
The answer is constrained by :data:`VERDICT_SCHEMA` (the backend turns it into a grammar,
so it always parses) and validated anyway: a backend without grammar support, or an answer
cut off by the token cap, gives an invalid answer, never a guessed verdict.

Every question is asked twice (see :mod:`localfactory.validators.judge`); the pair makes a
:class:`Judgement` whose outcome is ``pass``, ``fail`` or ``undecided``. An undecided
judgement is never counted as a pass or a fail: it is escalated, and if it stays undecided
it needs a human.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Outcome = Literal["pass", "fail", "undecided"]

SCORES = [round(i / 10, 1) for i in range(11)]
"""Scores a judge may give: llama.cpp's grammars cannot bound a number, an enum can."""

MAX_REASONS = 2
MAX_REASON_CHARS = 120

VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        # Reasons come first: a small model that writes them before deciding decides better.
        "reasons": {
            "type": "array",
            "items": {"type": "string", "maxLength": MAX_REASON_CHARS},
            "minItems": 1,
            "maxItems": MAX_REASONS,
        },
        "verdict": {"type": "string", "enum": ["pass", "fail"]},
        "score": {"type": "number", "enum": SCORES},
    },
    "required": ["reasons", "verdict", "score"],
    "additionalProperties": False,
}


class JudgeVerdict(BaseModel):
    """One valid answer of a judge."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    verdict: Literal["pass", "fail"]
    score: float = Field(ge=0.0, le=1.0)
    reasons: list[str] = Field(min_length=1, max_length=MAX_REASONS)


class InvalidVerdict(ValueError):
    """A judge's answer is not a verdict of the schema (cut off, not JSON, out of range)."""


def parse_verdict(text: str) -> JudgeVerdict:
    """The verdict in ``text``; :class:`InvalidVerdict` saying what is wrong otherwise."""
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidVerdict(
            "the answer is not JSON (cut off, or no grammar was applied)"
        ) from None
    try:
        verdict = JudgeVerdict.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "answer"
        raise InvalidVerdict(f"{where}: {first['msg']}") from None
    reasons = [r.strip() for r in verdict.reasons if r.strip()]
    if not reasons:
        raise InvalidVerdict("reasons: every reason is empty")
    return verdict.model_copy(update={"reasons": reasons})


@dataclass
class JudgeAnswer:
    """One asking of a question: how it was framed, who answered, what came back."""

    framing: str
    """``first``, or how the second asking differed (``swapped``, ``rephrased``, ``swapped+rephrased``)."""
    role: str
    model: str | None
    text: str
    verdict: JudgeVerdict | None
    problem: str | None = None
    """Why the answer is not a valid verdict (None when it is)."""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["verdict"] = None if self.verdict is None else self.verdict.model_dump()
        return data


@dataclass
class Judgement:
    """A question asked twice (and maybe escalated), and what the answers add up to."""

    key: str
    criterion: str
    outcome: Outcome
    score: float | None
    reasons: list[str]
    answers: list[JudgeAnswer] = field(default_factory=list)
    escalated_to: str | None = None
    """The role asked after the first judge disagreed with itself."""
    needs_human: bool = False
    """Undecided after every configured judge: a person must look."""
    same_model: bool = False
    """The judged text was written by the judge's own model (in another role, with a fresh context)."""

    consistent: bool = True
    """The first judge's two answers were valid and agreed (the self-consistency the bench reports)."""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["answers"] = [a.as_dict() for a in self.answers]
        return data


def combine(pair: list[JudgeAnswer]) -> tuple[Outcome, float | None, list[str]]:
    """What two answers to one question conclude: agreement decides, anything else is undecided."""
    verdicts = [a.verdict for a in pair if a.verdict is not None]
    if len(verdicts) < 2:
        problems = [a.problem for a in pair if a.problem]
        return "undecided", None, [f"an answer was not a valid verdict: {p}" for p in problems]
    first, second = verdicts[0], verdicts[1]
    if first.verdict != second.verdict:
        return (
            "undecided",
            None,
            [
                f"the judge answered {first.verdict} when first asked and {second.verdict} when asked again"
            ],
        )
    reasons: list[str] = []
    for reason in [*first.reasons, *second.reasons]:
        if reason.lower() not in (r.lower() for r in reasons):
            reasons.append(reason)
    return first.verdict, round((first.score + second.score) / 2, 3), reasons[:MAX_REASONS]


@dataclass
class ValidatorVerdict:
    """A validator's conclusion for one iteration, as stored in the run store."""

    validator: str
    """``scrutiny`` or ``user_testing``."""
    outcome: Outcome
    """``fail`` if anything failed; else ``undecided`` if a judgement is undecided; else ``pass``."""
    summary: str
    feedback: str
    """Concrete text for the repair loop (empty when there is nothing to fix)."""
    judgements: list[Judgement] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def undecided(self) -> int:
        return sum(1 for j in self.judgements if j.outcome == "undecided")

    @property
    def needs_human(self) -> int:
        return sum(1 for j in self.judgements if j.needs_human)

    def as_dict(self) -> dict[str, Any]:
        return {
            "validator": self.validator,
            "outcome": self.outcome,
            "summary": self.summary,
            "feedback": self.feedback,
            "undecided": self.undecided,
            "needs_human": self.needs_human,
            "judgements": [j.as_dict() for j in self.judgements],
            "findings": self.findings,
            "details": self.details,
        }


def overall(failed: bool, judgements: list[Judgement]) -> Outcome:
    """A validator's outcome: any failure fails; else any undecided judgement leaves it undecided."""
    if failed or any(j.outcome == "fail" for j in judgements):
        return "fail"
    if any(j.outcome == "undecided" for j in judgements):
        return "undecided"
    return "pass"
