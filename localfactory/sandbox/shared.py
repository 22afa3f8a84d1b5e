"""What every sandbox does the same way, so that a run means the same wherever it ran.

The working folder must lie inside the workspace; the command sees the same small
environment (its HOME and TMPDIR in the workspace's scratch folder, no variables of the
caller's shell); and a limit the kernel enforced without the supervisor seeing it is
recognised by the same signs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from localfactory.sandbox.base import LimitName, Limits, SandboxError

SCRATCH = ".sandbox"
"""Folder inside the workspace for the run's HOME and TMPDIR."""

_MEMORY_SIGNS = ("MemoryError", "Cannot allocate memory", "std::bad_alloc", "out of memory")
_FORK_SIGNS = (
    "BlockingIOError: [Errno 11]",
    "Resource temporarily unavailable",
    "can't start new thread",
)


def start_run(
    workspace: Path, argv: Sequence[str | Path], cwd: str | Path | None
) -> tuple[list[str], Path]:
    """The command line as strings and its working folder, both checked; the scratch made.

    A :class:`SandboxError` for an empty command line, or a ``cwd`` (relative to the
    workspace) that is not a folder inside it.
    """
    command = [str(a) for a in argv]
    if not command:
        raise SandboxError("The sandbox was given an empty command line.")
    workdir = (workspace / (cwd or ".")).resolve()
    if not workdir.is_relative_to(workspace) or not workdir.is_dir():
        raise SandboxError(f"The working folder {cwd} is not a folder inside the workspace.")
    for sub in ("home", "tmp"):
        (workspace / SCRATCH / sub).mkdir(parents=True, exist_ok=True)
    return command, workdir


def run_environment(
    workspace: Path, path: str, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The command's whole environment: nothing of the caller's leaks in but ``extra``."""
    scratch = workspace / SCRATCH
    env = {
        "PATH": path,
        "HOME": str(scratch / "home"),
        "TMPDIR": str(scratch / "tmp"),
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "MALLOC_ARENA_MAX": "2",
        "NO_COLOR": "1",
    }
    env.update(extra or {})
    return env


def process_rlimits(limits: Limits) -> dict[str, int]:
    """The resource limits the command's own process starts with (by ``resource`` name)."""
    mb = 2**20
    return {
        "RLIMIT_AS": limits.memory_mb * mb,
        "RLIMIT_FSIZE": limits.file_size_mb * mb,
        "RLIMIT_CORE": 0,
        "RLIMIT_NOFILE": 1024,
    }


def limit_from_signs(
    exit_code: int | None, stderr: str, *, processes_refused: int, memory_kills: int
) -> LimitName | None:
    """A limit the kernel enforced without the supervisor seeing it happen.

    The counters (forks the pids cgroup refused, processes the memory cgroup killed) are
    certain; the error output is the fallback where they cannot be read, and for limits
    a process ran into and reported itself (``MemoryError`` under the address-space limit).
    """
    if processes_refused:
        return "processes"
    if memory_kills:
        return "memory"
    if exit_code == 0:
        return None
    tail = stderr[-4000:]
    if any(sign in tail for sign in _MEMORY_SIGNS):
        return "memory"
    if any(sign in tail for sign in _FORK_SIGNS):
        return "processes"
    return None
