"""The Ollama twin driven by the official ``ollama`` client: chat, generate, models, blobs, errors."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path

import httpx
import ollama
import pytest

from tests.twins.served import OllamaTwin

pytestmark = pytest.mark.integration

CODER = "coder:7b"
VERDICT = {
    "type": "object",
    "properties": {
        "verdict": {"type": "string", "enum": ["PASS", "FAIL"]},
        "confidence": {"type": "integer", "minimum": 1, "maximum": 10},
        "reasons": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    },
    "required": ["verdict", "confidence", "reasons"],
}


@pytest.fixture
def twin(ollama_twin: OllamaTwin) -> OllamaTwin:
    ollama_twin.seed(models=[{"name": CODER, "family": "qwen2", "parameter_size": "7.6B"}])
    return ollama_twin


def test_chat_streams_the_scripted_reply_piece_by_piece(twin: OllamaTwin) -> None:
    code = "def add(a: int, b: int) -> int:\n    return a + b\n"
    twin.seed(replies=[{"model": CODER, "contains": "add", "reply": code}])
    parts = list(
        twin.client().chat(
            model=CODER,
            messages=[
                {"role": "system", "content": "You write Python."},
                {"role": "user", "content": "Write add(a, b)."},
            ],
            stream=True,
        )
    )
    *pieces, final = parts
    assert len(pieces) >= 5 and not any(p.done for p in pieces)
    assert "".join(p.message.content or "" for p in pieces) == code
    assert final.done and final.done_reason == "stop" and final.message.content == ""
    assert final.eval_count == len(pieces)
    assert final.prompt_eval_count and final.prompt_eval_count > 10
    assert final.total_duration and final.total_duration >= (final.eval_duration or 0) >= 0


def test_whole_answers_and_generate(twin: OllamaTwin) -> None:
    twin.seed(replies=[{"endpoint": "generate", "reply": "blue, because of Rayleigh scattering"}])
    client = twin.client()
    whole = client.chat(model=CODER, messages=[{"role": "user", "content": "Hello there"}])
    assert whole.done and whole.message.role == "assistant"
    assert "Hello there" in (whole.message.content or "")
    generated = client.generate(model=CODER, prompt="Why is the sky blue?")
    assert generated.response == "blue, because of Rayleigh scattering"
    assert generated.context and len(generated.context) == (
        (generated.prompt_eval_count or 0) + (generated.eval_count or 0)
    )
    streamed = list(client.generate(model=CODER, prompt="Why is the sky blue?", stream=True))
    assert "".join(p.response or "" for p in streamed) == generated.response
    assert streamed[-1].done and streamed[-1].eval_count == len(streamed) - 1


def test_the_json_schema_format_is_honoured(twin: OllamaTwin) -> None:
    client = twin.client()
    judge = [{"role": "user", "content": "Does add(2, 2) return 4?"}]
    made_up = json.loads(client.chat(model=CODER, messages=judge, format=VERDICT).message.content)
    assert made_up == {"verdict": "PASS", "confidence": 1, "reasons": [""]}
    twin.seed(
        replies=[
            {
                "contains": "add(2, 2)",
                "json": {"verdict": "FAIL", "confidence": 9, "reasons": ["off by one"]},
                "times": 1,
            }
        ]
    )
    scripted = client.chat(model=CODER, messages=judge, format=VERDICT, stream=False)
    assert json.loads(scripted.message.content or "")["reasons"] == ["off by one"]
    twin.seed(replies=[{"contains": "add(2, 2)", "json": {"verdict": "MAYBE"}}])
    with pytest.raises(ollama.ResponseError) as broken:
        client.chat(model=CODER, messages=judge, format=VERDICT)
    assert (
        broken.value.status_code == 500
        and "does not follow the requested format" in broken.value.error
    )
    assert json.loads(client.generate(model=CODER, prompt="Anything", format="json").response) == {}


def test_num_predict_and_stop_end_the_answer_early(twin: OllamaTwin) -> None:
    twin.seed(replies=[{"reply": "one two three four five six\nEND seven eight"}])
    client = twin.client()
    asked = [{"role": "user", "content": "Count."}]
    capped = client.chat(model=CODER, messages=asked, options={"num_predict": 3})
    assert (capped.message.content, capped.done_reason, capped.eval_count) == (
        "one two three",
        "length",
        3,
    )
    stopped = client.chat(model=CODER, messages=asked, options={"stop": ["END"]})
    assert stopped.message.content == "one two three four five six\n"
    assert stopped.done_reason == "stop"


def test_list_show_and_running_models(twin: OllamaTwin) -> None:
    client = twin.client()
    listed = client.list().models
    assert [m.model for m in listed] == [CODER]
    assert listed[0].details and listed[0].details.parameter_size == "7.6B"
    shown = client.show(CODER)
    assert shown.details and shown.details.family == "qwen2"
    assert shown.modelinfo and shown.modelinfo["general.architecture"] == "qwen2"
    assert client.ps().models == []
    client.chat(
        model=CODER,
        messages=[{"role": "user", "content": "hi"}],
        options={"num_ctx": 16384},
        keep_alive="10m",
    )
    (running,) = client.ps().models
    assert running.model == CODER and running.context_length == 16384
    assert running.expires_at and 540 < running.expires_at.timestamp() - time.time() <= 600
    unloaded = client.chat(model=CODER, messages=[], keep_alive=0)
    assert unloaded.done_reason == "unload" and client.ps().models == []
    assert httpx.get(twin.url + "/api/version").json()["version"].count(".") == 2


def test_num_ctx_and_the_whole_request_are_in_the_journal(twin: OllamaTwin) -> None:
    twin.client().chat(
        model=CODER,
        messages=[{"role": "user", "content": "hi"}],
        options={"num_ctx": 8192, "temperature": 0},
        format=VERDICT,
        keep_alive="30m",
    )
    (entry,) = twin.journal("chat")
    assert entry["status"] == 200
    assert entry["args"]["options"] == {"num_ctx": 8192, "temperature": 0}
    assert (entry["args"]["format"], entry["args"]["keep_alive"]) == (VERDICT, "30m")


def test_a_missing_model_gets_ollamas_404(twin: OllamaTwin) -> None:
    asked = {"model": "llama3", "messages": [{"role": "user", "content": "hi"}]}
    answer = httpx.post(twin.url + "/api/chat", json=asked)
    assert answer.status_code == 404
    assert answer.json() == {"error": 'model "llama3" not found, try pulling it first'}
    client = twin.client()
    with pytest.raises(ollama.ResponseError) as streamed:
        list(client.chat(model="llama3", messages=[{"role": "user", "content": "hi"}], stream=True))
    assert streamed.value.status_code == 404
    with pytest.raises(ollama.ResponseError) as shown:
        client.show("llama3")
    assert (shown.value.status_code, shown.value.error) == (404, "model 'llama3' not found")
    nameless = httpx.post(twin.url + "/api/generate", json={"prompt": "hi"})
    assert (nameless.status_code, nameless.json()) == (400, {"error": "model is required"})


def test_blobs_and_create(twin: OllamaTwin, tmp_path: Path) -> None:
    client = twin.client()
    gguf = tmp_path / "tiny.gguf"
    gguf.write_bytes(b"GGUF" + bytes(range(256)) * 8)
    digest = client.create_blob(gguf)
    assert digest == "sha256:" + hashlib.sha256(gguf.read_bytes()).hexdigest()
    assert httpx.head(f"{twin.url}/api/blobs/{digest}").status_code == 200
    assert httpx.head(f"{twin.url}/api/blobs/sha256:{'0' * 64}").status_code == 404
    wrong = httpx.post(f"{twin.url}/api/blobs/sha256:{'0' * 64}", content=b"not it")
    assert wrong.status_code == 400 and "digest mismatch" in wrong.json()["error"]
    progress = list(
        client.create(
            model="tiny",
            files={"tiny.gguf": digest},
            template="{{ .Prompt }}",
            parameters={"num_ctx": 2048, "stop": ["<|im_end|>"]},
            stream=True,
        )
    )
    assert progress[-1].status == "success"
    assert any(digest in (p.status or "") for p in progress)
    assert "tiny:latest" in [m.model for m in client.list().models]
    shown = client.show("tiny")
    assert shown.template == "{{ .Prompt }}"
    assert shown.parameters and 'stop                           "<|im_end|>"' in shown.parameters
    derived = client.create(model="tiny-judge", from_="tiny", system="You judge.", stream=False)
    assert derived.status == "success"
    assert client.show("tiny-judge").details.parent_model == "tiny:latest"  # type: ignore[union-attr]
    with pytest.raises(ollama.ResponseError) as missing:
        client.create(model="ghost", files={"g.gguf": f"sha256:{'1' * 64}"})
    assert missing.value.status_code == 400 and "was not uploaded" in missing.value.error


def test_scripted_errors_times_and_busy_faults(twin: OllamaTwin) -> None:
    twin.seed(
        replies=[{"error": "model runner has unexpectedly stopped", "status": 500, "times": 1}]
    )
    client = twin.client()
    asked = [{"role": "user", "content": "hi"}]
    with pytest.raises(ollama.ResponseError) as crashed:
        client.chat(model=CODER, messages=asked)
    assert (crashed.value.status_code, crashed.value.error) == (
        500,
        "model runner has unexpectedly stopped",
    )
    assert client.chat(model=CODER, messages=asked).done
    twin.admin(
        "PUT",
        "/_twin/faults",
        {"seed": 1, "rules": [{"operation": "chat", "kind": "rate_limit", "times": 1}]},
    )
    with pytest.raises(ollama.ResponseError) as busy:
        client.chat(model=CODER, messages=asked)
    assert busy.value.status_code == 503 and "server busy" in busy.value.error


def test_a_slow_stream_does_not_hold_up_other_requests(twin: OllamaTwin) -> None:
    twin.seed(replies=[{"reply": "a b c d e f g h i j", "chunk_delay_ms": 100}])
    finished: list[float] = []

    def slow_chat() -> None:
        list(
            twin.client().chat(
                model=CODER, messages=[{"role": "user", "content": "go"}], stream=True
            )
        )
        finished.append(time.perf_counter())

    worker = threading.Thread(target=slow_chat)
    worker.start()
    time.sleep(0.25)
    asked = time.perf_counter()
    assert [m.model for m in twin.client().ps().models] == [CODER]
    answered = time.perf_counter()
    worker.join(timeout=10)
    assert finished and answered < finished[0]
    assert answered - asked < 0.5


def test_state_survives_a_restore(twin: OllamaTwin) -> None:
    twin.seed(replies=[{"reply": "restored"}])
    state = twin.admin("GET", "/_twin/state")
    twin.admin("POST", "/_twin/reset")
    assert twin.client().list().models == []
    twin.admin("POST", "/_twin/restore", {"state": state})
    answer = twin.client().chat(model=CODER, messages=[{"role": "user", "content": "hi"}])
    assert answer.message.content == "restored"


def test_the_openapi_document_is_valid(twin: OllamaTwin) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    document = httpx.get(twin.url + "/openapi.json").json()
    validator.validate(document)
    assert set(document["paths"]["/api/blobs/{digest}"]) == {"head", "post"}


def test_a_client_that_leaves_mid_stream_stops_the_answer(twin: OllamaTwin) -> None:
    twin.seed(replies=[{"reply": " ".join(["word"] * 60), "chunk_delay_ms": 50}])
    asked = {"model": CODER, "messages": [{"role": "user", "content": "go"}]}
    with httpx.stream("POST", twin.url + "/api/chat", json=asked, timeout=10) as answer:
        lines = answer.iter_lines()
        assert [json.loads(next(lines))["done"] for _ in range(2)] == [False, False]
    deadline = time.monotonic() + 2
    while not twin.journal("chat") and time.monotonic() < deadline:
        time.sleep(0.05)
    (served,) = twin.journal("chat")
    assert served["duration_ms"] < 1500  # all 60 pieces would take 3 s
