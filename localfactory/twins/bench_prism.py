"""Prism (``@stoplight/prism-cli``), the reference mock server the twin bench runs beside the twin.

Prism answers from an OpenAPI document alone, with no state. The bench installs it with
npm into a cache folder the first time (the npm registry is the only thing it reaches)
and runs it on loopback, mocking the twin's own ``/openapi.json``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from localfactory import locations
from localfactory.errors import UserError

PRISM_PACKAGE = "@stoplight/prism-cli"
PRISM_VERSION = "5.16.0"  # the version on the registry when the bench was written


def prism_dir() -> Path:
    return locations.cache_dir() / "twins" / f"prism-{PRISM_VERSION}"


def prism_command(say: Callable[[str], None] = print) -> Path:
    """The ``prism`` executable, installed with npm into the cache folder when it is missing."""
    folder = prism_dir()
    binary = folder / "node_modules" / ".bin" / "prism"
    if binary.is_file():
        return binary
    npm = shutil.which("npm")
    if npm is None:
        raise UserError(
            "Prism cannot be installed: npm is not on PATH.",
            hint="Install Node.js and npm (`apt-get install npm`), or pass --no-prism.",
        )
    say(f"Installing {PRISM_PACKAGE}@{PRISM_VERSION} with npm into {folder} (once) ...")
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [npm, "install", "--prefix", str(folder), "--no-audit", "--no-fund", "--silent",
         f"{PRISM_PACKAGE}@{PRISM_VERSION}"],
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    if done.returncode != 0 or not binary.is_file():
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise UserError(
            f"npm could not install {PRISM_PACKAGE}@{PRISM_VERSION}: {last}",
            hint="Check npm's registry access, or pass --no-prism.",
        )
    return binary


def start_prism(binary: Path, document: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """Prism mocking ``document`` on 127.0.0.1:``port`` (static examples, no request logging)."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [
                str(binary),
                "mock",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--verboseLevel",
                "error",
                str(document),
            ],  # its per-request logging would slow it
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
