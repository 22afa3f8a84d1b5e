"""The embedded backend on the real Qwen2.5-Coder-0.5B GGUF (loaded once for the session)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from localfactory.errors import PromptTooLong
from localfactory.llm import Message
from localfactory.llm.embedded import EmbeddedBackend

pytestmark = pytest.mark.integration

CODER = [
    Message(
        role="system",
        content="You are the coder of a software factory. You write small, correct Python "
        "functions with type hints and a one-line docstring, using only the standard library. "
        "Answer with code only. The module you work on is `shapes.py`; it computes areas and "
        "perimeters of circles, squares and right triangles, and raises ValueError for negative sizes.",
    ),
    Message(role="user", content="Write area_of_circle(r: float) -> float."),
]
JUDGE = [
    Message(role="system", content="You are a strict judge. Answer PASS or FAIL."),
    Message(role="user", content="Scenario: area_of_circle(1) is about 3.14. Output: 3.14159"),
]


@pytest.fixture(scope="session")
def embedded(real_model) -> EmbeddedBackend:
    backend = EmbeddedBackend(real_model.name, real_model.settings)
    backend.engine()  # load the model once for every test here
    return backend


def test_streaming_yields_several_chunks_that_join_to_the_final_text(embedded):
    response = embedded.chat(CODER, role="coder", options={"max_tokens": 24})
    chunks = list(response)
    result = response.result()
    assert len(chunks) >= 5
    assert "".join(chunks) == result.text
    assert "def area_of_circle" in result.text
    assert result.finish_reason == "length"
    assert result.generated_tokens == 24
    assert result.prompt_tokens > 50
    assert result.tokens_per_s > 0
    assert 0 < result.time_to_first_token_s < result.total_s
    assert (result.backend, result.model) == ("embedded", "qwen2.5-coder-0.5b")


def test_json_schema_output_parses_and_follows_the_schema(embedded):
    schema = {
        "type": "object",
        "properties": {
            "verdict": {"type": "string", "enum": ["PASS", "FAIL"]},
            "confidence": {"type": "integer", "minimum": 0, "maximum": 10},
        },
        "required": ["verdict", "confidence"],
        "additionalProperties": False,
    }
    result = embedded.chat(
        [*JUDGE[:1], Message(role="user", content="Is 2 + 2 equal to 4? Answer in JSON.")],
        role="judge",
        json_schema=schema,
        options={"max_tokens": 40},
    ).result()
    assert result.finish_reason == "stop"
    verdict = json.loads(result.text)
    assert set(verdict) == {"verdict", "confidence"}
    assert verdict["verdict"] in ("PASS", "FAIL")
    assert isinstance(verdict["confidence"], int) and 0 <= verdict["confidence"] <= 10


def test_an_oversized_prompt_is_refused_saying_by_how_many_tokens(embedded):
    engine = embedded.engine()
    huge = [Message(role="user", content="Summarise: " + "the quick brown fox " * 1200)]
    prompt_tokens = len(engine.render(huge).tokens)
    evaluated_before = engine.llama.n_tokens
    with pytest.raises(PromptTooLong) as caught:
        embedded.chat(huge, options={"max_tokens": 100}).text()
    error = caught.value
    assert error.prompt_tokens == prompt_tokens
    assert error.limit == engine.n_ctx - 100
    assert error.over == prompt_tokens - (engine.n_ctx - 100) > 0
    assert f"{error.over} more than the {error.limit}" in str(error)
    assert engine.llama.n_tokens == evaluated_before  # nothing was evaluated, nothing cut


def _coder_judge_coder(backend: EmbeddedBackend):
    first = backend.chat(CODER, role="coder", options={"max_tokens": 12}).result()
    backend.chat(JUDGE, role="judge", options={"max_tokens": 3}).result()
    follow_up = [
        *CODER,
        Message(role="assistant", content=first.text),
        Message(role="user", content="Now write area_of_square(side: float) -> float."),
    ]
    back = backend.chat(follow_up, role="coder", options={"max_tokens": 6}).result()
    return first, back


def test_a_role_returning_after_another_finds_its_prefix_cached_only_with_role_states(real_model):
    managed = EmbeddedBackend(real_model.name, real_model.settings)
    plain = EmbeddedBackend(real_model.name, real_model.settings, manage_prefix_cache=False)
    assert managed.engine() is plain.engine()  # one Llama per model per process

    first, back = _coder_judge_coder(managed)
    assert back.details["role_state_restored"] is True
    assert back.cached_tokens is not None and back.cached_tokens >= first.prompt_tokens

    _, back_plain = _coder_judge_coder(plain)
    assert back_plain.details["role_state_restored"] is False
    assert back_plain.cached_tokens is not None and back_plain.cached_tokens < 10

    # A restored state gives the answer a cold evaluation gives (greedy decoding).
    assert back.text == back_plain.text


def test_ask_streams_the_answer_and_prints_a_summary_line(real_model, tmp_path):
    env = {**os.environ, "LOCALFACTORY_LLM__CONTEXT_LENGTH": "2048"}
    done = subprocess.run(
        [sys.executable, "-m", "localfactory", "ask", "--role", "judge", "--max-tokens", "12",
         "Write a Python expression that adds 2 and 3."],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    summary = done.stderr.strip().splitlines()[-1]
    assert summary.startswith("qwen2.5-coder-0.5b via embedded (judge):")
    for part in ("prompt tokens", "cached", "12 generated", "first token", "tokens/s"):
        assert part in summary


def test_a_runaway_answer_is_ended_early_and_the_engine_answers_again_after(embedded):
    counting = [
        Message(
            role="user",
            content="Write the sentence 'The factory builds software.' 40 times, one per "
            "line, numbered 1. to 40.",
        )
    ]
    result = embedded.chat(
        counting, role="coder", options={"max_tokens": 900, "runaway_lines": 8}
    ).result()
    assert "8 lines in a loop" in result.details["runaway"]
    assert result.finish_reason == "length"
    assert result.text.count("The factory builds software.") == 8
    assert result.generated_tokens < 100  # of the ~300 a whole answer takes
    again = embedded.chat(CODER, role="coder", options={"max_tokens": 8}).result()
    assert again.generated_tokens == 8  # llama.cpp was released and reset
