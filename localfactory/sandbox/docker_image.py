"""The Docker sandbox's image: python3 with pytest, ruff and mypy, built once with no network.

It is built on the twins' offline base image (Debian bootstrapped with debootstrap, see
:mod:`localfactory.twins.docker_base`), from wheels installed with ``--no-index``. The
tools are the versions installed here, and so are their dependencies (a constraints
file), so a check gives the same answer in the container as it would outside it. The
wheels are fetched once for the image's Python with ``pip download`` and kept in a
wheelhouse; later builds need no package index.

localfactory itself is not in the image: the package folder this process runs from is
mounted read-only at :data:`SOURCE_MOUNT` for each run (a ``.pth`` file puts it on the
path), so the holdout driver and the container's init are always the current code and
a change to them never needs a new image. The tag is a digest of everything that does
go into the image, so a new tool version builds a new image by itself.
"""

from __future__ import annotations

import fcntl
import hashlib
import re
import tempfile
import threading
from collections.abc import Callable, Iterable
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from localfactory import locations
from localfactory.errors import UserError

if TYPE_CHECKING:
    import docker

    from localfactory.config import TwinsSettings
    from localfactory.twins.docker_wheels import ImagePython

Say = Callable[[str], None]

TOOLS = ("pytest", "ruff", "mypy")
"""What the factory's checks run inside the sandbox (``python -m pytest`` and so on)."""

PACKAGES = (*TOOLS, "pytest-timeout")
"""What the image installs: the tools, and the pytest plugin that stops a test that hangs."""

VENV = "/opt/sandbox"
PYTHON = f"{VENV}/bin/python"
SOURCE_MOUNT = "/opt/localfactory/src"
"""Where the host's localfactory package is mounted (read-only) as ``SOURCE_MOUNT/localfactory``."""

IMAGE_REPOSITORY = "localfactory/sandbox"
SANDBOX_LABEL = "io.localfactory.sandbox"

_DOCKERFILE = """\
FROM {base}
COPY wheels /tmp/wheels
RUN python3 -m venv {venv} \\
 && {venv}/bin/pip install --quiet --no-index --no-cache-dir --disable-pip-version-check \\
    --find-links /tmp/wheels --constraint /tmp/wheels/constraints.txt {requirements} \\
 && rm -rf /tmp/wheels \\
 && echo {source} > "$({venv}/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/localfactory-source.pth"
ENV PATH={venv}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    LANG=C.UTF-8
LABEL {label}={key}
"""


def _name_of(requirement: str) -> str | None:
    """The distribution a ``Requires-Dist`` line names, unless it only comes with an extra."""
    if "extra ==" in requirement.replace('"', "").replace("'", ""):
        return None
    found = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return found.group(1) if found else None


def installed_pins(roots: Iterable[str] = PACKAGES) -> dict[str, str]:
    """``{name: "name==version"}`` for ``roots`` and everything they need, as installed here.

    A dependency not installed here (one for another Python, say) is left to pip.
    """
    pins: dict[str, str] = {}
    todo = list(roots)
    while todo:
        name = todo.pop()
        key = re.sub(r"[-_.]+", "-", name).lower()
        if key in pins:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        pins[key] = f"{dist.metadata['Name']}=={dist.version}"
        todo += [n for n in map(_name_of, dist.requires or []) if n]
    return pins


