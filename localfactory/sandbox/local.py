"""The sandbox on this machine: a confined process tree, watched by a supervisor thread.

The supervisor starts :mod:`localfactory.sandbox.launcher` in a new session, which confines
itself (namespaces, cgroups, limits, no capabilities) and runs the command. The supervisor
enforces what only it can see: the wall clock, the total output, and forks refused by the
process cap. On any limit, and after every run, it kills the whole tree.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from localfactory.sandbox.base import LimitName, Limits, RunResult, Sandbox
from localfactory.sandbox.capture import CappedOutput
from localfactory.sandbox.cgroup import RunCgroup
from localfactory.sandbox.shared import (
    limit_from_signs,
    process_rlimits,
    run_environment,
    start_run,
)

LAUNCHER = Path(__file__).with_name("launcher.py")
_POLL_S = 0.05


class _StatusPipe:
    """Reads the launcher's JSON lines: warnings, start errors, the command's exit status."""

    def __init__(self, fd: int) -> None:
        self.messages: list[dict[str, Any]] = []
        self._file = os.fdopen(fd, "rb")
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        with self._file:
            for line in self._file:
                with contextlib.suppress(ValueError):
                    self.messages.append(json.loads(line))

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def values(self, key: str) -> list[Any]:
        return [m[key] for m in self.messages if key in m]


class LocalSandbox(Sandbox):
    """Runs commands on this machine, confined as far as the kernel allows (see the launcher)."""

    name = "local"

    def __init__(
        self, workspace: Path, limits: Limits | None = None, *, read_only_outside: bool = True
    ) -> None:
        super().__init__(workspace, limits)
        self.read_only_outside = read_only_outside

    def run(
        self,
        argv: Sequence[str],
        *,
        limits: Limits | None = None,
        env: Mapping[str, str] | None = None,
        stdin: str | bytes | None = None,
        cwd: str | Path | None = None,
    ) -> RunResult:
        command, workdir = start_run(self.workspace, argv, cwd)
        limits = limits or self.limits
        group = RunCgroup.create(
            max_processes=limits.max_processes, memory_bytes=limits.memory_mb * 2**20
        )
        warnings: list[str] = []
        if group.pids is None and os.geteuid() == 0:
            warnings.append("no pids cgroup could be made: the process limit cannot bind root")
        try:
            return self._supervise(command, limits, workdir, env, stdin, group, warnings)
        finally:
            group.remove()

    def _environment(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        bin_dir = str(Path(sys.executable).parent)
        path = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
        return run_environment(self.workspace, f"{bin_dir}:{path}", extra)

    def _config(
        self, limits: Limits, workdir: Path, env: dict[str, str], fd: int, group: RunCgroup
    ) -> str:
        rlimits = process_rlimits(limits)
        if os.geteuid() != 0:
            rlimits["RLIMIT_NPROC"] = limits.max_processes
        return json.dumps(
            {
                "status_fd": fd,
                "supervisor_pid": os.getpid(),
                "cgroups": group.folders(),
                "isolate_network": not limits.network,
                "read_only_outside": self.read_only_outside,
                "workspace": str(self.workspace),
                "cwd": str(workdir),
                "env": env,
                "rlimits": rlimits,
            }
        )

    def _supervise(
        self,
        argv: list[str],
        limits: Limits,
        workdir: Path,
        env: Mapping[str, str] | None,
        stdin: str | bytes | None,
        group: RunCgroup,
        warnings: list[str],
    ) -> RunResult:
        read_fd, write_fd = os.pipe()
        environment = self._environment(env)
        config = self._config(limits, workdir, environment, write_fd, group)
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", str(LAUNCHER), config, "--", *argv],
                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=workdir,
                env=environment,
                pass_fds=(write_fd,),
                start_new_session=True,
            )
        finally:
            os.close(write_fd)
        status = _StatusPipe(read_fd)
        assert proc.stdout is not None and proc.stderr is not None
        cap = limits.output_kb * 1024
        out, err = CappedOutput(proc.stdout, cap), CappedOutput(proc.stderr, cap)
        if stdin is not None:
            _feed(proc, stdin.encode() if isinstance(stdin, str) else stdin)
        limit = self._watch(proc, limits, started, out, err, group)
        _kill_tree(proc, group)
        duration = time.monotonic() - started
        for stream in (out, err, status):
            stream.join(2.0)
        exits = status.values("exit")
        if exits or status.values("signal"):
            exit_code, sig = exits[-1] if exits else None, status.values("signal")[-1]
        else:
            code = proc.returncode
            exit_code, sig = (code, None) if code >= 0 else (None, -code)
        stderr_text = err.text()
        if limit is None:
            limit = limit_from_signs(
                exit_code,
                stderr_text,
                processes_refused=group.processes_refused(),
                memory_kills=group.memory_kills(),
            )
        return RunResult(
            argv=argv,
            exit_code=exit_code,
            signal=sig,
            timed_out=limit == "time",
            limit=limit,
            stdout=out.text(),
            stderr=stderr_text,
            stdout_cut=out.cut,
            stderr_cut=err.cut,
            duration_s=round(duration, 3),
            warnings=warnings + status.values("warning"),
            start_error=next(iter(status.values("error")), None),
        )

    def _watch(
        self,
        proc: subprocess.Popen[bytes],
        limits: Limits,
        started: float,
        out: CappedOutput,
        err: CappedOutput,
        group: RunCgroup,
    ) -> LimitName | None:
        kill_bytes = limits.output_kill_mb * 2**20
        while True:
            try:
                proc.wait(timeout=_POLL_S)
                return None
            except subprocess.TimeoutExpired:
                pass
            if time.monotonic() - started > limits.wall_time_s:
                return "time"
            if out.total + err.total > kill_bytes:
                return "output"
            if group.processes_refused():
                return "processes"


def _feed(proc: subprocess.Popen[bytes], data: bytes) -> None:
    def write() -> None:
        assert proc.stdin is not None
        with contextlib.suppress(OSError):
            proc.stdin.write(data)
            proc.stdin.close()

    threading.Thread(target=write, daemon=True).start()


def _kill_tree(proc: subprocess.Popen[bytes], group: RunCgroup) -> None:
    """Kill the session's process group (and so the pid namespace) and empty the cgroups."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    group.kill_all()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5)
