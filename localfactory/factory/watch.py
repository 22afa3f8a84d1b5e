"""Watch mode: build specs once, then build a spec again each time it is saved with new content.

What counts as a change is decided here, apart from the file system: an event touches a
path (a write, a creation, a rename onto it); a path is *due* once it has been quiet for
``quiet_s`` (editors write a file in several events: to a temporary file then a rename, or a
truncation then a write); a due path is a change only when its bytes differ from the last
version seen (a save with nothing new builds nothing). A change is checked as a spec first:
a malformed spec gets the one message ``localfactory spec check`` gives, and watching goes on.
Builds go to a :class:`~localfactory.factory.builds.Builder`, which stops a build of the same
spec at once (between steps, or during a model's answer) when a newer version arrives.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Generic, TypeVar

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.api import ObservedWatch

from localfactory.errors import UserError
from localfactory.factory.builds import Builder, BuildRequest

DEFAULT_QUIET_S = 0.6
"""How long a spec must be left alone after an event before it is read (editors' bursts are shorter)."""

SPEC_SUFFIX = ".md"

K = TypeVar("K", bound=Hashable)


def touched_paths(event_type: str, src: str, dest: str = "") -> list[Path]:
    """The files a file-system event may have given new content: the file written, created or
    closed after writing, or the file a rename landed on (``dest``). Deletions change nothing
    to build (a save by rename deletes, then the new file arrives)."""
    if event_type in ("modified", "created", "closed"):
        return [Path(src)]
    if event_type == "moved":
        return [Path(dest)]
    return []


class Debouncer(Generic[K]):
    """Calls a key due once no event touched it for ``quiet_s`` seconds. Times are given, not read."""

    def __init__(self, quiet_s: float) -> None:
        self.quiet_s = quiet_s
        self._last: dict[K, float] = {}

    def touch(self, key: K, now: float) -> None:
        self._last[key] = now

    def wait_s(self, now: float) -> float | None:
        """Seconds until the next key is due (0: one is due now); None when nothing waits."""
        if not self._last:
            return None
        return max(0.0, min(self._last.values()) + self.quiet_s - now)

    def due(self, now: float) -> list[K]:
        """The keys quiet for long enough, oldest first; they are forgotten until touched again."""
        ready = sorted((at, i, k) for i, (k, at) in enumerate(self._last.items())
                       if now - at >= self.quiet_s)  # fmt: skip
        for _at, _i, key in ready:
            del self._last[key]
        return [key for _at, _i, key in ready]


class Digests:
    """Whether a file's content is new: its sha256 differs from the last one seen for the path."""

    def __init__(self) -> None:
        self._seen: dict[Path, str] = {}

    def changed(self, path: Path, content: bytes | None) -> bool:
        """True (and remembered) when ``content`` is new; a missing file (None) is no change."""
        if content is None:
            return False
        digest = hashlib.sha256(content).hexdigest()
        if self._seen.get(path) == digest:
            return False
        self._seen[path] = digest
        return True


class Targets:
    """The spec files and folders of specs being watched (absolute paths)."""

    def __init__(self) -> None:
        self.files: set[Path] = set()
        self.folders: set[Path] = set()

    def covers(self, path: Path) -> bool:
        return path in self.files or (path.parent in self.folders and path.suffix == SPEC_SUFFIX)

    def directories(self) -> set[Path]:
        """The folders to observe: each file's own, and each folder."""
        return {f.parent for f in self.files} | self.folders


def specs_in(target: Path) -> list[Path]:
    """A spec file itself, or the specs (``*.md``) of a folder, sorted."""
    if target.is_dir():
        return sorted(p for p in target.iterdir() if p.suffix == SPEC_SUFFIX and p.is_file())
    return [target]


def shown(path: Path) -> str:
    """A path as a person would type it: relative to the working folder when inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class SpecWatch:
    """Watches spec files and folders with watchdog's Observer and hands changes to ``builder``.

    ``say`` hears one sentence per rebuild, ``warn`` (``say`` unless given) each malformed
    spec; both are called from the watch's own thread (or the caller's, for the first builds).
    :meth:`close` ends watching; the builder is the caller's to close.
    """

    def __init__(
        self,
        builder: Builder,
        say: Callable[[str], None],
        *,
        warn: Callable[[str], None] | None = None,
        quiet_s: float = DEFAULT_QUIET_S,
    ) -> None:
        self.builder = builder
        self.say = say
        self.warn = warn or say
        self._targets = Targets()
        self._debounce: Debouncer[Path] = Debouncer(quiet_s)
        self._digests = Digests()
        self._observer = Observer()
        self._observed: dict[Path, ObservedWatch] = {}
        self._cond = threading.Condition()
        self._closed = False
        self._observer.start()
        self._thread = threading.Thread(target=self._tick, name="spec-watch", daemon=True)
        self._thread.start()

    @property
    def watching(self) -> list[Path]:
        with self._cond:
            return sorted(self._targets.files | self._targets.folders)

    def add(self, *targets: Path) -> list[Path]:
        """Watch spec files and folders of specs, building each spec now; returns the specs.

        Every target must exist (nothing is watched otherwise); a folder may hold no spec yet.
        """
        found = [t.expanduser().resolve() for t in targets]
        missing = [str(t) for t, f in zip(targets, found, strict=True) if not f.exists()]
        if missing:
            raise UserError(f"There is no spec file or folder {', '.join(missing)}.",
                            hint="Give the path of a spec (Markdown) or of a folder of specs.")  # fmt: skip
        with self._cond:
            for target in found:
                (self._targets.folders if target.is_dir() else self._targets.files).add(target)
            self._observe()
        specs = [spec for target in found for spec in specs_in(target)]
        for spec in specs:
            self._consider(spec, first=True)
        return specs

    def remove(self, target: Path) -> bool:
        """Stop watching a spec file or folder; False when it was not watched."""
        target = target.expanduser().resolve()
        with self._cond:
            found = target in self._targets.files or target in self._targets.folders
            self._targets.files.discard(target)
            self._targets.folders.discard(target)
            self._observe()
        return found

    def close(self) -> None:
        """Stop watching (builds already queued are the builder's)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._observer.stop()
        self._observer.join(timeout=5)
        self._thread.join(timeout=5)

    # -- events ----------------------------------------------------------------------------
    def _saw(self, event: FileSystemEvent) -> None:
        """Every event of every observed folder comes here (from the observer's thread)."""
        if event.is_directory:
            return
        touched = touched_paths(event.event_type, os.fsdecode(event.src_path),
                                os.fsdecode(event.dest_path or ""))  # fmt: skip
        with self._cond:
            for path in touched:
                if self._targets.covers(path):
                    self._debounce.touch(path, time.monotonic())
                    self._cond.notify_all()

    def _observe(self) -> None:
        """Observe exactly the folders the targets need (called with the lock held)."""
        wanted = self._targets.directories()
        for folder in set(self._observed) - wanted:
            self._observer.unschedule(self._observed.pop(folder))
        for folder in wanted - set(self._observed):
            self._observed[folder] = self._observer.schedule(
                _Forward(self._saw), str(folder), recursive=False
            )

    def _tick(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    wait = self._debounce.wait_s(time.monotonic())
                    if wait == 0:
                        break
                    self._cond.wait(wait)
                if self._closed:
                    return
                due = self._debounce.due(time.monotonic())
                due = [p for p in due if self._targets.covers(p)]
            for path in due:
                self._consider(path, first=False)

    def _consider(self, path: Path, *, first: bool) -> None:
        """Build ``path`` if its content is new and it is a valid spec; say why not otherwise."""
        from localfactory.spec import load_spec

        try:
            content: bytes | None = path.read_bytes()
        except OSError:
            content = None
        if not self._digests.changed(path, content):
            return
        try:
            spec = load_spec(Path(shown(path)))  # its message names the file as a person does
        except UserError as exc:
            self.warn(
                f"{exc}\n  still watching {shown(path)}: it is built when saved as a valid spec"
            )
            return
        if not first:
            self.say(f"{shown(path)} changed: building {spec.name} again")
        self.builder.submit(BuildRequest(spec=Path(shown(path)), supersede=not first))


class _Forward(FileSystemEventHandler):
    def __init__(self, to: Callable[[FileSystemEvent], None]) -> None:
        super().__init__()
        self.to = to

    def on_any_event(self, event: FileSystemEvent) -> None:
        self.to(event)
