"""Judges on a scripted backend: pairs, consistency, escalation, invalid answers, independence."""

from __future__ import annotations

import json

import pytest

from localfactory.config import RoleSettings, Settings
from localfactory.factory import prompts as factory_prompts
from localfactory.llm import Router
from localfactory.llm.call import ChatRequest
from localfactory.llm.scripted import ScriptedBackend
from localfactory.validators import scrutiny_prompts, user_testing_prompts
from localfactory.validators.asking import NotIndependent, Provenance, ask_router
from localfactory.validators.judge import Judge, Question
from localfactory.validators.verdict import VERDICT_SCHEMA, overall, parse_verdict

WRITER = Provenance(frozenset({"coder"}), frozenset({"qwen2.5-coder-1.5b"}))
QUESTION = Question(
    key="criterion-1",
    criterion="parse_age('x') raises ValueError",
    evidence=(
        ("Code", "def parse_age(t): return int(t)"),
        ("Specification", "parse_age(t) -> int"),
    ),
    ask="Requirement: parse_age('x') raises ValueError\nDoes the code meet it?",
    rephrased="Check again: parse_age('x') raises ValueError. Is it satisfied?",
)


def verdict(v: str, score: float = 0.9, reason: str = "looked at the code") -> str:
    return json.dumps({"reasons": [reason], "verdict": v, "score": score})


