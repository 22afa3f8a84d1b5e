"""The sandbox in a Docker container: one throwaway container per command.

:class:`DockerSandbox` runs a command the way :class:`~localfactory.sandbox.local.LocalSandbox`
does, and its :class:`RunResult` means the same, but the confinement is the engine's:

- no network (``network_mode="none"``; ``host`` when :attr:`Limits.network` allows it);
- the workspace bind-mounted read-write at its own path, so paths in output match the
  host's; localfactory's package folder mounted read-only (the holdout driver runs from
  it); the image's root read-only, so nothing else can be written;
- memory (``mem_limit``, no swap, and the per-process address-space limit), processes
  (``pids_limit``), file size and open files from :class:`Limits`; CPU when asked;
- no capabilities, no new privileges, and a user that is not root: the workspace's
  owner, or ``nobody`` when that is root (see :mod:`localfactory.sandbox.docker_user`);
- the supervisor enforces the wall time and the output size, kills the container on
  either, and removes the container after every run.

The host's interpreter in ``argv`` (``sys.executable``, as the factory's checks use it) is
mapped to the container's Python, which has pytest, ruff and mypy at the versions
installed here (see :mod:`localfactory.sandbox.docker_image`). Process 1 in the container
is :mod:`localfactory.sandbox.container_init`, which reports how the command ended.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import localfactory
from localfactory.sandbox.base import LimitName, Limits, RunResult, Sandbox, SandboxError
from localfactory.sandbox.docker_image import (
    PYTHON,
    SANDBOX_LABEL,
    SOURCE_MOUNT,
    TOOLS,
    VENV,
    SandboxImage,
)
from localfactory.sandbox.docker_streams import Streams, feed
from localfactory.sandbox.docker_user import run_as
from localfactory.sandbox.shared import (
    limit_from_signs,
    process_rlimits,
    run_environment,
    start_run,
)

if TYPE_CHECKING:
    import docker

    from localfactory.config import TwinsSettings

CONTAINER_PATH = f"{VENV}/bin:/usr/local/bin:/usr/bin:/bin"
INIT = f"{SOURCE_MOUNT}/localfactory/sandbox/container_init.py"
_MAPPED_TOOLS = frozenset({*TOOLS, "python", "python3"})
_POLL_S = 0.05
_INIT_GRACE_S = 10.0
"""How long after the wall-time limit the container's init ends the run by itself."""
_MARKER = "@@localfactory-sandbox-status@@"
"""Starts the init's report; a per-run nonce follows it, so only that run's report matches."""


def container_argv(argv: Sequence[str], host_python: str = sys.executable) -> list[str]:
    """``argv`` with the host's interpreter (and the image's tools next to it) as the container's.

    Every argument that is the host's interpreter becomes the container's Python; a
    command that is one of the image's tools (or a ``python``) in the host interpreter's
    folder (``.venv/bin/pytest``) becomes the container's. Anything else is left as it is.
    """
    pythons = {host_python, os.path.realpath(host_python)}
    mapped = [PYTHON if arg in pythons else arg for arg in argv]
    if mapped and mapped[0] != PYTHON:
        first = Path(mapped[0])
        if first.parent == Path(host_python).parent and first.name in _MAPPED_TOOLS:
            mapped[0] = f"{VENV}/bin/{first.name}"
    return mapped


