"""Twins running as local background processes: start, find, check and stop them.

``localfactory twin up NAME --local`` starts ``python -m localfactory.twins.serve NAME``
as a detached process (its own session, so it outlives the command) and records its
pid, address and log file in ``$XDG_DATA_HOME/localfactory/twins/run/NAME.json``. The
other commands read those records; a record whose process is gone is reported as such.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from localfactory import locations
from localfactory.errors import UserError
from localfactory.twins.catalog import TwinManifest

SERVE_MODULE = "localfactory.twins.serve"
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class TwinProcess:
    """What ``up`` recorded about a twin it started."""

    name: str
    pid: int
    host: str
    port: int
    log: str
    base_path: str
    started_at: float

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url + (self.base_path or "/")


def twins_dir() -> Path:
    return locations.data_dir() / "twins"


def run_dir() -> Path:
    return twins_dir() / "run"


def log_path(name: str) -> Path:
    return run_dir() / f"{name}.log"


def _record_path(name: str) -> Path:
    return run_dir() / f"{name}.json"


def read_record(name: str) -> TwinProcess | None:
    path = _record_path(name)
    try:
        return TwinProcess(**json.loads(path.read_text()))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError):
        path.unlink(missing_ok=True)  # a torn or foreign file: nothing we can stop
        return None


def all_records() -> list[TwinProcess]:
    folder = run_dir()
    if not folder.is_dir():
        return []
    found = (read_record(p.stem) for p in sorted(folder.glob("*.json")))
    return [r for r in found if r is not None]


def is_alive(record: TwinProcess) -> bool:
    """Whether the recorded pid is still our twin (not a zombie, not a recycled pid)."""
    proc = Path(f"/proc/{record.pid}")
    try:
        cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        status = (proc / "status").read_text()
    except OSError:
        return False
    zombie = any(
        line.startswith("State:") and "Z" in line.split()[1] for line in status.splitlines()
    )
    return not zombie and SERVE_MODULE.encode() in cmdline and record.name.encode() in cmdline


def health(record: TwinProcess, timeout: float = 1.0) -> dict[str, Any] | None:
    """The twin's ``/_twin/health`` answer, or None when it does not answer."""
    try:
        with urllib.request.urlopen(f"{record.url}/_twin/health", timeout=timeout) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except (OSError, ValueError, urllib.error.URLError):
        return None


def _port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def snapshot_dir(name: str) -> Path:
    """Where a twin started by ``up`` keeps its snapshots."""
    return twins_dir() / name / "snapshots"


def start_local(
    manifest: TwinManifest, *, host: str, port: int, restore: str | None = None
) -> TwinProcess:
    """Start the twin as a detached process and wait until it answers its health check."""
    existing = read_record(manifest.name)
    if existing is not None and is_alive(existing):
        raise UserError(
            f"The {manifest.name} twin is already running at {existing.api_url} (pid {existing.pid}).",
            hint=f"Stop it first with `localfactory twin down {manifest.name}`.",
        )
    if not _port_is_free(host, port):
        raise UserError(
            f"Port {port} on {host} is already in use.",
            hint=f"Choose another with `localfactory twin up {manifest.name} --local --port P`.",
        )
    run_dir().mkdir(parents=True, exist_ok=True)
    log = log_path(manifest.name)
    snapshots = snapshot_dir(manifest.name)
    if restore is not None and not (snapshots / f"{restore}.json").is_file():
        saved = sorted(p.stem for p in snapshots.glob("*.json")) if snapshots.is_dir() else []
        raise UserError(
            f"The {manifest.name} twin has no snapshot named {restore!r}.",
            hint=f"Saved snapshots: {', '.join(saved) or '(none)'}, in {snapshots}.",
        )
    command = [
        sys.executable,
        "-m",
        SERVE_MODULE,
        manifest.name,
        "--host",
        host,
        "--port",
        str(port),
    ]
    command += ["--snapshot-dir", str(snapshots)]
    if restore is not None:
        command += ["--restore", restore]
    with log.open("ab") as out:
        out.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} starting {manifest.name}\n".encode())
        out.flush()
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    record = TwinProcess(
        name=manifest.name,
        pid=child.pid,
        host=host,
        port=port,
        log=str(log),
        base_path=manifest.base_path,
        started_at=time.time(),
    )
    _record_path(manifest.name).write_text(json.dumps(asdict(record), indent=2))
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if child.poll() is not None:
            _record_path(manifest.name).unlink(missing_ok=True)
            raise UserError(
                f"The {manifest.name} twin exited as it started: {_last_line(log)}",
                hint=f"Its log is {log} (`localfactory twin logs {manifest.name}`).",
            )
        if health(record, timeout=0.5) is not None:
            return record
        time.sleep(0.1)
    stop(record)
    raise UserError(
        f"The {manifest.name} twin did not answer on {record.url} within {START_TIMEOUT_S:.0f} s.",
        hint=f"Its log is {log}.",
    )


def stop(record: TwinProcess) -> bool:
    """Stop the recorded process (TERM, then KILL) and forget it; False when it had already gone."""
    was_alive = is_alive(record)
    if was_alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while is_alive(record) and time.monotonic() < deadline:
            time.sleep(0.05)
        if is_alive(record):
            with contextlib.suppress(ProcessLookupError):
                os.kill(record.pid, signal.SIGKILL)
    _record_path(record.name).unlink(missing_ok=True)
    return was_alive


def _last_line(log: Path) -> str:
    try:
        lines = [line for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "(no log)"
    return lines[-1] if lines else "(empty log)"