class Models:
    """Scripted answers per model: each model answers its list in order; requests are kept."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = {m: list(a) for m, a in answers.items()}
        self.requests: list[tuple[str, ChatRequest]] = []

    def backend(self, name: str, model: str, settings: Settings) -> ScriptedBackend:
        def answer(request: ChatRequest) -> str:
            self.requests.append((model, request))
            return self.answers[model].pop(0)

        return ScriptedBackend(model, settings, script=answer, chunk_size=1000)


def make_judge(settings: Settings, models: Models, **kw: object) -> Judge:
    router = Router(settings, make_backend=models.backend)
    return Judge.from_settings(settings, ask_router(router), **kw)  # type: ignore[arg-type]


def with_senior(settings: Settings) -> Settings:
    settings.roles["senior_judge"] = RoleSettings(model="qwen2.5-coder-7b")
    return settings


def test_two_agreeing_answers_decide_and_the_second_is_swapped_and_rephrased(settings):
    models = Models(
        {"qwen2.5-coder-0.5b": [verdict("fail", 0.2), verdict("fail", 0.0, "no check")]}
    )
    j = make_judge(settings, models).judge(QUESTION, system="Judge.", produced_by=WRITER)

    assert (j.outcome, j.score, j.consistent, j.needs_human) == ("fail", 0.1, True, False)
    assert j.reasons == ["looked at the code", "no check"]
    assert [a.framing for a in j.answers] == ["first", "swapped+rephrased"]
    first, second = (r.messages[1].content for _, r in models.requests)
    assert first.index("### Code") < first.index("### Specification")
    assert second.index("### Specification") < second.index("### Code")
    assert QUESTION.ask in first and QUESTION.rephrased in second
    assert all(r.json_schema == VERDICT_SCHEMA for _, r in models.requests)
    assert all(r.role == "judge" for _, r in models.requests)


@pytest.mark.parametrize(
    ("mode", "swapped", "rephrased"),
    [("swap", True, False), ("rephrase", False, True), ("both", True, True)],
)
def test_the_second_asking_follows_the_setting(settings, mode, swapped, rephrased):
    settings.validators.second_asking = mode
    models = Models({"qwen2.5-coder-0.5b": [verdict("pass"), verdict("pass")]})
    make_judge(settings, models).judge(QUESTION, system="Judge.", produced_by=WRITER)
    second = models.requests[1][1].messages[1].content
    assert (second.index("### Specification") < second.index("### Code")) is swapped
    assert (QUESTION.rephrased in second) is rephrased


def test_an_inconsistent_pair_is_undecided_needs_a_human_and_is_never_counted(settings):
    models = Models({"qwen2.5-coder-0.5b": [verdict("pass"), verdict("fail")]})
    j = make_judge(settings, models).judge(QUESTION, system="Judge.", produced_by=WRITER)

    assert (j.outcome, j.score, j.consistent, j.needs_human) == ("undecided", None, False, True)
    assert j.escalated_to is None
    assert "answered pass when first asked and fail when asked again" in j.reasons[0]
    assert overall(False, [j]) == "undecided"


def test_an_undecided_pair_is_escalated_to_the_senior_role_which_decides(settings):
    models = Models({
        "qwen2.5-coder-0.5b": [verdict("pass"), verdict("fail")],
        "qwen2.5-coder-7b": [verdict("fail", 0.1, "int('x') raises"), verdict("fail", 0.3)],
    })  # fmt: skip
    j = make_judge(with_senior(settings), models).judge(QUESTION, system="J", produced_by=WRITER)

    assert (j.outcome, j.escalated_to, j.needs_human) == ("fail", "senior_judge", False)
    assert j.consistent is False  # the first judge's own pair disagreed: the bench counts it
    assert j.score == 0.2
    assert [(a.role, a.model) for a in j.answers] == [
        ("judge", "qwen2.5-coder-0.5b"), ("judge", "qwen2.5-coder-0.5b"),
        ("senior_judge", "qwen2.5-coder-7b"), ("senior_judge", "qwen2.5-coder-7b"),
    ]  # fmt: skip


def test_a_senior_that_disagrees_with_itself_leaves_the_judgement_to_a_human(settings):
    models = Models({
        "qwen2.5-coder-0.5b": [verdict("pass"), verdict("fail")],
        "qwen2.5-coder-7b": [verdict("fail"), verdict("pass")],
    })  # fmt: skip
    j = make_judge(with_senior(settings), models).judge(QUESTION, system="J", produced_by=WRITER)
    assert (j.outcome, j.escalated_to, j.needs_human) == ("undecided", "senior_judge", True)
    assert len(j.answers) == 4


def test_no_escalation_to_a_senior_role_that_wrote_the_text(settings):
    models = Models({"qwen2.5-coder-0.5b": [verdict("pass"), verdict("fail")]})
    judge = make_judge(with_senior(settings), models)
    j = judge.judge(QUESTION, system="J", produced_by=Provenance(frozenset({"senior_judge"})))
    assert (j.outcome, j.needs_human, len(j.answers)) == ("undecided", True, 2)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('{"reasons": ["ok"], "verdict": "pa', "not JSON"),
        ('{"reasons": ["ok"], "verdict": "pass", "score": 1.7}', "score"),
        ('{"reasons": [" "], "verdict": "pass", "score": 1}', "empty"),
        ('{"reasons": ["ok"], "verdict": "maybe", "score": 0.5}', "verdict"),
    ],
)
def test_an_invalid_answer_never_becomes_a_verdict(settings, text, problem):
    models = Models({"qwen2.5-coder-0.5b": [verdict("pass"), text]})
    j = make_judge(settings, models).judge(QUESTION, system="J", produced_by=WRITER)
    assert j.outcome == "undecided"
    assert j.answers[1].verdict is None
    assert problem in (j.answers[1].problem or "")


def test_a_judge_refuses_text_its_own_role_wrote(settings):
    models = Models({"qwen2.5-coder-0.5b": []})
    judge = make_judge(settings, models)
    with pytest.raises(NotIndependent, match="cannot judge text it wrote itself"):
        judge.judge(QUESTION, system="J", produced_by=Provenance(frozenset({"judge", "coder"})))
    assert models.requests == []


def test_a_judge_on_the_writers_model_is_marked_and_starts_from_its_own_prompt(settings):
    settings.roles["coder"] = RoleSettings(model="qwen2.5-coder-0.5b")
    models = Models({"qwen2.5-coder-0.5b": [verdict("pass"), verdict("pass")]})
    j = make_judge(settings, models).judge(
        QUESTION, system=scrutiny_prompts.SYSTEM, produced_by=Provenance.of(settings, "coder")
    )
    assert j.same_model is True
    # A fresh context: the judge's conversation is its own, and shares no opening text with the
    # generating roles' prompt, so no KV state of the writer can be reused for it.
    for _, request in models.requests:
        assert request.role == "judge"
        system = request.messages[0].content
        assert system[:1] != factory_prompts.SYSTEM[:1]
    assert user_testing_prompts.SYSTEM[:1] != factory_prompts.SYSTEM[:1]


def test_many_questions_ask_every_first_framing_before_any_second_one(settings):
    q2 = Question("criterion-2", "c2", QUESTION.evidence, "ask two", "ask two again")
    models = Models({"qwen2.5-coder-0.5b": [verdict("pass")] * 4})
    out = make_judge(settings, models).judge_many([QUESTION, q2], system="J", produced_by=WRITER)
    asks = [r.messages[1].content.rsplit("### Question\n", 1)[1] for _, r in models.requests]
    assert asks == [QUESTION.ask, "ask two", QUESTION.rephrased, "ask two again"]
    assert [j.outcome for j in out] == ["pass", "pass"]


def test_parse_verdict_keeps_the_schema_fields():
    v = parse_verdict(verdict("pass", 0.7, "returns 42"))
    assert (v.verdict, v.score, v.reasons) == ("pass", 0.7, ["returns 42"])


def test_the_schema_lists_scores_llama_cpp_can_enforce():
    assert VERDICT_SCHEMA["properties"]["score"]["enum"][0] == 0.0
    assert VERDICT_SCHEMA["properties"]["score"]["enum"][-1] == 1.0
    assert VERDICT_SCHEMA["properties"]["verdict"]["enum"] == ["pass", "fail"]
