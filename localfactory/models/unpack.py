"""Unpacking a model pack on the far side of an air gap, trusting nothing in it.

Before a byte is written: every member must be a plain file with a relative path inside
the pack (no absolute paths, no ``..``, no links), the index and the manifests must agree,
and a model this machine already knows must have the same sha256 here as in the pack.
Each GGUF is then streamed into the cache under a temporary name while it is hashed, and
renamed into place (with its verification marker) only when the hash matches.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal

from localfactory.errors import ChecksumMismatch, ConfigError, UserError
from localfactory.models import catalog
from localfactory.models.guards import ensure_free_space, model_lock
from localfactory.models.hashing import copy_hashed, durable_close
from localfactory.models.manifest import Manifest
from localfactory.models.pack import PackedModel, read_index
from localfactory.models.progress import InstallProgress, SilentProgress

if TYPE_CHECKING:
    from localfactory.config import Settings


@dataclass(frozen=True)
class Unpacked:
    model: str
    path: Path
    action: Literal["installed", "already installed"]
    new_manifest: Path | None = None
    """Where the manifest of a model unknown here was saved (so the catalog finds it)."""


@dataclass(frozen=True)
class _Plan:
    entry: PackedModel
    manifest: Manifest
    toml: bytes | None
    """The pack's manifest, when this machine has none of that name."""


def _refuse(source: Path, what: str) -> UserError:
    return UserError(
        f"{source} was not unpacked: {what}.",
        hint="Only unpack packs made by `localfactory models pack`, copied whole.",
    )


def _check_members(members: list[tarfile.TarInfo], source: Path) -> dict[str, tarfile.TarInfo]:
    by_name: dict[str, tarfile.TarInfo] = {}
    for member in members:
        name = member.name
        parts = PurePosixPath(name).parts
        if (
            name.startswith(("/", "\\"))
            or "\\" in name
            or ":" in name
            or ".." in parts
            or not parts
        ):
            raise _refuse(source, f"it holds {name!r}, a path outside the pack")
        if not member.isreg():
            raise _refuse(
                source, f"it holds {name!r}, which is a link or special file, not a plain file"
            )
        if name in by_name:
            raise _refuse(source, f"it holds {name!r} twice")
        by_name[name] = member
    return by_name


def _read(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    fh = tar.extractfile(member)
    assert fh is not None
    return fh.read()


def _pack_manifest(toml: bytes, entry: PackedModel, source: Path) -> Manifest:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{entry.name}.toml"
        path.write_bytes(toml)
        try:
            manifest = Manifest.load(path)
        except ConfigError as exc:
            detail = exc.message.replace(str(path), entry.manifest).rstrip(".")
            raise _refuse(source, detail) from None
    return manifest.model_copy(update={"manifest_path": None})


def _plan(
    entry: PackedModel,
    tar: tarfile.TarFile,
    by_name: dict[str, tarfile.TarInfo],
    known: dict[str, Manifest],
    source: Path,
) -> _Plan:
    for member in (entry.manifest, entry.gguf):
        if member not in by_name:
            raise _refuse(source, f"its index names {member}, which it does not hold")
    if by_name[entry.gguf].size != entry.size:
        raise _refuse(source, f"{entry.gguf} is not the {entry.size} bytes its index says")
    toml = _read(tar, by_name[entry.manifest])
    packed = _pack_manifest(toml, entry, source)
    if packed.name != entry.name or packed.gguf is None or packed.gguf.sha256 != entry.sha256:
        raise _refuse(source, f"its index and its manifest of {entry.name} disagree")
    if packed.gguf.size != entry.size:
        raise _refuse(source, f"its index and its manifest of {entry.name} disagree on the size")
    local = known.get(entry.name)
    if local is None:
        return _Plan(entry, packed, toml)
    if local.gguf is None or local.gguf.sha256 != entry.sha256:
        here = local.gguf.sha256 if local.gguf else "no GGUF (Ollama only)"
        raise ChecksumMismatch(
            f"The pack's {entry.name} is not the {entry.name} this machine knows: the local "
            f"manifest ({local.manifest_path}) expects sha256 {here}, the pack holds "
            f"{entry.sha256}; nothing was unpacked.",
            hint="Pack the model on a machine with the same localfactory version, or remove "
            "the conflicting local manifest.",
        )
    return _Plan(entry, local, None)


def unpack(
    source: Path, settings: Settings, *, progress: InstallProgress | None = None
) -> list[Unpacked]:
    """Install every model in the pack ``source`` into the model cache, verified."""
    progress = progress or SilentProgress()
    source = source.expanduser()
    if not source.is_file():
        raise UserError(f"There is no file {source}.", hint="Give the path of a model pack.")
    try:
        with tarfile.open(source, "r:") as tar:
            return _unpack_all(tar, source, settings, progress)
    except tarfile.TarError as exc:
        raise _refuse(
            source, f"it is not an uncompressed tar file, or it is damaged ({exc})"
        ) from None


def _unpack_all(
    tar: tarfile.TarFile, source: Path, settings: Settings, progress: InstallProgress
) -> list[Unpacked]:
    by_name = _check_members(tar.getmembers(), source)
    index = read_index(tar, source)
    known = catalog.all_manifests(settings)
    plans = [_plan(entry, tar, by_name, known, source) for entry in index.models]
    todo = [p for p in plans if not _installed(p, settings)]
    cache = catalog.cache_dir(settings)
    ensure_free_space(cache, sum(p.entry.size for p in todo), what=f"unpack {source.name}")
    results = []
    for plan in plans:
        if plan not in todo:
            path = catalog.gguf_path(plan.manifest, settings)
            results.append(Unpacked(plan.entry.name, path, "already installed"))
            continue
        results.append(_install(plan, tar, by_name[plan.entry.gguf], settings, progress))
    return results


def _installed(plan: _Plan, settings: Settings) -> bool:
    return catalog.marker_matches(plan.manifest, catalog.gguf_path(plan.manifest, settings))


def _install(
    plan: _Plan,
    tar: tarfile.TarFile,
    member: tarfile.TarInfo,
    settings: Settings,
    progress: InstallProgress,
) -> Unpacked:
    entry = plan.entry
    cache = catalog.cache_dir(settings)
    cache.mkdir(parents=True, exist_ok=True)
    gguf = catalog.gguf_path(plan.manifest, settings)
    with model_lock(cache, entry.name, on_wait=progress.note):
        tmp = gguf.with_name(gguf.name + ".unpacking")
        src = tar.extractfile(member)
        assert src is not None
        progress.hashing(f"unpacking {entry.name}", entry.size)
        digest = hashlib.sha256()
        out = tmp.open("wb")
        try:
            copy_hashed(src, out, digest, progress.hashed)
        except BaseException:
            out.close()
            tmp.unlink(missing_ok=True)
            raise
        durable_close(out)
        actual = digest.hexdigest()
        if actual != entry.sha256:
            tmp.unlink()
            raise ChecksumMismatch(
                f"{entry.name} in the pack is corrupt: expected sha256 {entry.sha256}, got "
                f"{actual}; it was not installed.",
                hint="Copy the pack again (or make it afresh with `localfactory models pack`).",
            )
        os.replace(tmp, gguf)
        catalog.write_marker(gguf, actual)
    saved = None
    if plan.toml is not None:
        folder = catalog.imported_manifest_dir()
        folder.mkdir(parents=True, exist_ok=True)
        saved = folder / f"{entry.name}.toml"
        staging = saved.with_suffix(".toml.tmp")
        staging.write_bytes(plan.toml)
        os.replace(staging, saved)
    return Unpacked(entry.name, gguf, "installed", saved)
