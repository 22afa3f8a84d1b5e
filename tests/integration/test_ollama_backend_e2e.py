"""The factory's Ollama backend and router end to end, against the Ollama twin over loopback.

Every call goes through the official ``ollama`` client to the twin served in this process;
the twin answers from scripted replies, or with the real embedded 0.5B model. Also
``localfactory models ollama-import`` as a real command, uploading a GGUF to the twin.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localfactory.config import LLMSettings, ModelsSettings, OllamaSettings, RoleSettings, Settings
from localfactory.errors import BackendUnavailable, PromptTooLong
from localfactory.llm import Message, Router
from localfactory.llm.embedded import EmbeddedBackend
from localfactory.llm.ollama_backend import OllamaBackend
from localfactory.models import catalog
from localfactory.twins.serve import RunningTwin, build_app, run_in_thread
from tests.conftest import RealModel
from tests.twins.served import OllamaTwin, call_admin
from tests.unit.test_models_fixtures import write_manifest

pytestmark = pytest.mark.integration

MODEL = "qwen2.5-coder-0.5b"
TAG = "qwen2.5-coder:0.5b-instruct-q4_K_M"
CODE = "def add(a: int, b: int) -> int:\n    return a + b\n"
VERDICT = {
    "type": "object",
    "properties": {
        "verdict": {"type": "string", "enum": ["PASS", "FAIL"]},
        "confidence": {"type": "integer", "minimum": 0, "maximum": 10},
    },
    "required": ["verdict", "confidence"],
    "additionalProperties": False,
}


@pytest.fixture(scope="module")
def twin_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningTwin]:
    app, _ = build_app("ollama", snapshot_dir=tmp_path_factory.mktemp("ollama-e2e"))
    with run_in_thread(app) as running:
        yield running


@pytest.fixture
def twin(twin_server: RunningTwin) -> OllamaTwin:
    for method, path in (("POST", "/_twin/reset"), ("DELETE", "/_twin/faults")):
        assert call_admin(twin_server.url, method, path)[0] == 200
    return OllamaTwin(running=twin_server, token="")


def on(host: str, base: Settings | None = None, **ollama: Any) -> Settings:
    """Settings whose Ollama server is ``host`` and whose coder runs on Ollama."""
    settings = base or Settings()
    return settings.model_copy(
        update={
            "ollama": OllamaSettings(host=host, timeout_s=30, **ollama),
            "roles": {"coder": RoleSettings(model=MODEL, backend="ollama")},
        }
    )


def test_a_streamed_call_sends_num_ctx_and_reads_usage_from_the_final_chunk(
    twin: OllamaTwin,
) -> None:
    twin.seed(
        models=[{"name": TAG, "family": "qwen2"}],
        replies=[{"model": TAG, "contains": "add", "reply": CODE, "prompt_eval_count": 57}],
    )
    settings = on(twin.url, num_ctx=4096, keep_alive="45m")
    response = Router(settings).stream(
        "coder",
        [
            {"role": "system", "content": "You write Python."},
            {"role": "user", "content": "Write add."},
        ],
        options={"max_tokens": 200, "temperature": 0.0, "seed": 7},
    )
    chunks = list(response)
    result = response.result()
    assert len(chunks) > 5 and "".join(chunks) == result.text == CODE
    assert (result.backend, result.model, result.fallback_reason) == ("ollama", MODEL, None)
    assert (result.prompt_tokens, result.generated_tokens, result.finish_reason) == (
        57,
        len(chunks),
        "stop",
    )
    assert result.details["ollama_model"] == TAG and result.details["num_ctx"] == 4096
    assert result.details["server_total_s"] > 0
    (sent,) = twin.journal("chat")
    body = sent["args"]
    assert (body["model"], body["stream"], body["keep_alive"]) == (TAG, True, "45m")
    assert body["options"] == {"num_ctx": 4096, "num_predict": 200, "temperature": 0.0, "seed": 7}
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    (running,) = twin.client().ps().models
    assert running.model == TAG and running.context_length == 4096


def test_the_manifest_context_is_sent_unless_one_is_configured(twin: OllamaTwin) -> None:
    twin.seed(models=[{"name": TAG}])
    OllamaBackend(MODEL, on(twin.url)).chat("hi", options={"max_tokens": 8}).result()
    OllamaBackend(MODEL, on(twin.url, num_ctx=2048)).chat("hi", options={"max_tokens": 8}).result()
    default = OllamaSettings.model_fields["num_ctx"].default
    assert [e["args"]["options"]["num_ctx"] for e in twin.journal("chat")] == [default, 2048]


def test_the_json_schema_goes_as_format_and_the_answer_follows_it(twin: OllamaTwin) -> None:
    twin.seed(models=[{"name": TAG}])
    backend = OllamaBackend(MODEL, on(twin.url))
    result = backend.chat(
        [{"role": "user", "content": "Is 2 + 2 equal to 4? Answer in JSON."}],
        role="judge",
        json_schema=VERDICT,
        options={"max_tokens": 40},
    ).result()
    assert json.loads(result.text) == {"verdict": "PASS", "confidence": 0}
    assert twin.journal("chat")[-1]["args"]["format"] == VERDICT


def test_an_answer_cut_at_max_tokens_says_so(twin: OllamaTwin) -> None:
    twin.seed(models=[{"name": TAG}], replies=[{"reply": "one two three four five six seven"}])
    result = OllamaBackend(MODEL, on(twin.url)).chat("Count.", options={"max_tokens": 3}).result()
    assert (result.text, result.finish_reason, result.generated_tokens) == (
        "one two three",
        "length",
        3,
    )


def test_a_missing_model_says_how_to_get_it(twin: OllamaTwin) -> None:
    twin.seed(models=[{"name": "llama3:8b"}])
    with pytest.raises(BackendUnavailable) as missing:
        OllamaBackend(MODEL, on(twin.url)).chat("hi").result()
    assert (
        missing.value.message == f"The Ollama server at {twin.url} does not have the model {TAG}."
    )
    assert missing.value.hint and f"ollama pull {TAG}" in missing.value.hint
    assert f"localfactory models ollama-import {MODEL}" in missing.value.hint
    assert twin.journal("chat") == []


def test_a_prompt_ollama_would_cut_is_refused(twin: OllamaTwin) -> None:
    twin.seed(models=[{"name": TAG}], replies=[{"reply": "ok", "prompt_eval_count": 100_000}])
    with pytest.raises(PromptTooLong) as too_long:
        OllamaBackend(MODEL, on(twin.url, num_ctx=2048)).chat(
            "long", options={"max_tokens": 48}
        ).result()
    assert (too_long.value.prompt_tokens, too_long.value.limit) == (2048, 2000)


def test_the_router_falls_back_to_the_embedded_engine_when_the_twin_is_down(
    real_model: RealModel, tmp_path: Path
) -> None:
    app, _ = build_app("ollama", snapshot_dir=tmp_path)
    with run_in_thread(app) as stopped:
        host = stopped.url
    router = Router(on(host, real_model.settings, num_ctx=4096))
    result = router.chat("coder", "Write a Python function add(a, b).", options={"max_tokens": 8})
    assert (result.backend, result.model) == ("embedded", MODEL)
    assert result.text and result.generated_tokens <= 8
    assert result.fallback_reason == (
        f"The ollama backend failed for {MODEL}: Cannot reach the Ollama server at {host}. "
        f"The embedded {MODEL} answered instead."
    )


def test_the_twin_can_answer_with_the_real_embedded_model(
    twin: OllamaTwin, real_model: RealModel
) -> None:
    twin.seed(models=[{"name": TAG, "engine": MODEL}])
    settings = on(twin.url, real_model.settings, num_ctx=4096)
    asked = [Message(role="user", content="Write a Python function that adds two numbers.")]
    response = OllamaBackend(MODEL, settings).chat(asked, options={"max_tokens": 12})
    chunks = list(response)
    result = response.result()
    assert len(chunks) >= 3 and result.text.strip() and "Ollama twin" not in result.text
    prompt = EmbeddedBackend(MODEL, settings).engine().render(asked)
    assert result.prompt_tokens == len(prompt.tokens)
    assert 0 < result.generated_tokens <= 12
    assert result.finish_reason in ("stop", "length")
    assert result.details["num_ctx"] == 4096 and result.details["eval_s"] > 0


def _installed_tiny_model(root: Path) -> tuple[Path, Path, bytes]:
    """A small installed model (manifest, GGUF and verification marker) in ``root``."""
    manifests, cache = root / "manifests", root / "cache"
    manifests.mkdir()
    cache.mkdir()
    data = b"GGUF" + bytes(range(256)) * 64
    digest = hashlib.sha256(data).hexdigest()
    source = '[source]\nkind = "pypi-file"\npackage = "tiny"\nversion = "1.0"\nmember = "tiny/tiny.gguf"\n'
    write_manifest(manifests, "tiny", data, source)
    gguf = cache / "tiny.gguf"
    gguf.write_bytes(data)
    catalog.write_marker(gguf, digest)
    return manifests, cache, data


def test_ollama_import_uploads_the_gguf_and_creates_the_model_on_the_twin(
    twin: OllamaTwin, tmp_path: Path
) -> None:
    manifests, cache, data = _installed_tiny_model(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCALFACTORY_")}
    env.update(
        LOCALFACTORY_MODELS__MANIFEST_DIRS=json.dumps([str(manifests)]),
        LOCALFACTORY_MODELS__CACHE_DIR=json.dumps(str(cache)),
        LOCALFACTORY_OLLAMA__HOST=twin.url,
        XDG_CONFIG_HOME=str(tmp_path / "config"),
        XDG_DATA_HOME=str(tmp_path / "data"),
    )
    done = subprocess.run(
        [sys.executable, "-m", "localfactory", "models", "ollama-import", "tiny"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert f"Created localfactory-tiny on the Ollama server at {twin.url}" in done.stdout
    (upload,) = twin.journal("blobs.upload")
    assert upload["status"] == 201 and upload["args"] == {"bytes": len(data)}
    client = twin.client()
    assert [m.model for m in client.list().models] == ["localfactory-tiny:latest"]
    shown = client.show("localfactory-tiny")
    assert shown.template and "<|im_start|>assistant" in shown.template
    assert shown.parameters and "num_ctx" in shown.parameters and "<|im_end|>" in shown.parameters
    settings = Settings(
        models=ModelsSettings(manifest_dirs=[manifests], cache_dir=cache),
        llm=LLMSettings(max_tokens=16),
        ollama=OllamaSettings(host=twin.url, timeout_s=30),
    )
    answer = OllamaBackend("tiny", settings).chat("Say hello.").result()
    assert answer.details["ollama_model"] == "localfactory-tiny"
    assert "Say hello." in answer.text
