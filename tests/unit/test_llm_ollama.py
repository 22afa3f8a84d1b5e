"""The Ollama backend against a small loopback stand-in that speaks Ollama's NDJSON API."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from localfactory.config import OllamaSettings, RoleSettings, Settings
from localfactory.errors import BackendUnavailable, PromptTooLong
from localfactory.llm import Router
from localfactory.llm.ollama_backend import OllamaBackend
from localfactory.llm.scripted import ScriptedBackend

TAG_05B = "qwen2.5-coder:0.5b-instruct-q4_K_M"


class StubOllama(ThreadingHTTPServer):
    """Serves /api/tags, /api/show and streamed /api/chat; records every chat request body."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.models: list[str] = [TAG_05B]
        self.reply: list[str] = ["def ", "add(a, b):", "\n    return a + b"]
        self.done_reason = "stop"
        self.prompt_eval_count = 42
        self.chat_error: tuple[int, str] | None = None
        self.chats: list[dict[str, Any]] = []

    @property
    def host(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: StubOllama

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def _has(self, name: str) -> bool:
        return (name if ":" in name else f"{name}:latest") in self.server.models

    def _missing(self, name: str) -> None:
        self._json(404, {"error": f'model "{name}" not found, try pulling it first'})

    def do_GET(self) -> None:
        if self.path == "/api/tags":
            self._json(200, {"models": [{"name": m, "model": m} for m in self.server.models]})
        else:
            self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        body = self._body()
        stub = self.server
        if self.path == "/api/show":
            if not self._has(body.get("model", "")):
                return self._missing(body.get("model", ""))
            return self._json(200, {"details": {"family": "qwen2"}, "model_info": {}})
        if self.path != "/api/chat":
            return self._json(404, {"error": "not found"})
        stub.chats.append(body)
        if not self._has(body["model"]):
            return self._missing(body["model"])
        if stub.chat_error is not None:
            return self._json(*[stub.chat_error[0], {"error": stub.chat_error[1]}])
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.end_headers()
        for piece in stub.reply:
            self._line(
                {
                    "model": body["model"],
                    "message": {"role": "assistant", "content": piece},
                    "done": False,
                }
            )
        self._line(
            {
                "model": body["model"],
                "message": {"role": "assistant", "content": ""},
                "done": True,
                "done_reason": stub.done_reason,
                "prompt_eval_count": stub.prompt_eval_count,
                "eval_count": len(stub.reply),
                "total_duration": 2_000_000_000,
                "load_duration": 500_000_000,
                "prompt_eval_duration": 300_000_000,
                "eval_duration": 1_000_000_000,
            }
        )

    def _line(self, obj: dict[str, Any]) -> None:
        self.wfile.write(json.dumps(obj).encode() + b"\n")
        self.wfile.flush()


@pytest.fixture
def stub() -> Iterator[StubOllama]:
    server = StubOllama()
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
    )
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def ollama_settings(settings: Settings, host: str, **ollama: Any) -> Settings:
    settings.ollama = OllamaSettings(host=host, timeout_s=10, **ollama)
    return settings


def test_answers_stream_and_usage_comes_from_the_final_chunk(stub, settings):
    backend = OllamaBackend("qwen2.5-coder-0.5b", ollama_settings(settings, stub.host))
    response = backend.chat("Write add().", role="coder", options={"max_tokens": 100})
    chunks = list(response)
    result = response.result()
    assert chunks == stub.reply
    assert result.text == "def add(a, b):\n    return a + b"
    assert (result.prompt_tokens, result.generated_tokens) == (42, 3)
    assert result.cached_tokens is None  # Ollama does not say
    assert result.finish_reason == "stop"
    assert result.details["eval_s"] == pytest.approx(1.0)
    assert result.details["load_s"] == pytest.approx(0.5)


def test_every_call_sends_num_ctx_keep_alive_and_the_options(stub, settings):
    backend = OllamaBackend(
        "qwen2.5-coder-0.5b", ollama_settings(settings, stub.host, keep_alive="5m")
    )
    backend.chat("hi", options={"max_tokens": 77, "seed": 3, "stop": ["```"]}).text()
    sent = stub.chats[-1]
    assert sent["model"] == TAG_05B
    assert sent["stream"] is True
    assert sent["keep_alive"] == "5m"
    assert sent["messages"] == [{"role": "user", "content": "hi"}]
    assert sent["options"] == {
        "num_ctx": 8192,
        "num_predict": 77,
        "temperature": 0.0,
        "seed": 3,
        "stop": ["```"],
    }
    backend.chat("hi", options={"repeat_penalty": 1.1}).text()
    assert stub.chats[-1]["options"]["repeat_penalty"] == 1.1


