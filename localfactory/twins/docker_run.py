"""Twins running in Docker containers: start, find, stop and read the logs of them.

A twin's container is named ``localfactory-twin-NAME-SCOPE`` and uses host networking, so it
listens on the host's 127.0.0.1 like a local process would and sends nothing off the
machine. Its address and start time are container labels: the engine itself is the
record. The twin's snapshot folder (the same one ``up --local`` uses) is mounted into
the container, so ``--restore`` and ``POST /_twin/snapshot`` work alike in both modes.
"""

from __future__ import annotations

import hashlib
import json
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from localfactory.errors import UserError
from localfactory.twins import processes
from localfactory.twins.catalog import TwinManifest
from localfactory.twins.docker import SNAPSHOTS, TWIN_LABEL

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5


SCOPE_LABEL = "io.localfactory.scope"


def scope() -> str:
    """Containers belong to one twins folder, like local records: tests with their own
    ``XDG_DATA_HOME`` neither see nor stop a developer's twins."""
    return hashlib.sha256(str(processes.twins_dir().resolve()).encode()).hexdigest()[:8]


def container_name(name: str) -> str:
    return f"localfactory-twin-{name}-{scope()}"


@dataclass(frozen=True)
class TwinContainer:
    """A twin's container, as the engine describes it."""

    name: str
    short_id: str
    image: str
    host: str
    port: int
    base_path: str
    started_at: float
    status: str

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url + (self.base_path or "/")

    @classmethod
    def of(cls, container: Container) -> TwinContainer:
        labels = container.labels
        tags = container.image.tags if container.image is not None else []
        return cls(
            name=labels[TWIN_LABEL],
            short_id=container.short_id,
            image=tags[0] if tags else container.attrs.get("Config", {}).get("Image", "?"),
            host=labels.get("io.localfactory.host", "127.0.0.1"),
            port=int(labels.get("io.localfactory.port", "0")),
            base_path=labels.get("io.localfactory.base_path", ""),
            started_at=float(labels.get("io.localfactory.started_at", "0")),
            status=container.status,
        )


def health(url: str, timeout: float = 1.0) -> dict[str, Any] | None:
    """The twin's ``/_twin/health`` answer, or None when it does not answer."""
    try:
        with urllib.request.urlopen(f"{url}/_twin/health", timeout=timeout) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except (OSError, ValueError):
        return None


def _container(client: docker.DockerClient, name: str) -> Container | None:
    import docker.errors

    try:
        return client.containers.get(container_name(name))
    except docker.errors.NotFound:
        return None


def find(client: docker.DockerClient, name: str) -> TwinContainer | None:
    container = _container(client, name)
    return TwinContainer.of(container) if container is not None else None


def all_containers(client: docker.DockerClient) -> list[TwinContainer]:
    found = client.containers.list(all=True, filters={"label": f"{SCOPE_LABEL}={scope()}"})
    return sorted((TwinContainer.of(c) for c in found), key=lambda c: c.name)


def start(
    client: docker.DockerClient,
    manifest: TwinManifest,
    *,
    image: str,
    host: str,
    port: int,
    restore: str | None = None,
) -> TwinContainer:
    """Run the twin's image with host networking and wait until it answers its health check."""
    name = manifest.name
    existing = _container(client, name)
    if existing is not None and existing.status == "running":
        raise UserError(
            f"The {name} twin is already running in Docker at {TwinContainer.of(existing).api_url}.",
            hint=f"Stop it first with `localfactory twin down {name}`.",
        )
    local = processes.read_record(name)
    if local is not None and processes.is_alive(local):
        raise UserError(
            f"The {name} twin is already running as a local process at {local.api_url}.",
            hint=f"Stop it first with `localfactory twin down {name}`.",
        )
    if not processes._port_is_free(host, port):
        raise UserError(
            f"Port {port} on {host} is already in use.",
            hint=f"Choose another with `localfactory twin up {name} --port P`.",
        )
    snapshots = processes.snapshot_dir(name)
    snapshots.mkdir(parents=True, exist_ok=True)
    if restore is not None and not (snapshots / f"{restore}.json").is_file():
        saved = sorted(p.stem for p in snapshots.glob("*.json"))
        raise UserError(
            f"The {name} twin has no snapshot named {restore!r}.",
            hint=f"Saved snapshots: {', '.join(saved) or '(none)'}, in {snapshots}.",
        )
    if existing is not None:
        existing.remove(force=True)  # an exited leftover holds the name
    command = ["--host", host, "--port", str(port), "--snapshot-dir", SNAPSHOTS]
    if restore is not None:
        command += ["--restore", restore]
    started_at = time.time()
    container = client.containers.run(
        image,
        command,
        name=container_name(name),
        detach=True,
        network_mode="host",
        labels={
            TWIN_LABEL: name,
            SCOPE_LABEL: scope(),
            "io.localfactory.host": host,
            "io.localfactory.port": str(port),
            "io.localfactory.base_path": manifest.base_path,
            "io.localfactory.started_at": f"{started_at:.3f}",
        },
        volumes={str(snapshots): {"bind": SNAPSHOTS, "mode": "rw"}},
    )
    twin = TwinContainer.of(container)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if health(twin.url, timeout=0.5) is not None:
            return twin
        container.reload()
        if container.status not in ("created", "running"):
            last = container.logs(tail=1).decode(errors="replace").strip() or "(no output)"
            container.remove(force=True)
            raise UserError(f"The {name} twin's container exited as it started: {last}")
        time.sleep(0.1)
    stop(client, name)
    raise UserError(
        f"The {name} twin's container did not answer on {twin.url} within {START_TIMEOUT_S:.0f} s.",
        hint=f"Its output was kept in {processes.log_path(name)}.",
    )


def stop(client: docker.DockerClient, name: str) -> TwinContainer | None:
    """Stop and remove the twin's container, keeping its output in the twin's log file."""
    container = _container(client, name)
    if container is None:
        return None
    twin = TwinContainer.of(container)
    if container.status == "running":
        container.stop(timeout=STOP_TIMEOUT_S)
    output = container.logs()
    log = processes.log_path(name)
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(twin.started_at))
        out.write(f"--- {stamp} container {twin.short_id} of {twin.image}\n".encode())
        out.write(output)
    container.remove(force=True)
    return twin


def logs(client: docker.DockerClient, name: str, lines: int, follow: bool) -> Iterator[str]:
    """The container's output, the last ``lines`` of it (0: all), following it when asked."""
    container = _container(client, name)
    if container is None:
        return
    tail: int | str = lines if lines > 0 else "all"
    if not follow:
        yield from container.logs(tail=tail).decode(errors="replace").splitlines()
        return
    pending = ""
    for chunk in container.logs(tail=tail, stream=True, follow=True):
        pending += chunk.decode(errors="replace")
        *complete, pending = pending.split("\n")
        yield from complete
