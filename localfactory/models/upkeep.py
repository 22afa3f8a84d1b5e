"""Keeping the model cache honest: full re-verification, and removal of a model's files."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from localfactory.models import catalog
from localfactory.models.guards import model_lock
from localfactory.models.hashing import sha256_file
from localfactory.models.manifest import Manifest
from localfactory.models.parts import parts_dir
from localfactory.models.progress import InstallProgress, SilentProgress

if TYPE_CHECKING:
    from localfactory.config import Settings

Verdict = Literal["ok", "MISMATCH", "not installed", "ollama only"]


@dataclass(frozen=True)
class Verification:
    model: str
    verdict: Verdict
    path: Path | None = None
    expected: str = ""
    actual: str = ""


def present(manifest: Manifest, settings: Settings) -> bool:
    """True when the model's GGUF file is in the cache (verified or not)."""
    return manifest.gguf is not None and catalog.gguf_path(manifest, settings).is_file()


def verify(
    manifest: Manifest, settings: Settings, *, progress: InstallProgress | None = None
) -> Verification:
    """Re-hash the whole GGUF. A match refreshes the marker; a mismatch removes it."""
    progress = progress or SilentProgress()
    if manifest.gguf is None:
        return Verification(manifest.name, "ollama only")
    gguf = catalog.gguf_path(manifest, settings)
    if not gguf.is_file():
        return Verification(manifest.name, "not installed", gguf)
    progress.hashing(f"verifying {manifest.name}", gguf.stat().st_size)
    actual = sha256_file(gguf, progress.hashed)
    expected = manifest.gguf.sha256
    if actual == expected and gguf.stat().st_size == manifest.gguf.size:
        catalog.write_marker(gguf, actual)
        return Verification(manifest.name, "ok", gguf, expected, actual)
    catalog.marker_path(gguf).unlink(missing_ok=True)
    return Verification(manifest.name, "MISMATCH", gguf, expected, actual)


def modelfile_path(manifest: Manifest, settings: Settings) -> Path:
    """The Ollama Modelfile ``models ollama-import`` writes next to the GGUF."""
    return catalog.cache_dir(settings) / f"{manifest.name}.Modelfile"


def remove(manifest: Manifest, settings: Settings) -> list[Path]:
    """Delete the model's GGUF, marker, parts and Modelfile; the paths that were removed."""
    cache = catalog.cache_dir(settings)
    if manifest.gguf is None or not cache.is_dir():
        return []
    gguf = catalog.gguf_path(manifest, settings)
    candidates = [
        gguf,
        catalog.marker_path(gguf),
        gguf.with_name(gguf.name + ".assembling"),
        modelfile_path(manifest, settings),
        parts_dir(cache, manifest.name),
    ]
    removed = []
    with model_lock(cache, manifest.name):
        for path in candidates:
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.exists() or path.is_symlink():
                path.unlink()
            else:
                continue
            removed.append(path)
    return removed
