"""Per-run control groups: a hard cap on processes and memory for one sandboxed run.

Works with cgroup v2 (one unified folder) and v1 (one folder per controller, as on this
machine), whichever the kernel gives a writable folder for. Each run gets its own group
under the supervisor's own, named ``localfactory-<pid>-<n>``; it is emptied (every process
in it killed) and removed when the run ends. When no group can be made the run goes on
with resource limits only, and :attr:`RunCgroup.warnings` says what is missing.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
_counter = itertools.count(1)


def _own_groups() -> dict[str, str]:
    """``{controller or '' for v2: path of this process's group}`` from /proc/self/cgroup."""
    groups: dict[str, str] = {}
    try:
        text = Path("/proc/self/cgroup").read_text()
    except OSError:
        return groups
    for line in text.splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            groups[name] = path
    return groups


def _v2_root() -> Path | None:
    for candidate in (CGROUP_ROOT, CGROUP_ROOT / "unified"):
        if (candidate / "cgroup.controllers").is_file():
            return candidate
    return None


def _write(path: Path, text: str) -> bool:
    try:
        path.write_text(text)
        return True
    except OSError:
        return False


def _words(path: Path) -> list[str]:
    try:
        return path.read_text().split()
    except OSError:
        return []


def _read_counter(path: Path, key: str) -> int:
    try:
        for line in path.read_text().splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


class RunCgroup:
    """The groups of one run: ``folders`` to join, counters to poll, and cleanup."""

    def __init__(self) -> None:
        self.pids: Path | None = None
        self.memory: Path | None = None
        self.v2_memory = False
        self.warnings: list[str] = []
        self._made: list[Path] = []

    @classmethod
    def create(cls, *, max_processes: int, memory_bytes: int) -> RunCgroup:
        group = cls()
        name = f"localfactory-{os.getpid()}-{next(_counter)}"
        own = _own_groups()
        v2 = _v2_root()
        for controller in ("pids", "memory"):
            folder = group._make_v2(v2, own.get("", "/"), name, controller) if v2 else None
            if folder is None and controller in own:
                folder = group._make(CGROUP_ROOT / controller / own[controller].lstrip("/") / name)
            if folder is None:
                group.warnings.append(f"no {controller} cgroup could be made")
                continue
            if controller == "pids":
                group.pids = folder
                _write(folder / "pids.max", str(max_processes))
            else:
                group.memory = folder
                group.v2_memory = (folder / "memory.max").exists()
                limit = "memory.max" if group.v2_memory else "memory.limit_in_bytes"
                _write(folder / limit, str(memory_bytes))
                _write(folder / "memory.swap.max", "0")
        return group

    def _make(self, folder: Path) -> Path | None:
        if folder in self._made:
            return folder
        try:
            folder.mkdir()
        except OSError:
            return None
        self._made.append(folder)
        return folder

    def _make_v2(self, root: Path | None, own: str, name: str, controller: str) -> Path | None:
        if root is None:
            return None
        parent = root / own.lstrip("/")
        if controller not in _words(parent / "cgroup.controllers"):
            return None
        _write(parent / "cgroup.subtree_control", f"+{controller}")
        folder = self._make(parent / name)
        if folder is None or controller not in _words(folder / "cgroup.controllers"):
            return None
        return folder

    def folders(self) -> list[str]:
        return [str(f) for f in self._made]

    def processes_refused(self) -> int:
        """How many forks the process cap has refused so far."""
        return _read_counter(self.pids / "pids.events", "max") if self.pids else 0

    def memory_kills(self) -> int:
        """How many processes the kernel killed for going over the memory cap."""
        if self.memory is None:
            return 0
        if self.v2_memory:
            return _read_counter(self.memory / "memory.events", "oom_kill")
        return _read_counter(self.memory / "memory.oom_control", "oom_kill")

    def kill_all(self) -> None:
        """SIGKILL every process left in the groups, until they are empty (at most ~2 s)."""
        for folder in self._made:
            if _write(folder / "cgroup.kill", "1"):
                continue
            for _ in range(40):
                pids = _pids_in(folder)
                if not pids:
                    break
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.05)

    def remove(self) -> None:
        self.kill_all()
        for folder in reversed(self._made):
            for _ in range(40):
                try:
                    folder.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.05)
        self._made.clear()


def _pids_in(folder: Path) -> list[int]:
    try:
        return [int(p) for p in (folder / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []
