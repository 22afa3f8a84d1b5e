"""Guards around work on the model cache: one writer per model, and enough disk before starting."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from localfactory.errors import UserError
from localfactory.models.progress import human_size

MARGIN = 64 * 1024 * 1024
"""Free space kept on top of what an operation needs, so the disk is never filled to the brim."""


def lock_path(cache: Path, name: str) -> Path:
    # Lock files are never deleted: unlinking one while another process waits on it would
    # hand out two locks for the same model.
    return cache / ".locks" / f"{name}.lock"


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _wait_lock(fd: int) -> None:
        while not _try_lock(fd):
            time.sleep(0.5)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _wait_lock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_EX)


@contextmanager
def model_lock(
    cache: Path, name: str, *, on_wait: Callable[[str], None] | None = None
) -> Iterator[None]:
    """Hold the lock of model ``name`` for the block.

    When another process holds it: with ``on_wait``, say so and wait; without, refuse with a
    :class:`UserError`. The lock is released when the process ends, however it ends.
    """
    path = lock_path(cache, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(fd):
            if on_wait is None:
                raise UserError(
                    f"Another localfactory process is installing or unpacking {name} right now.",
                    hint="Wait for it to finish, then try again.",
                )
            on_wait(f"Another localfactory process is installing {name}; waiting for it to finish.")
            _wait_lock(fd)
        yield
    finally:
        os.close(fd)


def ensure_free_space(folder: Path, needed: int, *, what: str) -> None:
    """Refuse to start ``what`` when ``folder``'s disk lacks ``needed`` bytes (plus a margin)."""
    if needed <= 0:
        return
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if free < needed + MARGIN:
        raise UserError(
            f"Not enough free disk space in {folder} to {what}: it needs "
            f"{human_size(needed + MARGIN)} and {human_size(free)} are free.",
            hint="Free some space, or set models.cache_dir in localfactory.toml to a folder on a "
            "larger disk.",
        )
