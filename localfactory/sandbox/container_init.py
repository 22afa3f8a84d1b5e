"""Process 1 of a Docker sandbox's container: runs the command and says how it ended.

Run as ``python3 -I -S container_init.py CONFIG_JSON -- ARGV...`` by :class:`DockerSandbox`
from the package folder mounted read-only into the container, so it needs only the
standard library (and the launcher next to it). The package never imports it. It exists because the engine alone
cannot tell the supervisor what :class:`RunResult` needs:

- whether the command exited or was killed by a signal (the engine folds both into one
  exit code), and whether it could be started at all;
- the container's cgroup counters (forks the process limit refused, processes the memory
  limit killed), which vanish with the container;
- as process 1 it also reaps orphans, and kills every process left once the command
  ends, so nothing writes after its report; and it ends the container itself shortly
  after the wall-time limit, should the supervisor have died without killing it.

The report is the last line of stderr: the marker the supervisor chose for the run, then
JSON. The supervisor takes it off the output and reads it; the command cannot write after
it (it is dead by then).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Any, NoReturn

# cgroup v1 (one folder per controller, mounted read-only by the engine) and v2.
_PIDS_EVENTS = ("/sys/fs/cgroup/pids/pids.events", "/sys/fs/cgroup/pids.events")
_MEMORY_EVENTS = ("/sys/fs/cgroup/memory/memory.oom_control", "/sys/fs/cgroup/memory.events")


def counter(paths: tuple[str, ...], key: str) -> int:
    """The first readable ``key value`` line among ``paths`` (0 when none can be read)."""
    for path in paths:
        try:
            with open(path) as fh:
                for line in fh:
                    name, _, value = line.partition(" ")
                    if name == key:
                        return int(value)
        except (OSError, ValueError):
            continue
    return 0


def report(marker: str, **status: Any) -> None:
    status["processes_refused"] = counter(_PIDS_EVENTS, "max")
    status["memory_kills"] = counter(_MEMORY_EVENTS, "oom_kill")
    line = f"\n{marker}{json.dumps(status)}\n".encode()
    with contextlib.suppress(OSError):
        os.write(2, line)


def kill_the_rest() -> None:
    """As process 1, ``kill(-1)`` reaches every other process in the container."""
    with contextlib.suppress(OSError):
        os.kill(-1, signal.SIGKILL)
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return
        except InterruptedError:
            continue


def start(
    argv: list[str], set_limits: Callable[[dict[str, int]], None], limits: dict[str, int]
) -> tuple[int, str | None]:
    """Fork and exec the command; its pid, and why exec failed (read from a close-on-exec pipe)."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        for sig in (signal.SIGALRM, signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_DFL)
        try:
            set_limits(limits)
            os.execvp(argv[0], argv)
        except OSError as exc:
            os.write(write_fd, f"cannot start {argv[0]!r}: {exc.strerror or exc}".encode())
        os._exit(127)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        error = pipe.read().decode(errors="replace") or None
    return pid, error


def main() -> NoReturn:
    config = json.loads(sys.argv[1])
    argv = sys.argv[3:]
    marker = config["marker"]
    # The command's resource limits are set as the local sandbox's first process sets them,
    # here rather than by the engine: the runtime's own start-up (a Go program) would not get
    # far under the address-space limit. Run with -I, this folder is not on the path.
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from launcher import set_limits

    def out_of_time(signum: int, frame: object) -> None:
        kill_the_rest()
        report(marker, exit=None, signal=signal.SIGKILL, deadline=True)
        os._exit(128 + signal.SIGKILL)

    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(max(1, int(config["deadline_s"]) + 1))
    pid, error = start(argv, set_limits, config["rlimits"])
    while True:
        try:
            done, status = os.waitpid(-1, 0)
        except ChildProcessError:  # cannot happen while the command lives; be safe anyway
            status = 0
            break
        except InterruptedError:
            continue
        if done == pid:
            break
    kill_the_rest()
    if error is not None:
        report(marker, exit=127, signal=None, error=error)
        os._exit(127)
    if os.WIFSIGNALED(status):
        report(marker, exit=None, signal=os.WTERMSIG(status))
        os._exit(128 + os.WTERMSIG(status))
    report(marker, exit=os.WEXITSTATUS(status), signal=None)
    os._exit(os.WEXITSTATUS(status))


if __name__ == "__main__":
    main()
