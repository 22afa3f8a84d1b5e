"""Judges: a small model checks one criterion, twice, and only an agreeing pair decides.

A :class:`Judge` asks each :class:`Question` two times: once as written, then with the
evidence in swapped order, the question rephrased, or both (``validators.second_asking``).
Answers are constrained to :data:`~localfactory.validators.verdict.VERDICT_SCHEMA` and
validated. Two valid, agreeing answers decide ``pass`` or ``fail``; anything else is
``undecided`` and is escalated to the ``validators.escalation_role`` (a stronger model, when
one is configured), asked the same pair. Still undecided, the judgement needs a human. An
undecided judgement is recorded as such and never counted as a pass or a fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from localfactory.errors import PromptTooLong
from localfactory.llm.call import Message
from localfactory.validators.asking import Ask, Provenance, check_independent
from localfactory.validators.judge_prompts import ANSWER_FORMAT, user_message
from localfactory.validators.verdict import (
    VERDICT_SCHEMA,
    InvalidVerdict,
    JudgeAnswer,
    Judgement,
    combine,
    parse_verdict,
)

if TYPE_CHECKING:
    from localfactory.config import Settings, ValidatorSettings

JUDGE_ROLE = "judge"


@dataclass(frozen=True)
class Question:
    """One criterion to judge, the evidence it is judged on, and two wordings of the ask."""

    key: str
    """Stable name in reports (``criterion-2``, ``scenario/bad-input/step-1``)."""
    criterion: str
    evidence: tuple[tuple[str, str], ...]
    """(label, text) blocks shown before the question, in this order the first time."""
    ask: str
    rephrased: str
    """The same question in other words, for the second asking."""


@dataclass(frozen=True)
class Framing:
    name: str
    evidence: tuple[tuple[str, str], ...]
    ask: str


def framings(question: Question, second_asking: str) -> tuple[Framing, Framing]:
    """The two askings of ``question``: as written, then swapped and/or rephrased."""
    swap = second_asking in ("swap", "both") and len(question.evidence) > 1
    rephrase = second_asking in ("rephrase", "both") or not swap
    evidence = tuple(reversed(question.evidence)) if swap else question.evidence
    name = "+".join(n for n, on in (("swapped", swap), ("rephrased", rephrase)) if on)
    first = Framing("first", question.evidence, question.ask)
    return first, Framing(name, evidence, question.rephrased if rephrase else question.ask)


class Judge:
    """Asks questions of the judge role (and, on disagreement, of the escalation role)."""

    def __init__(
        self,
        ask: Ask,
        *,
        role: str = JUDGE_ROLE,
        model: str | None = None,
        escalation_role: str | None = None,
        second_asking: str = "both",
        max_tokens: int = 160,
    ) -> None:
        self.ask = ask
        self.role = role
        self.model = model
        """The judge role's model, to tell when it also wrote the judged text."""
        self.escalation_role = escalation_role
        self.second_asking = second_asking
        self.max_tokens = max_tokens

    @classmethod
    def from_settings(
        cls, settings: Settings, ask: Ask, *, model: str | None = None, escalate: bool = True
    ) -> Judge:
        """The configured judge; escalation only when ``validators.escalation_role`` is a configured role."""
        v: ValidatorSettings = settings.validators
        escalation = v.escalation_role if escalate and v.escalation_role in settings.roles else None
        return cls(
            ask,
            model=model or settings.role(JUDGE_ROLE).model,
            escalation_role=escalation,
            second_asking=v.second_asking,
            max_tokens=v.judge_max_tokens,
        )

    def judge(self, question: Question, *, system: str, produced_by: Provenance) -> Judgement:
        """Ask ``question`` twice; escalate an undecided pair. Refuses a judge of its own role's text."""
        return self.judge_many([question], system=system, produced_by=produced_by)[0]

    def judge_many(
        self, questions: Sequence[Question], *, system: str, produced_by: Provenance
    ) -> list[Judgement]:
        """Judge several questions on shared evidence.

        Every first asking runs before any second one, so consecutive calls share their
        prompt's opening (the evidence) and a backend with a prefix cache evaluates it once.
        """
        same_model = check_independent(self.role, self.model, produced_by)
        pairs = self._pairs(self.role, questions, system)
        judgements = []
        for question, pair in zip(questions, pairs, strict=True):
            outcome, score, reasons = combine(pair)
            judgements.append(Judgement(
                key=question.key, criterion=question.criterion, outcome=outcome, score=score,
                reasons=reasons, answers=list(pair), same_model=same_model,
                consistent=outcome != "undecided",
            ))  # fmt: skip
        undecided = [(q, j) for q, j in zip(questions, judgements, strict=True)
                     if j.outcome == "undecided"]  # fmt: skip
        senior = self.escalation_role
        if senior is None or senior == self.role or senior in produced_by.roles:
            for _, j in undecided:
                j.needs_human = True
            return judgements
        second = self._pairs(senior, [q for q, _ in undecided], system)
        for (_, j), pair in zip(undecided, second, strict=True):
            j.answers += pair
            j.escalated_to = senior
            outcome, score, more = combine(pair)
            if outcome == "undecided":
                j.needs_human = True
                j.reasons = [*j.reasons, *more]
            else:
                j.outcome, j.score, j.reasons = outcome, score, more
        return judgements

    def _pairs(
        self, role: str, questions: Sequence[Question], system: str
    ) -> list[list[JudgeAnswer]]:
        askings = [framings(q, self.second_asking) for q in questions]
        firsts = [self._once(role, first, system) for first, _ in askings]
        seconds = [self._once(role, again, system) for _, again in askings]
        return [[a, b] for a, b in zip(firsts, seconds, strict=True)]

    def _once(self, role: str, framing: Framing, system: str) -> JudgeAnswer:
        messages = [
            Message(role="system", content=f"{system}\n\n{ANSWER_FORMAT}"),
            Message(role="user", content=user_message(framing.evidence, framing.ask)),
        ]
        try:
            reply = self.ask(role, messages, json_schema=VERDICT_SCHEMA, max_tokens=self.max_tokens)
        except PromptTooLong as exc:
            return JudgeAnswer(framing.name, role, None, "", None, exc.message)
        try:
            verdict = parse_verdict(reply.text)
        except InvalidVerdict as exc:
            problem = str(exc)
            if reply.finish_reason == "length":
                problem = f"the answer was cut off at {self.max_tokens} tokens ({problem})"
            return JudgeAnswer(framing.name, role, reply.model, reply.text, None, problem)
        return JudgeAnswer(framing.name, role, reply.model, reply.text, verdict)
