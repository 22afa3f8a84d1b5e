"""The run store: one object with the whole API, and how to open it from settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from localfactory.store.artifacts import ArtifactsMixin
from localfactory.store.calls import CallsMixin

if TYPE_CHECKING:
    from localfactory.config import Settings


class RunStore(CallsMixin, ArtifactsMixin):
    """Everything the factory loop persists, in one SQLite file.

    Open it once per process (``RunStore(path)`` or :func:`open_store`) and share it between
    threads: each thread gets its own connection. Group writes that belong together with
    ``with store.transaction(): ...``; every method also works on its own.
    """

    def __enter__(self) -> RunStore:
        return self


def open_store(settings: Settings, *, busy_timeout_s: float = 15.0) -> RunStore:
    """The run store at ``settings.store_path()``, created (with its folders) if missing."""
    return RunStore(settings.store_path(), busy_timeout_s=busy_timeout_s)
