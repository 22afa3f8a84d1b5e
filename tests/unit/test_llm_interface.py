"""The chat-model interface, exercised through the scripted backend: streaming, options, records."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import ClassVar

import pytest

from localfactory.errors import ConfigError
from localfactory.llm import (
    ChatBackend,
    ChatResult,
    OptionsError,
    Response,
    backend_class,
    backends,
)
from localfactory.llm.call import ChatRequest
from localfactory.llm.registry import register_backend
from localfactory.llm.scripted import ScriptedBackend, ScriptExhausted


def test_text_streams_in_chunks_that_join_to_the_recorded_text(settings):
    backend = ScriptedBackend(settings=settings, script=["def add(a, b):\n    return a + b\n"])
    response = backend.chat("Write add().", role="coder")
    chunks = list(response)
    result = response.result()
    assert len(chunks) > 3
    assert "".join(chunks) == result.text == "def add(a, b):\n    return a + b\n"
    assert result.role == "coder"
    assert result.backend == "scripted"
    assert result.messages[0].role == "user" and result.messages[0].content == "Write add()."
    assert result.finish_reason == "stop"
    assert result.generated_tokens == len(chunks)
    assert result.prompt_tokens == 2
    assert 0 <= result.time_to_first_token_s <= result.total_s


def test_a_result_is_a_plain_record_that_round_trips(settings):
    backend = ScriptedBackend(settings=settings, script=['{"ok": true}'])
    result = backend.chat(
        [{"role": "system", "content": "Answer in JSON."}, {"role": "user", "content": "ok?"}],
        role="judge",
        options={"max_tokens": 50, "seed": 7},
        json_schema={"type": "object"},
    ).result()
    record = result.to_record()
    text = json.dumps(record)
    assert json.loads(text)["options"] == {
        "max_tokens": 50,
        "temperature": 0.0,
        "seed": 7,
        "stop": [],
        "repeat_penalty": 1.0,
        "runaway_lines": 12,
    }
    assert record["json_schema"] == {"type": "object"}
    assert record["role"] == "judge"
    assert ChatResult.model_validate(json.loads(text)) == result


def test_options_default_to_the_llm_settings(settings):
    settings.llm.max_tokens = 321
    options = ScriptedBackend(settings=settings).options()
    assert options.max_tokens == 321
    assert options.temperature == 0.0  # greedy unless asked otherwise
    assert options.stop == []


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ({"max_token": 5}, ["Unknown model option 'max_token'", "max_tokens"]),
        ({"temperature": 3}, ["Invalid model option 'temperature'"]),
        ({"max_tokens": 0}, ["Invalid model option 'max_tokens'"]),
    ],
)
def test_bad_options_are_refused_with_a_clear_message(settings, given, words):
    backend = ScriptedBackend(settings=settings, script=["x"])
    with pytest.raises(OptionsError) as caught:
        backend.chat("hi", options=given)
    for word in words:
        assert word in str(caught.value)
    assert backend.requests == []


def test_max_tokens_cuts_the_answer_and_says_so(settings):
    backend = ScriptedBackend(settings=settings, script=["abcdefghijklmnop"], chunk_size=2)
    result = backend.chat("go", options={"max_tokens": 3}).result()
    assert result.text == "abcdef"
    assert result.finish_reason == "length"
    assert result.generated_tokens == 3


def test_stop_strings_end_the_answer_before_them(settings):
    backend = ScriptedBackend(settings=settings, script=["first\n```\nsecond"])
    result = backend.chat("go", options={"stop": ["```"]}).result()
    assert result.text == "first\n"


def test_a_script_function_sees_each_request(settings):
    backend = ScriptedBackend(
        settings=settings, script=lambda req: f"{req.role}: {req.messages[-1].content.upper()}"
    )
    assert backend.chat("plan it", role="planner").text() == "planner: PLAN IT"
    assert [r.role for r in backend.requests] == ["planner"]


def test_running_out_of_script_is_an_assertion_not_a_silent_empty_answer(settings):
    backend = ScriptedBackend(settings=settings, script=["one"])
    backend.chat("a").text()
    with pytest.raises(ScriptExhausted):
        backend.chat("b").text()


def test_nothing_runs_until_the_response_is_read_and_reading_twice_replays(settings):
    backend = ScriptedBackend(settings=settings, script=["hello world"])
    response = backend.chat("hi")
    assert backend.requests == []
    first = list(response)
    assert list(response) == first
    assert len(backend.requests) == 1


class _PlainBackend(ChatBackend):
    name: ClassVar[str] = "plain-test"

    def execute(self, request: ChatRequest, response: Response) -> Iterator[str]:
        response.set_usage(prompt_tokens=1, generated_tokens=1)
        yield "plain"


def test_a_backend_without_json_schema_support_refuses_a_schema(settings):
    with pytest.raises(OptionsError, match="cannot constrain output to a JSON schema"):
        _PlainBackend("m", settings).chat("hi", json_schema={"type": "object"})
    assert _PlainBackend("m", settings).chat("hi").text() == "plain"


def test_messages_must_be_valid(settings):
    backend = ScriptedBackend(settings=settings, script=["x"])
    with pytest.raises(OptionsError, match="chat message is invalid"):
        backend.chat([{"role": "wizard", "content": "hi"}])
    with pytest.raises(OptionsError, match="at least one message"):
        backend.chat([])


def test_the_registry_holds_the_builtin_backends_and_names_the_known_ones():
    known = backends()
    assert {"embedded", "ollama", "scripted"} <= set(known)
    assert backend_class("embedded").supports_prefix_cache
    assert backend_class("ollama").supports_json_schema
    with pytest.raises(ConfigError, match=r"Known backends: .*embedded.*ollama"):
        backend_class("llamafile")


def test_two_backends_may_not_share_a_name():
    class Impostor(_PlainBackend):
        name: ClassVar[str] = "ollama"

    with pytest.raises(ConfigError, match="Two model backends are named 'ollama'"):
        register_backend(Impostor)
    assert backend_class("ollama").__name__ == "OllamaBackend"