class DockerSandbox(Sandbox):
    """Runs each command in a fresh container of the sandbox image (see the module text)."""

    name = "docker"

    def __init__(
        self,
        workspace: Path,
        limits: Limits | None = None,
        *,
        image: SandboxImage | None = None,
        cpus: float | None = None,
    ) -> None:
        super().__init__(workspace, limits)
        if image is None:
            from localfactory.config import load_settings

            image = shared_image(load_settings().twins)
        self.image = image
        self.cpus = cpus

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
        client, tag = self.image.ready()
        data = stdin.encode() if isinstance(stdin, str) else stdin
        user, lease = run_as(self.workspace)
        with lease:
            return self._supervise(client, tag, command, limits, workdir, env, data, user)

    def _host_config(self, client: docker.DockerClient, limits: Limits) -> dict[str, Any]:
        from docker.types import LogConfig

        mb = 2**20
        package = Path(localfactory.__file__).resolve().parent
        binds = {
            str(self.workspace): {"bind": str(self.workspace), "mode": "rw"},
            str(package): {"bind": f"{SOURCE_MOUNT}/localfactory", "mode": "ro"},
        }
        config: dict[str, Any] = client.api.create_host_config(
            binds=binds,
            network_mode="host" if limits.network else "none",
            mem_limit=limits.memory_mb * mb,
            memswap_limit=limits.memory_mb * mb,
            pids_limit=limits.max_processes,
            nano_cpus=int(self.cpus * 1e9) if self.cpus else None,
            read_only=True,
            cap_drop=["ALL"],
            security_opt=["no-new-privileges"],
            log_config=LogConfig(type="none"),
        )
        return config

    def _supervise(
        self,
        client: docker.DockerClient,
        tag: str,
        argv: list[str],
        limits: Limits,
        workdir: Path,
        env: Mapping[str, str] | None,
        stdin: bytes | None,
        user: str,
    ) -> RunResult:
        import docker.errors

        marker = f"{_MARKER} {secrets.token_hex(8)} "
        deadline = limits.wall_time_s + _INIT_GRACE_S
        init_config = json.dumps(
            {"marker": marker, "deadline_s": deadline, "rlimits": process_rlimits(limits)}
        )
        api = client.api
        try:
            container = api.create_container(
                tag,
                ["python3", "-I", "-S", INIT, init_config, "--", *container_argv(argv)],
                user=user,
                working_dir=str(workdir),
                environment=run_environment(self.workspace, CONTAINER_PATH, env),
                stdin_open=stdin is not None,
                host_config=self._host_config(client, limits),
                labels={SANDBOX_LABEL: "run"},
            )["Id"]
        except docker.errors.APIError as exc:
            raise SandboxError(
                f"The Docker engine could not create the sandbox's container: {exc.explanation or exc}"
            ) from None
        attached = None
        try:
            params = {"stdin": int(stdin is not None), "stdout": 1, "stderr": 1, "stream": 1}
            attached = api.attach_socket(container, params=params)
            streams = Streams(attached, marker, limits.output_kb * 1024)
            streams.start()
            started = time.monotonic()
            api.start(container)
            if stdin is not None:
                feed(attached, stdin)
            limit = _watch(streams, limits, started)
            if limit is not None:
                with contextlib.suppress(docker.errors.APIError):
                    api.kill(container)
            streams.join(10.0)
            duration = time.monotonic() - started
            code = _exit_status(api, container)
            oom_killed = bool(api.inspect_container(container)["State"].get("OOMKilled"))
        except docker.errors.APIError as exc:
            raise SandboxError(
                f"The Docker engine failed while running the sandbox's container: "
                f"{exc.explanation or exc}"
            ) from None
        finally:
            if attached is not None:
                with contextlib.suppress(OSError):
                    attached.close()
            with contextlib.suppress(docker.errors.APIError):
                api.remove_container(container, force=True)
        for stream in (streams.out, streams.err):
            stream.join(2.0)
        return _result(argv, limit, streams, code, oom_killed, duration)


def _exit_status(api: Any, container: str) -> int:
    """The container's exit status; should its stream have ended while it still runs, it is
    killed first (a run never outlives its supervisor's watch)."""
    import docker.errors
    import requests

    try:
        return int(api.wait(container, timeout=10).get("StatusCode", -1))
    except (docker.errors.APIError, requests.exceptions.RequestException):
        with contextlib.suppress(docker.errors.APIError):
            api.kill(container)
        return int(api.wait(container, timeout=30).get("StatusCode", -1))


def _watch(streams: Streams, limits: Limits, started: float) -> LimitName | None:
    """Wait for the container's stream to end; the limit that ends it first, if any."""
    kill_bytes = limits.output_kill_mb * 2**20
    while streams.is_alive():
        streams.join(_POLL_S)
        if not streams.is_alive():
            return None
        if time.monotonic() - started > limits.wall_time_s:
            return "time"
        if streams.total > kill_bytes:
            return "output"
    return None


def _result(
    argv: list[str],
    limit: LimitName | None,
    streams: Streams,
    code: int,
    oom_killed: bool,
    duration: float,
) -> RunResult:
    status = streams.status or {}
    if "exit" in status:
        exit_code, sig = status["exit"], status.get("signal")
    elif 128 < code <= 128 + 64:  # no report: the init itself was killed (a limit, the supervisor)
        exit_code, sig = None, code - 128
    else:
        exit_code, sig = code, None
    stderr = streams.err.text()
    if limit is None:
        limit = limit_from_signs(
            exit_code,
            stderr,
            processes_refused=int(status.get("processes_refused", 0)),
            memory_kills=int(status.get("memory_kills", 0)) or int(oom_killed),
        )
    return RunResult(
        argv=argv,
        exit_code=exit_code,
        signal=sig,
        timed_out=limit == "time",
        limit=limit,
        stdout=streams.out.text(),
        stderr=stderr,
        stdout_cut=streams.out.cut,
        stderr_cut=streams.err.cut,
        duration_s=round(duration, 3),
        start_error=status.get("error"),
    )


_images: dict[tuple[str | None, str], SandboxImage] = {}
_images_lock = threading.Lock()


def shared_image(settings: TwinsSettings, say: Callable[[str], None] = print) -> SandboxImage:
    """One :class:`SandboxImage` per engine and base image in this process, so it is made ready once."""
    key = (settings.docker_host, settings.base_image)
    with _images_lock:
        if key not in _images:
            _images[key] = SandboxImage(settings, say)
        return _images[key]


class DockerSandboxes:
    """The factory's ``make_sandbox`` for Docker: every sandbox shares one engine and image."""

    def __init__(self, image: SandboxImage, *, cpus: float | None = None) -> None:
        self.image = image
        self.cpus = cpus

    def __call__(self, workspace: Path, limits: Limits | None = None) -> DockerSandbox:
        return DockerSandbox(workspace, limits, image=self.image, cpus=self.cpus)

    def prepare(self) -> None:
        """Reach the engine and build the image now, rather than at the first check."""
        self.image.ready()
