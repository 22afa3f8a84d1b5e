"""Run ids: sortable by creation, unique, and short enough to type.

An id is ``YYYYMMDD-HHMMSS-mmrrr`` (UTC): the date and time, then two characters for the
milliseconds and three random ones, in lowercase Crockford base32 (no i, l, o or u). The
alphabet is in ASCII order, so sorting ids as text sorts runs by creation time.

Like git, commands accept any unique prefix of an id (``20261121-15``), the start of its last
part (``4kq``), or ``latest``.
"""

from __future__ import annotations

import calendar
import secrets
import time

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
LATEST = ("latest", "last")


def _base32(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        value, digit = divmod(value, 32)
        chars.append(ALPHABET[digit])
    return "".join(reversed(chars))


def new_run_id(now: float | None = None, *, after: str | None = None) -> str:
    """A fresh id for a run created at ``now`` (seconds since the epoch).

    ``after`` is the newest id so far: the new one sorts after it even when both fall in the
    same millisecond or the clock stepped back (it then borrows the next millisecond).
    """
    millis = int((time.time() if now is None else now) * 1000)
    if after is not None:
        millis = max(millis, _millis_of(after) + 1)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(millis // 1000))
    return f"{stamp}-{_base32(millis % 1000, 2)}{_base32(secrets.randbelow(32**3), 3)}"


def _millis_of(run_id: str) -> int:
    """The creation time an id encodes, in milliseconds since the epoch (-1 if it encodes none)."""
    try:
        seconds = calendar.timegm(time.strptime(run_id[:15], "%Y%m%d-%H%M%S"))
        millis = ALPHABET.index(run_id[16]) * 32 + ALPHABET.index(run_id[17])
    except (ValueError, IndexError):
        return -1
    return seconds * 1000 + millis


def normalize(ref: str) -> str:
    """What the user typed, as it would appear in an id."""
    return ref.strip().lower()


def prefix_bounds(prefix: str) -> tuple[str, str]:
    """``lo <= id < hi`` holds exactly for the ids starting with ``prefix`` (ids are ASCII)."""
    return prefix, prefix + "\U0010ffff"


def tail(run_id: str) -> str:
    """The last part of an id (``4kq7z``), which is enough to tell runs of one second apart."""
    return run_id.rsplit("-", 1)[-1]
