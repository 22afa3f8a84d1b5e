"""``localfactory ask``: the answer on stdout, one summary line on stderr, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import localfactory.llm
from localfactory.cli import common, main
from localfactory.config import Settings
from localfactory.llm import Router
from localfactory.llm.scripted import ScriptedBackend


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """No user or project configuration, and an empty model cache."""
    for var, sub in (("XDG_CACHE_HOME", "cache"), ("XDG_CONFIG_HOME", "config")):
        monkeypatch.setenv(var, str(tmp_path / sub))
    monkeypatch.chdir(tmp_path)
    common.settings.cache_clear()
    yield
    common.settings.cache_clear()


def scripted_router(answer: str, seen: list[ScriptedBackend]):
    def make(backend: str, model: str, settings: Settings) -> ScriptedBackend:
        fake = ScriptedBackend(model, settings, script=[answer])
        seen.append(fake)
        return fake

    return lambda settings: Router(settings, make_backend=make)


def run(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as done:
        main(argv)
    return int(done.value.code or 0)


def test_the_answer_streams_to_stdout_and_a_summary_goes_to_stderr(monkeypatch, capsys):
    seen: list[ScriptedBackend] = []
    monkeypatch.setattr(localfactory.llm, "Router", scripted_router("def f():\n    return 1", seen))
    assert run(["ask", "--role", "judge", "--max-tokens", "50", "Write f."]) == 0
    out, err = capsys.readouterr()
    assert out == "def f():\n    return 1\n"
    assert err.startswith("qwen2.5-coder-0.5b via scripted (judge): 2 prompt tokens")
    request = seen[0].requests[0]
    assert request.options.max_tokens == 50
    assert request.messages[-1].content == "Write f."


def test_a_json_schema_file_constrains_the_call(monkeypatch, capsys, tmp_path):
    seen: list[ScriptedBackend] = []
    monkeypatch.setattr(localfactory.llm, "Router", scripted_router('{"ok": true}', seen))
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    (tmp_path / "schema.json").write_text(json.dumps(schema))
    assert run(["ask", "--json-schema", "schema.json", "ok?"]) == 0
    assert seen[0].requests[0].json_schema == schema


def test_a_missing_model_says_how_to_install_it(capsys):
    assert run(["ask", "hello"]) == 2
    err = capsys.readouterr().err
    assert "Model qwen2.5-coder-1.5b is not installed" in err
    assert "`localfactory models install qwen2.5-coder-1.5b`" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "Cannot read the JSON schema"),
        ("{nope", "is not valid JSON"),
        ("[1]", "must hold a JSON object"),
    ],
)
def test_a_bad_schema_file_is_a_clear_error(tmp_path, capsys, content, message):
    path = tmp_path / "schema.json"
    if content is not None:
        path.write_text(content)
    assert run(["ask", "--json-schema", str(path), "hello"]) == 2
    assert message in capsys.readouterr().err
