"""The wheels that go into a twin image: localfactory itself, and what serving a twin needs.

Images are built with no network, so every Python package arrives as a wheel prepared
here. localfactory's own wheel is written directly from the package this command runs
(with the shipped twins bundled, and no declared dependencies, so nothing like
llama-cpp-python follows it in); the serving dependencies are fetched with ``pip
download`` for the image's Python and platform, pinned to the versions installed here,
and kept in a wheelhouse so that a second build needs no package index at all.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import localfactory
from localfactory import locations
from localfactory.errors import UserError
from localfactory.twins.catalog import shipped_twin_dirs

# What `python -m localfactory.twins.serve` imports beyond the standard library.
SERVING_PACKAGES = ("pydantic", "uvicorn", "uvloop", "httptools")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the same files give the same wheel, so builds hit the cache
_SKIP = {"__pycache__", "_bundled"}


@dataclass(frozen=True)
class ImagePython:
    """The interpreter inside the base image, which the binary wheels must match."""

    major: int
    minor: int
    glibc: str
    machine: str

    @property
    def abi(self) -> str:
        return f"cp{self.major}{self.minor}"

    @property
    def platforms(self) -> list[str]:
        """Every manylinux tag this glibc runs (pip does not widen ``manylinux_2_X`` by itself)."""
        major, _, minor = self.glibc.partition(".")
        newest = int(minor or 0) if major == "2" else 17
        tags = [f"manylinux_2_{m}_{self.machine}" for m in range(newest, 4, -1)]
        legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
        return tags + [f"{name}_{self.machine}" for m, name in legacy.items() if newest >= m]


def pinned_requirements() -> list[str]:
    """The serving packages at the versions installed here (the ones the tests ran)."""
    pins = []
    for name in SERVING_PACKAGES:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pins.append(name)
    return pins


def download_wheels(
    target: ImagePython,
    requirements: list[str],
    wheelhouse: Path,
    *,
    announce: str,
    say: Callable[[str], None],
    extra: tuple[str, ...] = (),
) -> str | None:
    """``pip download`` the wheels of ``requirements`` for ``target`` into ``wheelhouse``: from the
    wheelhouse alone when it has them all, else from the package index (saying ``announce``
    first). None when they are there; else pip's last line of error. ``extra`` are more pip
    options (``--constraint F``)."""
    base = [
        sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
        "--only-binary=:all:", "--implementation", "cp",
        "--python-version", f"{target.major}.{target.minor}", "--abi", target.abi,
        *(f"--platform={tag}" for tag in target.platforms),
        *extra, "--dest", str(wheelhouse), *requirements,
    ]  # fmt: skip
    offline = subprocess.run(
        [*base, "--no-index", "--find-links", str(wheelhouse)], capture_output=True, text=True
    )
    if offline.returncode == 0:
        return None
    say(announce)
    online = subprocess.run(base, capture_output=True, text=True)
    if online.returncode == 0:
        return None
    return (online.stderr.strip().splitlines() or ["(no output)"])[-1]


def dependency_wheels(target: ImagePython, dest: Path, say: Callable[[str], None]) -> list[str]:
    """Download the serving wheels for ``target`` into ``dest``; returns the requirement lines."""
    wheelhouse = locations.cache_dir() / "twins" / "wheels" / f"{target.abi}-{target.platforms[0]}"
    wheelhouse.mkdir(parents=True, exist_ok=True)
    requirements = pinned_requirements()
    problem = download_wheels(
        target, requirements, wheelhouse, say=say,
        announce=f"Fetching the serving wheels ({', '.join(requirements)}) for {target.abi} ...",
    )  # fmt: skip
    if problem is not None:
        raise UserError(
            f"pip could not fetch the wheels a twin image needs: {problem}",
            hint=f"Put them in {wheelhouse} (pip download) or check the package index.",
        )
    dest.mkdir(parents=True, exist_ok=True)
    for wheel in wheelhouse.glob("*.whl"):
        (dest / wheel.name).write_bytes(wheel.read_bytes())
    return requirements


def _package_files() -> Iterator[tuple[str, Path]]:
    """``(path inside the wheel, file)`` for localfactory and the shipped twins."""
    package = Path(localfactory.__file__).resolve().parent
    yield from _tree(package, "localfactory")
    for folder in shipped_twin_dirs():
        if folder.is_dir():
            yield from _tree(folder, "localfactory/_bundled/twins")


def _tree(root: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_file() and not _SKIP & set(relative.parts) and path.suffix != ".pyc":
            yield f"{prefix}/{relative.as_posix()}", path


def localfactory_wheel(dest: Path) -> Path:
    """Write ``localfactory-VERSION-py3-none-any.whl`` (no declared dependencies) into ``dest``."""
    version = localfactory.__version__
    info = f"localfactory-{version}.dist-info"
    wheel = dest / f"localfactory-{version}-py3-none-any.whl"
    dest.mkdir(parents=True, exist_ok=True)
    entries = [(name, path.read_bytes()) for name, path in _package_files()]
    entries += [
        (
            f"{info}/METADATA",
            f"Metadata-Version: 2.1\nName: localfactory\nVersion: {version}\n"
            "Summary: localfactory, packaged to serve digital twins\n".encode(),
        ),
        (
            f"{info}/WHEEL",
            b"Wheel-Version: 1.0\nGenerator: localfactory\nRoot-Is-Purelib: true\n"
            b"Tag: py3-none-any\n",
        ),
    ]
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in entries]
    entries.append((f"{info}/RECORD", ("\n".join([*record, f"{info}/RECORD,,"]) + "\n").encode()))
    with zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            item = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            item.external_attr = 0o644 << 16
            item.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(item, data)
    return wheel


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
