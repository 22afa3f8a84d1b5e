"""Model packs: verified models carried across an air gap in one plain tar file.

A pack holds ``index.json`` (first, listing each model's name, size and sha256), and per
model its manifest (``manifests/<name>.toml``) and its GGUF (``models/<file>.gguf``). GGUF
weights do not compress, so the tar is not compressed: packing is a straight copy, hashed
on the way so a file that changed since it was verified never leaves the machine.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from pydantic import BaseModel, ConfigDict, Field

from localfactory.errors import ChecksumMismatch, ModelNotFound, UserError
from localfactory.models import catalog
from localfactory.models.guards import ensure_free_space
from localfactory.models.hashing import BLOCK
from localfactory.models.install import ollama_only
from localfactory.models.manifest import Manifest
from localfactory.models.progress import InstallProgress, SilentProgress

if TYPE_CHECKING:
    from localfactory.config import Settings
    from localfactory.models.hashing import OnBytes

PACK_FORMAT = "localfactory-model-pack"
INDEX_NAME = "index.json"


class PackedModel(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    manifest: str
    """Member holding the model's manifest TOML."""

    gguf: str
    """Member holding the GGUF."""

    size: int = Field(gt=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class PackIndex(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: str
    version: int
    models: list[PackedModel]


@dataclass(frozen=True)
class _Packing:
    manifest: Manifest
    gguf: Path
    toml: bytes


class _HashingReader:
    """A read-only file that hashes what tarfile copies out of it."""

    def __init__(self, src: BinaryIO, on_bytes: OnBytes) -> None:
        self.src = src
        self.digest = hashlib.sha256()
        self.on_bytes = on_bytes

    def read(self, size: int = -1) -> bytes:
        block = self.src.read(size)
        self.digest.update(block)
        self.on_bytes(len(block))
        return block


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    info.mtime = int(time.time())
    return info


def _collect(names: list[str], settings: Settings) -> list[_Packing]:
    chosen: list[_Packing] = []
    for name in dict.fromkeys(names):
        manifest = catalog.get_manifest(name, settings)
        if manifest.gguf is None:
            raise ollama_only(manifest)
        try:
            gguf = catalog.installed_gguf(name, settings)
        except ModelNotFound:
            raise ModelNotFound(
                f"Only verified models can be packed, and {name} is not installed or not verified.",
                hint=f"Run `localfactory models install {name}` (or `localfactory models verify "
                f"{name}`) first.",
            ) from None
        assert manifest.manifest_path is not None
        chosen.append(_Packing(manifest, gguf, manifest.manifest_path.read_bytes()))
    return chosen


def pack(
    names: list[str], out: Path, settings: Settings, *, progress: InstallProgress | None = None
) -> PackIndex:
    """Write the verified models ``names`` into the tar ``out``; returns its index."""
    progress = progress or SilentProgress()
    if not names:
        raise UserError(
            "Name at least one model to pack.", hint="`localfactory models list` shows them."
        )
    chosen = _collect(names, settings)
    out = out.expanduser()
    if out.is_dir():
        raise UserError(
            f"{out} is a folder; the pack is one file.", hint=f"Use -o {out}/models.tar."
        )
    if not out.parent.is_dir():
        raise UserError(
            f"The folder {out.parent} does not exist.", hint="Create it, or choose another -o."
        )
    entries = []
    for item in chosen:
        assert item.manifest.gguf is not None
        entries.append(
            PackedModel(
                name=item.manifest.name,
                manifest=f"manifests/{item.manifest.name}.toml",
                gguf=f"models/{item.manifest.gguf.filename}",
                size=item.manifest.gguf.size,
                sha256=item.manifest.gguf.sha256,
            )
        )
    index = PackIndex(format=PACK_FORMAT, version=1, models=entries)
    ensure_free_space(out.parent, sum(e.size for e in entries), what=f"write {out.name}")
    tmp = out.with_name(out.name + ".partial")
    try:
        with tarfile.TarFile(tmp, "w", format=tarfile.PAX_FORMAT, copybufsize=BLOCK) as tar:
            raw_index = index.model_dump_json(indent=2).encode()
            tar.addfile(_member(INDEX_NAME, len(raw_index)), io.BytesIO(raw_index))
            for item, entry in zip(chosen, entries, strict=True):
                tar.addfile(_member(entry.manifest, len(item.toml)), io.BytesIO(item.toml))
                progress.hashing(f"packing {entry.name}", entry.size)
                with item.gguf.open("rb") as src:
                    reader = _HashingReader(src, progress.hashed)
                    tar.addfile(_member(entry.gguf, entry.size), reader)
                actual = reader.digest.hexdigest()
                if actual != entry.sha256:
                    catalog.marker_path(item.gguf).unlink(missing_ok=True)
                    raise ChecksumMismatch(
                        f"{entry.name} changed since it was verified: expected sha256 "
                        f"{entry.sha256}, got {actual}; no pack was written.",
                        hint=f"Run `localfactory models install {entry.name}` to repair it.",
                    )
        tmp.replace(out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return index


def read_index(tar: tarfile.TarFile, source: Path) -> PackIndex:
    """The index of an opened pack, or a clear error when the file is not a model pack."""
    try:
        member = tar.getmember(INDEX_NAME)
        fh = tar.extractfile(member)
        assert fh is not None
        index = PackIndex.model_validate(json.loads(fh.read()))
    except (KeyError, ValueError, AssertionError):
        index = None
    if index is None or index.format != PACK_FORMAT:
        raise UserError(
            f"{source} is not a localfactory model pack (no valid {INDEX_NAME}).",
            hint="Make packs with `localfactory models pack NAME... -o FILE`.",
        )
    if index.version != 1:
        raise UserError(
            f"{source} is a version {index.version} model pack; this localfactory reads version 1.",
            hint="Unpack it with the localfactory version that made it, or upgrade this one.",
        )
    return index