def fetch_wheels(target: ImagePython, pins: dict[str, str], dest: Path, say: Say) -> None:
    """The tools' wheels for ``target`` into ``dest`` (with ``constraints.txt``), from the wheelhouse
    when it has them, else from the package index once."""
    wheelhouse = (
        locations.cache_dir() / "sandbox" / "wheels" / f"{target.abi}-{target.platforms[0]}"
    )
    wheelhouse.mkdir(parents=True, exist_ok=True)
    constraints = wheelhouse / "constraints.txt"
    constraints.write_text("".join(f"{pin}\n" for pin in sorted(pins.values())))
    from localfactory.twins.docker_wheels import download_wheels

    requirements = [pins.get(tool, tool) for tool in PACKAGES]
    problem = download_wheels(
        target, requirements, wheelhouse, say=say, extra=("--constraint", str(constraints)),
        announce=f"Fetching the wheels of {', '.join(requirements)} for {target.abi} (once) ...",
    )  # fmt: skip
    if problem is not None:
        raise UserError(
            f"pip could not fetch the wheels the Docker sandbox needs: {problem}",
            hint=f"Put them in {wheelhouse} (pip download), or use sandbox = "
            '"local" under [factory].',
        )
    dest.mkdir(parents=True, exist_ok=True)
    for wheel in [*wheelhouse.glob("*.whl"), constraints]:
        (dest / wheel.name).write_bytes(wheel.read_bytes())


def no_engine_error(host: str) -> UserError:
    return UserError(
        f"No Docker engine is reachable at {host}, and factory.sandbox is 'docker'.",
        hint="Start one with: python -m localfactory.twins.engine ensure (as root), or set "
        'sandbox = "local" under [factory].',
    )


class SandboxImage:
    """The engine and the image every Docker sandbox of this process uses, made ready once."""

    def __init__(self, settings: TwinsSettings, say: Say = print) -> None:
        self.settings = settings
        self.say = say
        self._lock = threading.Lock()
        self._ready: tuple[docker.DockerClient, str] | None = None

    def ready(self) -> tuple[docker.DockerClient, str]:
        """A client of the engine and the image's tag; builds the image the first time."""
        with self._lock:
            if self._ready is None:
                client = self._connect()
                self._ready = (client, self._ensure_image(client))
            return self._ready

    def _connect(self) -> docker.DockerClient:
        from localfactory.twins.engine import connect, engine_host, engine_version

        host = engine_host(self.settings.docker_host)
        if engine_version(host) is None:
            raise no_engine_error(host)
        return connect(host)

    def _ensure_image(self, client: docker.DockerClient) -> str:
        from localfactory.twins.docker import image_python
        from localfactory.twins.docker_base import ensure_base, has_image

        base = ensure_base(client, self.settings, self.say)
        pins = installed_pins()
        requirements = " ".join(pins.get(tool, tool) for tool in PACKAGES)
        base_id = client.images.get(base).id
        key = hashlib.sha256(
            "\n".join([base_id, *sorted(pins.values()), _DOCKERFILE]).encode()
        ).hexdigest()[:12]
        tag = f"{IMAGE_REPOSITORY}:{key}"
        if has_image(client, tag):
            return tag
        folder = locations.cache_dir() / "sandbox"
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "build.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # two processes build it once; the other waits
            if has_image(client, tag):
                return tag
            target = image_python(client, base)
            with tempfile.TemporaryDirectory(prefix="sandbox-image-") as context:
                fetch_wheels(target, pins, Path(context) / "wheels", self.say)
                dockerfile = _DOCKERFILE.format(
                    base=base, venv=VENV, requirements=requirements, source=SOURCE_MOUNT,
                    label=SANDBOX_LABEL, key=key,
                )  # fmt: skip
                (Path(context) / "Dockerfile").write_text(dockerfile)
                self.say(f"Building the Docker sandbox image {tag} ({requirements}; once) ...")
                _build(client, Path(context), tag)
        return tag


def _build(client: docker.DockerClient, context: Path, tag: str) -> None:
    import docker.errors

    try:
        client.images.build(path=str(context), tag=tag, network_mode="none", rm=True, forcerm=True)
    except docker.errors.BuildError as exc:
        lines = [str(item.get("stream", "")).strip() for item in exc.build_log]
        tail = " | ".join([line for line in lines if line][-3:])
        raise UserError(
            f"Building the Docker sandbox image {tag} failed: {exc.msg.strip()}",
            hint=f"The last build output: {tail or '(none)'}",
        ) from None
