"""Twin images: build one with no network, export it to a file, import it elsewhere.

An image holds a Python virtual environment with localfactory and the few packages that
serving a twin needs (installed from wheels with ``--no-index``), on a base image that
has ``python3`` (see :mod:`localfactory.twins.docker_base`). It runs ``python -m
localfactory.twins.serve NAME``; containers use host networking and listen on
127.0.0.1 (see :mod:`localfactory.twins.docker_run`).
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import localfactory
from localfactory.errors import UserError
from localfactory.twins.catalog import TwinManifest, is_shipped
from localfactory.twins.docker_base import ensure_base, has_image
from localfactory.twins.docker_wheels import ImagePython, dependency_wheels, localfactory_wheel

if TYPE_CHECKING:
    import docker

    from localfactory.config import TwinsSettings

Say = Callable[[str], None]
VENV = "/opt/localfactory"
SNAPSHOTS = "/var/lib/localfactory/snapshots"
USER_TWINS = "/var/lib/localfactory/user-twins"
"""The user's twins folder inside an image (XDG_DATA_HOME is /var/lib there)."""
TWIN_LABEL = "io.localfactory.twin"

_DOCKERFILE = """\
FROM {base}
COPY wheels /tmp/wheels
{user_twin}RUN python3 -m venv {venv} \\
 && {venv}/bin/pip install --quiet --no-index --no-cache-dir --disable-pip-version-check \\
    --find-links /tmp/wheels localfactory=={version} {requirements} \\
 && rm -rf /tmp/wheels
ENV PATH={venv}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \\
    PYTHONUNBUFFERED=1 XDG_DATA_HOME=/var/lib
LABEL {label}={name} io.localfactory.version={version}
EXPOSE {port}
ENTRYPOINT ["{venv}/bin/python", "-m", "localfactory.twins.serve", "{name}"]
CMD ["--host", "127.0.0.1", "--port", "{port}", "--snapshot-dir", "{snapshots}"]
"""

_PROBE = (
    "import platform, sys; "
    "print(sys.version_info[0], sys.version_info[1], platform.libc_ver()[1] or '2.17', "
    "platform.machine())"
)


def image_tag(name: str) -> str:
    """The tag ``twin build`` gives the twin's image, and ``twin up`` runs by default."""
    return f"localfactory/twin-{name}:{localfactory.__version__}"


def image_python(client: docker.DockerClient, base: str) -> ImagePython:
    """Which Python (version, glibc, machine) the base image has, asked of a throwaway container."""
    import docker.errors

    try:
        raw = client.containers.run(
            base, ["python3", "-c", _PROBE], remove=True, network_mode="none"
        )
        major, minor, glibc, machine = raw.decode().split()
    except (docker.errors.ContainerError, ValueError) as exc:
        raise UserError(
            f"The base image {base} has no usable python3 ({exc}).",
            hint="Choose a base image with python3 and its venv module (--base, or "
            "base_image under [twins]).",
        ) from None
    return ImagePython(int(major), int(minor), glibc, machine)


def build_image(
    client: docker.DockerClient,
    manifest: TwinManifest,
    settings: TwinsSettings,
    *,
    base: str | None = None,
    tag: str | None = None,
    say: Say = print,
) -> str:
    """Build the twin's image with no network; returns its tag."""
    tag = tag or image_tag(manifest.name)
    if base is None:
        base = ensure_base(client, settings, say)
    elif not has_image(client, base):
        raise UserError(
            f"The base image {base} is not in the Docker engine.",
            hint="Load it first (`docker load -i FILE` or `localfactory twin import FILE`).",
        )
    target = image_python(client, base)
    with tempfile.TemporaryDirectory(prefix="twin-image-") as folder:
        context = Path(folder)
        requirements = dependency_wheels(target, context / "wheels", say)
        localfactory_wheel(context / "wheels")
        user_twin = ""
        if not is_shipped(manifest):  # a twin of the user's own: its folder goes in as it is
            shutil.copytree(
                manifest.folder, context / "twin", ignore=shutil.ignore_patterns("__pycache__")
            )
            user_twin = f"COPY twin {USER_TWINS}/{manifest.name}\n"
        dockerfile = _DOCKERFILE.format(
            user_twin=user_twin,
            base=base,
            venv=VENV,
            version=localfactory.__version__,
            requirements=" ".join(requirements),
            label=TWIN_LABEL,
            name=manifest.name,
            port=manifest.default_port,
            snapshots=SNAPSHOTS,
        )
        (context / "Dockerfile").write_text(dockerfile)
        say(f"Building {tag} on {base} (python {target.major}.{target.minor}, no network) ...")
        _build(client, context, tag)
    # Earlier builds of twin images that lost their tag to this one would pile up otherwise.
    client.images.prune(filters={"dangling": True, "label": TWIN_LABEL})
    return tag


def _build(client: docker.DockerClient, context: Path, tag: str) -> None:
    output: list[str] = []
    for chunk in client.api.build(
        path=str(context), tag=tag, network_mode="none", rm=True, forcerm=True, decode=True
    ):
        if "stream" in chunk:
            output.extend(line for line in chunk["stream"].splitlines() if line.strip())
        if "error" in chunk:
            tail = " | ".join(output[-3:])
            raise UserError(
                f"Building {tag} failed: {chunk['error'].strip()}",
                hint=f"The last build output: {tail or '(none)'}",
            )


def require_image(client: docker.DockerClient, tag: str, name: str) -> None:
    if not has_image(client, tag):
        raise UserError(
            f"There is no image {tag} in the Docker engine.",
            hint=f"Build it with `localfactory twin build {name}`, or import one with "
            "`localfactory twin import FILE`.",
        )


def export_image(client: docker.DockerClient, tag: str, file: Path) -> int:
    """Write the image (base layers included) to ``file``, gzipped when it ends in .gz; returns bytes written."""
    image = client.images.get(tag)
    file.parent.mkdir(parents=True, exist_ok=True)
    partial = file.with_name(file.name + ".partial")
    with (
        gzip.open(partial, "wb", compresslevel=3) if file.suffix == ".gz" else partial.open("wb")
    ) as out:
        for chunk in image.save(named=True):
            out.write(chunk)
    partial.replace(file)
    return file.stat().st_size


def import_image(client: docker.DockerClient, file: Path) -> list[str]:
    """Load an exported image file (plain or gzipped tar) into the engine; returns its tags."""
    import docker.errors

    if not file.is_file():
        raise UserError(f"There is no file {file}.", hint="Give the file `twin export` wrote.")
    try:
        with file.open("rb") as source:
            images = client.images.load(source)
    except docker.errors.APIError as exc:
        raise UserError(
            f"The Docker engine could not load {file}: {exc.explanation or exc}.",
            hint="Give a file written by `localfactory twin export` (or `docker save`).",
        ) from None
    return [tag for image in images for tag in image.tags]
