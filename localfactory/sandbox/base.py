"""The sandbox contract: run a command in a workspace under limits, get a typed result.

:class:`LocalSandbox` (processes, namespaces and cgroups on this machine) is the first
implementation; a Docker-backed one fits the same :class:`Sandbox` interface.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from localfactory.errors import UserError

LimitName = Literal["time", "memory", "processes", "output"]


class SandboxError(UserError):
    """The sandbox itself cannot run (no workspace, a bad command line)."""


class Limits(BaseModel):
    """What one run may use. Every limit stops the run and is named in its result."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wall_time_s: float = Field(default=120.0, gt=0)
    """Seconds before the whole process tree is killed."""

    memory_mb: int = Field(default=2048, ge=32)
    """Address space per process (RLIMIT_AS) and, where a cgroup can be made, for the whole tree."""

    max_processes: int = Field(default=128, ge=4)
    """Processes and threads the run may have at once (pids cgroup; RLIMIT_NPROC when not root)."""

    output_kb: int = Field(default=256, ge=1)
    """Captured stdout and stderr, each: the first and last halves are kept, the middle cut."""

    output_kill_mb: int = Field(default=32, ge=1)
    """Output (both streams together) past which the run is killed as runaway."""

    file_size_mb: int = Field(default=256, ge=1)
    """Largest file the run may write (RLIMIT_FSIZE)."""

    network: bool = False
    """False: a fresh network namespace with only loopback. True: the machine's network."""


class RunResult(BaseModel):
    """What happened to one command in the sandbox."""

    model_config = ConfigDict(frozen=True)

    argv: list[str]
    exit_code: int | None
    """The command's exit status; ``None`` when a signal ended it (see ``signal``)."""

    signal: int | None = None
    timed_out: bool = False
    limit: LimitName | None = None
    """The limit that stopped the run, if one did."""

    stdout: str = ""
    stderr: str = ""
    stdout_cut: int = 0
    """Bytes of stdout left out of ``stdout`` (the middle of a long output)."""

    stderr_cut: int = 0
    duration_s: float = 0.0
    warnings: list[str] = Field(default_factory=list)
    """What the sandbox could not enforce on this machine (no network namespace, ...)."""

    start_error: str | None = None
    """Why the command could not be started at all (not found, not executable)."""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.limit is None and self.start_error is None

    def reason(self) -> str:
        """One sentence saying how the run ended, for logs and for the repair prompt."""
        from localfactory.sandbox.explain import explain

        return explain(self)


class Sandbox(ABC):
    """A place to run generated code and its checks, confined to ``workspace``."""

    name: str = "abstract"

    def __init__(self, workspace: Path, limits: Limits | None = None) -> None:
        workspace = Path(workspace).resolve()
        if not workspace.is_dir():
            raise SandboxError(
                f"The sandbox workspace {workspace} is not a folder.",
                hint="Create it first; the sandbox only ever runs inside an existing folder.",
            )
        self.workspace = workspace
        self.limits = limits or Limits()

    @abstractmethod
    def run(
        self,
        argv: Sequence[str],
        *,
        limits: Limits | None = None,
        env: Mapping[str, str] | None = None,
        stdin: str | bytes | None = None,
        cwd: str | Path | None = None,
    ) -> RunResult:
        """Run ``argv`` inside the workspace (``cwd`` relative to it) and wait for it to end."""
