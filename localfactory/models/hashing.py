"""Streaming sha256: every byte of a model is hashed on its way to disk, never read twice."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Protocol

BLOCK = 1 << 20
"""Bytes read per step: large enough to be fast, small enough to report progress often."""

OnBytes = Callable[[int], None]


class Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...


def _ignore(_: int) -> None:
    pass


def sha256_file(path: Path, on_bytes: OnBytes = _ignore) -> str:
    """The hex sha256 of the file at ``path``."""
    digest = hashlib.sha256()
    with path.open("rb") as src:
        while block := src.read(BLOCK):
            digest.update(block)
            on_bytes(len(block))
    return digest.hexdigest()


def copy_hashed(src: IO[bytes], dst: IO[bytes], digest: Digest, on_bytes: OnBytes = _ignore) -> int:
    """Copy ``src`` to ``dst`` while feeding ``digest``; returns the number of bytes copied."""
    copied = 0
    while block := src.read(BLOCK):
        digest.update(block)
        dst.write(block)
        copied += len(block)
        on_bytes(len(block))
    return copied


def concat_hashed(sources: Iterable[Path], dst: IO[bytes], on_bytes: OnBytes = _ignore) -> str:
    """Write ``sources`` one after another into ``dst``; returns the sha256 of the whole."""
    digest = hashlib.sha256()
    for path in sources:
        with path.open("rb") as src:
            copy_hashed(src, dst, digest, on_bytes)
    return digest.hexdigest()


def durable_close(fh: IO[bytes]) -> None:
    """Flush ``fh`` to the disk before it is renamed into place, so a crash leaves no torn file."""
    fh.flush()
    os.fsync(fh.fileno())
    fh.close()
