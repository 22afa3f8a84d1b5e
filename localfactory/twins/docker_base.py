"""The base image twin images are built on, made offline when the engine lacks it.

With no image registry at hand, the base is bootstrapped from Debian's own packages:
``debootstrap --variant=minbase --include=python3,python3-venv SUITE DIR MIRROR`` (about
1.5 minutes), then ``tar -C DIR -c . | docker import``. The engine keeps the image, so
this happens once per engine; later builds reuse it. The mirror is the one this
machine's apt already uses, unless ``[twins] debian_mirror`` names another.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from localfactory import locations
from localfactory.errors import UserError

if TYPE_CHECKING:
    import docker

    from localfactory.config import TwinsSettings

APT_SOURCES = Path("/etc/apt")
BASE_LABEL = "io.localfactory.base"
_IMPORT_CHANGES = [
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    'CMD ["/bin/sh"]',
]


def _apt_source_files(root: Path) -> list[Path]:
    files = [root / "sources.list"]
    folder = root / "sources.list.d"
    if folder.is_dir():
        files += sorted(p for p in folder.iterdir() if p.suffix in (".list", ".sources"))
    return [p for p in files if p.is_file()]


def _sources(path: Path) -> Iterator[tuple[str, list[str]]]:
    """``(uri, suites)`` of each binary-package source in one apt file (both formats)."""
    text = path.read_text(errors="replace")
    if path.suffix == ".sources":  # deb822 stanzas
        for stanza in re.split(r"\n\s*\n", text):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                key, sep, value = line.partition(":")
                if sep and not line.startswith((" ", "#")):
                    fields[key.strip().lower()] = value.strip()
            if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes") != "no":
                for uri in fields.get("uris", "").split():
                    yield uri, fields.get("suites", "").split()
        return
    for line in text.splitlines():
        words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
        if len(words) >= 3 and words[0] == "deb":
            yield words[1], [words[2]]


def debian_mirror(configured: str | None = None, apt_root: Path = APT_SOURCES) -> str:
    """The mirror to bootstrap from: the setting, else the first Debian archive apt uses here."""
    if configured:
        return configured
    for path in _apt_source_files(apt_root):
        for uri, suites in _sources(path):
            is_archive = "/debian" in uri and "security" not in uri
            if is_archive and any("-" not in suite for suite in suites):
                return uri.rstrip("/")
    raise UserError(
        f"Found no Debian package mirror in this machine's apt sources ({apt_root}).",
        hint="Name one with debian_mirror under [twins] in localfactory.toml.",
    )


def has_image(client: docker.DockerClient, name: str) -> bool:
    import docker.errors

    try:
        client.images.get(name)
    except docker.errors.ImageNotFound:
        return False
    return True


def ensure_base(
    client: docker.DockerClient, settings: TwinsSettings, say: Callable[[str], None]
) -> str:
    """The configured base image, bootstrapped first when the engine lacks it and that is allowed."""
    name = settings.base_image
    if has_image(client, name):
        return name
    if not settings.bootstrap_base:
        raise UserError(
            f"The base image {name} is not in the Docker engine.",
            hint="Load it (`docker load -i FILE`), choose another with --base, or set "
            "bootstrap_base = true under [twins].",
        )
    mirror = debian_mirror(settings.debian_mirror)
    if shutil.which("debootstrap") is None or os.geteuid() != 0:
        raise UserError(
            f"The base image {name} is not in the Docker engine, and bootstrapping it "
            "takes root and debootstrap.",
            hint="Run `python -m localfactory.twins.engine ensure` as root (it installs "
            "debootstrap), or pass --base with an image that has python3.",
        )
    work = locations.cache_dir() / "twins"
    work.mkdir(parents=True, exist_ok=True)
    with (work / "bootstrap.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a concurrent build bootstraps once, the other waits
        if has_image(client, name):
            return name
        with tempfile.TemporaryDirectory(prefix="rootfs-", dir=work) as rootfs:
            suite = settings.debian_suite
            say(f"Bootstrapping {name} from {mirror} (Debian {suite}, once; ~2 min) ...")
            _debootstrap(suite, Path(rootfs), mirror, work / "debootstrap.log")
            say(f"Importing it into the Docker engine as {name} ...")
            _import(client, Path(rootfs), name, suite)
    return name


def _debootstrap(suite: str, rootfs: Path, mirror: str, log: Path) -> None:
    command = [
        "debootstrap",
        "--variant=minbase",
        "--include=python3,python3-venv",
        suite,
        str(rootfs),
        mirror,
    ]
    with log.open("wb") as out:
        done = subprocess.run(
            command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    if done.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        raise UserError(
            f"debootstrap could not make a Debian {suite} root from {mirror}: {tail[0]}",
            hint=f"Its full log is {log}.",
        )
    for leftover in ("var/cache/apt/archives", "var/lib/apt/lists"):
        for item in (rootfs / leftover).glob("*"):
            if item.is_file():
                item.unlink()


def _import(client: docker.DockerClient, rootfs: Path, name: str, suite: str) -> None:
    repository, _, tag = (
        name.rpartition(":") if ":" in name.split("/")[-1] else (name, "", "latest")
    )
    tar = subprocess.Popen(
        ["tar", "--numeric-owner", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE
    )
    assert tar.stdout is not None
    try:
        client.api.import_image(
            src=tar.stdout,
            repository=repository,
            tag=tag,
            changes=[*_IMPORT_CHANGES, f"LABEL {BASE_LABEL}=debian-{suite}"],
        )
    finally:
        tar.stdout.close()
        tar.wait()
    if not has_image(client, name):
        raise UserError(f"Importing the bootstrapped root as {name} failed.")
