"""Layered settings: defaults, user file, project file, environment; unknown keys named with their source."""

from __future__ import annotations

from pathlib import Path

import pytest

from localfactory.config import load_settings
from localfactory.errors import ConfigError


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def isolated(tmp_path: Path) -> dict[str, Path]:
    return {"user": tmp_path / "user" / "config.toml", "cwd": tmp_path / "project"}


def load(isolated: dict[str, Path], environ: dict[str, str] | None = None):
    isolated["cwd"].mkdir(exist_ok=True)
    return load_settings(user_file=isolated["user"], environ=environ or {}, cwd=isolated["cwd"])


def test_defaults_give_every_factory_role_a_model(isolated):
    s = load(isolated)
    assert {"planner", "test_writer", "coder", "judge"} <= set(s.roles)
    assert s.roles["judge"].model == "qwen2.5-coder-0.5b"
    assert s.threads() >= 1


def test_project_file_overrides_user_file_and_keeps_other_role_fields(isolated):
    _write(isolated["user"], '[llm]\nthreads = 3\n[ollama]\nhost = "http://127.0.0.1:9"\n')
    _write(
        isolated["cwd"] / "localfactory.toml",
        '[llm]\nthreads = 1\n[roles.coder]\nbackend = "ollama"\n',
    )
    s = load(isolated)
    assert s.llm.threads == 1
    assert s.ollama.host == "http://127.0.0.1:9"
    assert s.roles["coder"].backend == "ollama"
    assert s.roles["coder"].model == "qwen2.5-coder-1.5b"
    assert s.project_dir == (isolated["cwd"]).resolve()


def test_project_file_is_found_from_a_subfolder(isolated):
    _write(isolated["cwd"] / "localfactory.toml", "[llm]\nthreads = 1\n")
    sub = isolated["cwd"] / "specs" / "deep"
    sub.mkdir(parents=True)
    s = load_settings(user_file=isolated["user"], environ={}, cwd=sub)
    assert s.llm.threads == 1
    assert s.store_path() == isolated["cwd"].resolve() / ".localfactory" / "runs.db"


def test_environment_wins_and_is_typed(isolated):
    _write(isolated["cwd"] / "localfactory.toml", "[llm]\nthreads = 1\n")
    s = load(
        isolated,
        {"LOCALFACTORY_LLM__THREADS": "4", "LOCALFACTORY_ROLES__JUDGE__MODEL": "smollm2-135m"},
    )
    assert s.llm.threads == 4
    assert s.roles["judge"].model == "smollm2-135m"


def test_unknown_key_names_the_key_and_the_file(isolated):
    bad = _write(isolated["cwd"] / "localfactory.toml", "[llm]\nthreadz = 2\n")
    with pytest.raises(ConfigError) as err:
        load(isolated)
    assert "llm.threadz" in str(err.value)
    assert str(bad) in str(err.value)


def test_unknown_key_in_user_file_names_the_user_file(isolated):
    _write(isolated["user"], "[modelz]\n")
    with pytest.raises(ConfigError) as err:
        load(isolated)
    assert "'modelz'" in str(err.value) and str(isolated["user"]) in str(err.value)


def test_unknown_environment_variable_is_named(isolated):
    with pytest.raises(ConfigError) as err:
        load(isolated, {"LOCALFACTORY_LLM__NOPE": "1"})
    assert "LOCALFACTORY_LLM__NOPE" in str(err.value)


def test_invalid_value_says_what_is_wrong(isolated):
    _write(isolated["cwd"] / "localfactory.toml", '[roles.coder]\nbackend = "gpu"\n')
    with pytest.raises(ConfigError) as err:
        load(isolated)
    assert "roles.coder.backend" in str(err.value)


def test_broken_toml_is_one_clear_error(isolated):
    bad = _write(isolated["cwd"] / "localfactory.toml", "[llm\nthreads = 2\n")
    with pytest.raises(ConfigError) as err:
        load(isolated)
    assert str(bad) in str(err.value) and "not valid TOML" in str(err.value)


def test_unconfigured_role_is_a_clear_error(isolated):
    with pytest.raises(ConfigError, match=r"roles\.reviewer"):
        load(isolated).role("reviewer")
