"""A Docker engine for twins: find one, or set one up where none runs.

``python -m localfactory.twins.engine ensure`` is idempotent: when an engine already
answers it says so and does nothing. Otherwise, as root, it installs Debian's
``docker.io`` (and ``debootstrap``, which bootstraps base images) with apt-get when they
are missing, starts ``dockerd`` detached with no bridge network (``--bridge=none
--iptables=false --ip-masq=false``: containers use host networking, so all their
traffic stays on loopback), keeps its data root and log under :func:`engine_dir`, and
waits until the engine answers. ``status`` reports, ``stop`` stops an engine it started.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from localfactory import locations
from localfactory.errors import UserError

if TYPE_CHECKING:
    import docker

DEFAULT_HOST = "unix:///var/run/docker.sock"
DOCKERD_FLAGS = ("--bridge=none", "--iptables=false", "--ip-masq=false")
PACKAGES = ("docker.io", "debootstrap")
START_TIMEOUT_S = 90.0

Say = Callable[[str], None]


def engine_dir() -> Path:
    """Where an engine started here keeps its data root, pid file and log."""
    return locations.cache_dir() / "docker-engine"


def engine_host(configured: str | None = None) -> str:
    """The engine to talk to: the setting, else ``DOCKER_HOST``, else the standard socket."""
    return configured or os.environ.get("DOCKER_HOST") or DEFAULT_HOST


def engine_version(host: str, timeout: float = 5.0) -> str | None:
    """The engine's version when one answers at ``host``, else None."""
    try:
        return str(_client(host, timeout).version().get("Version", "?"))
    except Exception:  # any failure to reach or talk to it means: no engine here
        return None


def connect(configured: str | None = None, timeout: float = 120.0) -> docker.DockerClient:
    """A client of the engine; a :class:`UserError` with what to do when none answers."""
    host = engine_host(configured)
    try:
        return _client(host, timeout)
    except Exception:
        raise UserError(
            f"No Docker engine is reachable at {host}; start one, or use --local.",
            hint="As root, `python -m localfactory.twins.engine ensure` installs and starts one.",
        ) from None


def _client(host: str, timeout: float) -> docker.DockerClient:
    import docker

    # "auto" asks the engine its API version (Debian's 20.10 engine speaks 1.41).
    return docker.DockerClient(base_url=host, version="auto", timeout=timeout)


def _socket_path(host: str) -> Path | None:
    return Path(host.removeprefix("unix://")) if host.startswith("unix://") else None


def _pid_file() -> Path:
    return engine_dir() / "dockerd.pid"


def _log_file() -> Path:
    return engine_dir() / "dockerd.log"


def _our_dockerd() -> int | None:
    """The pid of a dockerd this module started, when it still runs."""
    try:
        pid = int(_pid_file().read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    return pid if b"dockerd" in cmdline else None


def _missing(packages: tuple[str, ...]) -> list[str]:
    tools = {"docker.io": "dockerd", "debootstrap": "debootstrap"}
    return [package for package in packages if shutil.which(tools[package]) is None]


def _install(missing: list[str], say: Say) -> None:
    wanted = " ".join(missing)
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise UserError(
            f"{', '.join(missing)} is not installed and this user cannot install it "
            "(it takes root and apt-get).",
            hint=f"Install it with `sudo apt-get install -y {wanted}`, or use --local.",
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-q", *missing]
    say(f"Installing {wanted} with apt-get ...")
    if subprocess.run(command, env=env, capture_output=True).returncode != 0:
        say("Refreshing apt's package lists (apt-get update) ...")
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True)
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
            raise UserError(f"apt-get could not install {wanted}: {tail[0]}")


def _start(host: str, say: Say) -> int:
    socket = _socket_path(host)
    if socket is None:
        raise UserError(
            f"No Docker engine answers at {host}, and only an engine on a local socket "
            "(unix://...) can be started from here.",
            hint="Start that engine, or unset DOCKER_HOST / [twins] docker_host.",
        )
    if os.geteuid() != 0:
        raise UserError(
            f"No Docker engine answers at {host}, and starting dockerd takes root.",
            hint="Run `sudo python -m localfactory.twins.engine ensure`, or use --local.",
        )
    missing = _missing(PACKAGES)
    if missing:
        _install(missing, say)
    folder = engine_dir()
    (folder / "data").mkdir(parents=True, exist_ok=True)
    socket.parent.mkdir(parents=True, exist_ok=True)
    command = [
        "dockerd",
        *DOCKERD_FLAGS,
        f"--data-root={folder / 'data'}",
        f"--pidfile={_pid_file()}",
        f"--host={host}",
    ]
    with _log_file().open("ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(command)}\n".encode())
        log.flush()
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives this command, like a service would
            close_fds=True,
        )
    say(f"Started dockerd (pid {child.pid}); data in {folder / 'data'}, log {_log_file()}.")
    return child.pid


def ensure(configured: str | None = None, say: Say = print) -> str:
    """Make sure an engine answers; returns its version. Raises :class:`UserError` when it cannot."""
    host = engine_host(configured)
    version = engine_version(host)
    if version is not None:
        # Base images are bootstrapped with debootstrap: have it wherever it can be installed.
        missing = _missing(("debootstrap",))
        if missing and os.geteuid() == 0 and shutil.which("apt-get"):
            _install(missing, say)
        say(f"A Docker engine (version {version}) already answers at {host}.")
        return version
    pid = _our_dockerd()
    if pid is not None:
        say(f"dockerd (pid {pid}) is starting; waiting for it.")
    else:
        pid = _start(host, say)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        version = engine_version(host, timeout=2.0)
        if version is not None:
            say(f"The Docker engine (version {version}) answers at {host}.")
            return version
        if not Path(f"/proc/{pid}").exists():
            break
        time.sleep(0.5)
    raise UserError(
        f"dockerd did not answer at {host} within {START_TIMEOUT_S:.0f} s: {_last_lines()}",
        hint=f"Its log is {_log_file()}.",
    )


def stop(say: Say = print) -> bool:
    """Stop the dockerd this module started (its containers stop with it)."""
    pid = _our_dockerd()
    if pid is None:
        say("No dockerd started by localfactory runs.")
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    if Path(f"/proc/{pid}").exists():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    say(f"Stopped dockerd (pid {pid}).")
    return True


def _last_lines(count: int = 3) -> str:
    try:
        lines = _log_file().read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(lines[-count:]) or "(empty log)"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m localfactory.twins.engine",
        description="Find, set up or stop the Docker engine that runs twin images.",
    )
    parser.add_argument("action", choices=("ensure", "status", "stop"))
    parser.add_argument("--host", default=None, help="engine address (default: DOCKER_HOST)")
    args = parser.parse_args(argv)
    try:
        if args.host is None:
            from localfactory.config import load_settings

            args.host = load_settings().twins.docker_host
        if args.action == "ensure":
            ensure(args.host)
        elif args.action == "stop":
            stop()
        else:
            host = engine_host(args.host)
            version = engine_version(host)
            print(f"Docker engine {version} at {host}" if version else f"No engine at {host}.")
            sys.exit(0 if version else 1)
    except UserError as exc:
        print(f"localfactory: {exc}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
