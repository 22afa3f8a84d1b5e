"""``models ollama-import``: the Modelfile, and the requests the official client sends to Ollama.

A small loopback HTTP server stands in for Ollama and records what it receives.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import test_models_fixtures as fx
from test_models_fixtures import Folders


@pytest.fixture
def folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Folders:
    return fx.cli_folders(tmp_path, monkeypatch, request)


class StubOllama(BaseHTTPRequestHandler):
    received: list[dict[str, Any]]

    def _body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            data = b""
            while size := int(self.rfile.readline().strip(), 16):
                data += self.rfile.read(size)
                self.rfile.readline()
            self.rfile.readline()
            return data
        return self.rfile.read(int(self.headers.get("Content-Length", 0)))

    def _reply(self, status: int, payload: dict[str, Any] | None = None) -> None:
        body = json.dumps(payload).encode() if payload is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.received.append({"method": "GET", "path": self.path})
        self._reply(200, {"models": []})

    def do_POST(self) -> None:
        body = self._body()
        if self.path.startswith("/api/blobs/"):
            self.received.append(
                {
                    "method": "POST",
                    "path": self.path,
                    "sha256": hashlib.sha256(body).hexdigest(),
                    "size": len(body),
                }
            )
            self._reply(201)
        else:
            self.received.append({"method": "POST", "path": self.path, "json": json.loads(body)})
            self._reply(200, {"status": "success"})

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def stub_ollama() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    handler = type("Handler", (StubOllama,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", received
    server.shutdown()
    server.server_close()


def closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_without_a_server_the_modelfile_is_written_and_the_command_printed(
    folders: Folders, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = fx.install_fake(folders)
    host = closed_port()
    monkeypatch.setenv("LOCALFACTORY_OLLAMA__HOST", host)

    code, out, _ = fx.run_cli(capsys, "ollama-import", model.name)

    modelfile = folders.cache / f"{model.name}.Modelfile"
    assert code == 0
    assert f"No Ollama server answered at {host}" in out
    assert f"ollama create localfactory-{model.name} -f {modelfile}" in out
    text = modelfile.read_text()
    assert f"FROM {(folders.cache / (model.name + '.gguf')).resolve()}\n" in text
    assert "PARAMETER num_ctx 1024\n" in text
    for stop in ("<|im_start|>", "<|im_end|>", "<|endoftext|>"):
        assert f'PARAMETER stop "{stop}"\n' in text
    assert 'TEMPLATE """' in text and "<|im_start|>assistant" in text


def test_with_a_server_the_blob_is_uploaded_and_the_model_created(
    folders: Folders,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    stub_ollama: tuple[str, list[dict[str, Any]]],
) -> None:
    model = fx.install_fake(folders)
    host, received = stub_ollama
    monkeypatch.setenv("LOCALFACTORY_OLLAMA__HOST", host)

    code, out, _ = fx.run_cli(capsys, "ollama-import", model.name)

    assert code == 0
    assert f"Created localfactory-{model.name} on the Ollama server at {host}" in out
    sha = hashlib.sha256(model.data).hexdigest()
    uploads = [r for r in received if r["path"].startswith("/api/blobs/")]
    assert uploads == [
        {
            "method": "POST",
            "path": f"/api/blobs/sha256:{sha}",
            "sha256": sha,
            "size": len(model.data),
        }
    ]
    (create,) = [r["json"] for r in received if r["path"] == "/api/create"]
    assert create["model"] == f"localfactory-{model.name}"
    assert create["files"] == {f"{model.name}.gguf": f"sha256:{sha}"}
    assert create["parameters"]["num_ctx"] == 1024
    assert "<|im_end|>" in create["parameters"]["stop"]
    assert "<|im_start|>" in create["template"]


def test_a_model_that_is_not_installed_cannot_be_imported(
    folders: Folders, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = fx.make_chunked_model(folders.manifests, folders.wheels, parts=2)
    monkeypatch.setenv("LOCALFACTORY_OLLAMA__HOST", closed_port())
    code, _, err = fx.run_cli(capsys, "ollama-import", model.name)
    assert code == 2
    assert f"localfactory models install {model.name}" in err
    assert not (folders.cache / f"{model.name}.Modelfile").exists()
