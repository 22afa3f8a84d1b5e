"""Judges on the real Qwen2.5-Coder-0.5B: schema-valid verdicts, a fresh context, a planted doubt.

Greedy decoding makes each answer reproducible; the cases are chosen so that the model's
answers are clear-cut (a program that printed what was asked, one that printed an error).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from localfactory.config import RoleSettings
from localfactory.factory import prompts as factory_prompts
from localfactory.llm import Message, Router
from localfactory.llm.engine import unload_all
from localfactory.validators import user_testing_prompts
from localfactory.validators.asking import Provenance, Reply, ask_router
from localfactory.validators.judge import Judge
from localfactory.validators.user_testing import Observation, question
from localfactory.validators.verdict import MAX_REASON_CHARS, MAX_REASONS, SCORES

pytestmark = pytest.mark.integration

CRITERION = "the program printed the number 4"
ACTION = "ran the command: add 2 2"
PRINTED_4 = "exit status 0\nstandard output:\n4\nstandard error:\n(nothing)"
FAILED = "exit status 1\nstandard output:\n(nothing)\nstandard error:\nerror: file not found"


@pytest.fixture
def settings(real_model):
    s = real_model.settings.model_copy(deep=True)
    s.roles["coder"] = RoleSettings(model=real_model.name)  # the judge's own model writes too
    return s


class Recording:
    """An ask that keeps each reply (to read the cache figures the backend reported)."""

    def __init__(self, ask: Any, rewrite: Any = None) -> None:
        self.ask, self.rewrite, self.replies = ask, rewrite, list[Reply]()

    def __call__(self, role: str, messages: Sequence[Message], **kw: Any) -> Reply:
        if self.rewrite is not None:
            messages = self.rewrite(len(self.replies), messages)
        reply = self.ask(role, messages, **kw)
        self.replies.append(reply)
        return reply


def test_a_judge_on_the_coders_model_starts_fresh_and_gives_schema_valid_verdicts(settings):
    unload_all()  # no saved state of any role from earlier tests
    router = Router(settings)
    coder = router.chat(
        "coder",
        [Message(role="system", content=factory_prompts.SYSTEM),
         Message(role="user", content=f"Write a command `add` for which: {CRITERION}.")],
        options={"max_tokens": 8},
    )  # fmt: skip
    assert coder.model == settings.role("judge").model

    ask = Recording(ask_router(router))
    judge = Judge.from_settings(settings, ask)
    judge.max_tokens = 96
    j = judge.judge(
        question(Observation("add", 1, CRITERION, ACTION, PRINTED_4)),
        system=user_testing_prompts.SYSTEM,
        produced_by=Provenance.of(settings, "coder"),
    )

    assert j.same_model is True
    # Right after the coder's call, the judge reused nothing of the coder's context but the
    # chat template's opening tokens; its second asking reused its own first one's system prompt.
    first, second = (r.cached_tokens for r in ask.replies)
    assert first is not None and first <= 3
    assert second is not None and second > 20
    for answer in j.answers:
        assert answer.verdict is not None, answer.problem
        assert answer.verdict.score in SCORES
        assert 1 <= len(answer.verdict.reasons) <= MAX_REASONS
        assert all(len(r) <= MAX_REASON_CHARS for r in answer.verdict.reasons)
    assert (j.outcome, j.consistent) == ("pass", True)


def test_a_planted_inconsistency_in_a_real_pair_is_undecided_and_goes_to_a_human(settings):
    def plant(n: int, messages: Sequence[Message]) -> Sequence[Message]:
        if n == 0:  # the first asking sees the failure, the second the right output
            return [
                messages[0],
                Message(role="user", content=messages[1].content.replace(PRINTED_4, FAILED)),
            ]
        return messages

    unload_all()  # a cold start: answers do not depend on what earlier tests left cached
    ask = Recording(ask_router(Router(settings)), rewrite=plant)
    judge = Judge.from_settings(settings, ask)
    judge.max_tokens = 96
    j = judge.judge(
        question(Observation("add", 1, CRITERION, ACTION, PRINTED_4)),
        system=user_testing_prompts.SYSTEM,
        produced_by=Provenance.of(settings, "coder"),
    )
    verdicts = [a.verdict.verdict if a.verdict else None for a in j.answers]
    assert verdicts == ["fail", "pass"]
    assert (j.outcome, j.consistent, j.needs_human, j.escalated_to) == (
        "undecided", False, True, None,
    )  # fmt: skip
