"""Problems with the run store that a user can cause or fix.

All of them are :class:`~localfactory.errors.UserError` subclasses, so the CLI prints one
clear sentence (and a hint) instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from localfactory.errors import UserError

_MOVE_HINT = (
    "Point store.path in localfactory.toml at another file, or move this one out of the way."
)


class StoreError(UserError):
    """Something is wrong with the run store or with what was asked of it."""


class NotARunStore(StoreError):
    """The file exists but is not a localfactory run store."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(f"{path} is not a localfactory run store: {why}.", hint=_MOVE_HINT)
        self.path = path


class StoreTooNew(StoreError):
    """The store was written by a newer localfactory, with a schema this one does not know."""

    def __init__(self, path: Path, found: int, known: int) -> None:
        super().__init__(
            f"The run store {path} was made by a newer localfactory "
            f"(schema version {found}; this version knows up to {known}).",
            hint="Upgrade localfactory, or " + _MOVE_HINT[0].lower() + _MOVE_HINT[1:],
        )
        self.found = found
        self.known = known


class StoreUnavailable(StoreError):
    """The store file cannot be opened or written (permissions, a folder in the way, a full disk)."""

    def __init__(self, path: Path, why: str) -> None:
        super().__init__(
            f"Cannot open the run store {path}: {why}.",
            hint="Check that its folder exists and is writable, or set store.path in localfactory.toml.",
        )
        self.path = path


class RunNotFound(StoreError):
    """No run has this id (or id prefix)."""

    def __init__(self, ref: str) -> None:
        super().__init__(
            f"No run matches {ref!r}.",
            hint="`localfactory runs list` shows the runs in this store.",
        )
        self.ref = ref


class AmbiguousRunId(StoreError):
    """An id prefix matches more than one run."""

    def __init__(self, ref: str, candidates: Sequence[str], total: int) -> None:
        shown = ", ".join(candidates)
        more = f" and {total - len(candidates)} more" if total > len(candidates) else ""
        super().__init__(
            f"The run id prefix {ref!r} matches {total} runs ({shown}{more}).",
            hint="Type more characters of the run id.",
        )
        self.ref = ref
        self.candidates = list(candidates)


class RunBusy(StoreError):
    """Another live process is working on the run."""

    def __init__(self, run_id: str, pid: int, host: str) -> None:
        super().__init__(
            f"Run {run_id} is being worked on by process {pid} on {host}.",
            hint="Wait for it to finish, or stop that process first; a killed run can be resumed.",
        )
        self.run_id = run_id
        self.pid = pid


class StaleState(StoreError):
    """A transition or step change was asked from a state the run is no longer in."""


class StepError(StoreError):
    """A step was begun while another is open, or closed or given a model call while not open."""