def test_num_ctx_comes_from_the_manifest_unless_the_settings_change_it(stub, settings):
    stub.models = ["qwen2.5-coder:7b-instruct-q4_K_M", "qwen2.5-coder:7b"]
    backend = OllamaBackend("qwen2.5-coder-7b", ollama_settings(settings, stub.host))
    assert backend.num_ctx() == 16384
    assert (
        OllamaBackend(
            "qwen2.5-coder-7b", ollama_settings(settings, stub.host, num_ctx=4096)
        ).num_ctx()
        == 4096
    )


def test_a_json_schema_is_sent_as_format(stub, settings):
    schema = {"type": "object", "properties": {"pass": {"type": "boolean"}}, "required": ["pass"]}
    stub.reply = ['{"pass": ', "true}"]
    backend = OllamaBackend("qwen2.5-coder-0.5b", ollama_settings(settings, stub.host))
    result = backend.chat("verdict?", role="judge", json_schema=schema).result()
    assert stub.chats[-1]["format"] == schema
    assert json.loads(result.text) == {"pass": True}


def test_a_length_stop_is_reported(stub, settings):
    stub.done_reason = "length"
    backend = OllamaBackend("qwen2.5-coder-0.5b", ollama_settings(settings, stub.host))
    assert backend.chat("hi").result().finish_reason == "length"


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_server_down_says_where_and_how_to_start_it(settings):
    host = f"http://127.0.0.1:{_closed_port()}"
    backend = OllamaBackend("qwen2.5-coder-0.5b", ollama_settings(settings, host))
    with pytest.raises(BackendUnavailable) as caught:
        backend.chat("hi").text()
    message = str(caught.value)
    assert f"Cannot reach the Ollama server at {host}" in message
    assert "`ollama serve`" in message


def test_a_missing_model_gives_the_exact_commands(stub, settings):
    stub.models = ["llama3:8b"]
    backend = OllamaBackend("qwen2.5-coder-0.5b", ollama_settings(settings, stub.host))
    with pytest.raises(BackendUnavailable) as caught:
        backend.chat("hi").text()
    message = str(caught.value)
    assert f"does not have the model {TAG_05B}" in message
    assert f"`ollama pull {TAG_05B}`" in message
    assert "`localfactory models ollama-import qwen2.5-coder-0.5b`" in message
    assert stub.chats == []


def test_a_model_loaded_with_ollama_import_is_used_when_the_library_tag_is_absent(stub, settings):
    stub.models = ["localfactory-qwen2.5-coder-0.5b:latest"]
    backend = OllamaBackend("qwen2.5-coder-0.5b", ollama_settings(settings, stub.host))
    backend.chat("hi").text()
    assert stub.chats[-1]["model"] == "localfactory-qwen2.5-coder-0.5b"


def test_a_model_only_ollama_knows_is_used_by_its_own_name(stub, settings):
    stub.models = ["llama3:8b"]
    backend = OllamaBackend("llama3:8b", ollama_settings(settings, stub.host))
    assert backend.chat("hi").text() == "".join(stub.reply)
    assert stub.chats[-1]["options"]["num_ctx"] == 8192


def test_a_server_error_is_reported_with_its_message(stub, settings):
    stub.chat_error = (500, "llama runner process has terminated")
    backend = OllamaBackend("qwen2.5-coder-0.5b", ollama_settings(settings, stub.host))
    with pytest.raises(
        BackendUnavailable, match="failed the call: llama runner process has terminated"
    ):
        backend.chat("hi").text()


def test_a_prompt_that_filled_the_context_is_not_accepted_silently(stub, settings):
    stub.prompt_eval_count = 8100
    backend = OllamaBackend("qwen2.5-coder-0.5b", ollama_settings(settings, stub.host))
    with pytest.raises(PromptTooLong) as caught:
        backend.chat("hi", options={"max_tokens": 200}).text()
    assert caught.value.over == 8100 - (8192 - 200)


def test_the_router_falls_back_to_the_embedded_model_when_the_server_is_down(settings):
    host = f"http://127.0.0.1:{_closed_port()}"
    ollama_settings(settings, host)
    settings.roles["judge"] = RoleSettings(model="qwen2.5-coder-0.5b", backend="ollama")
    local = ScriptedBackend("qwen2.5-coder-0.5b", settings, script=["PASS"])

    def make(backend: str, model: str, s: Settings):
        return OllamaBackend(model, s) if backend == "ollama" else local

    result = Router(settings, make_backend=make).chat("judge", "verdict?")
    assert result.text == "PASS"
    assert result.fallback_reason is not None
    assert f"Cannot reach the Ollama server at {host}" in result.fallback_reason
