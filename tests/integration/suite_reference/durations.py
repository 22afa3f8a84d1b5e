"""Reference for examples/suite/medium/durations.md."""

import re

_FORM = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")


def format_duration(seconds: int) -> str:
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    text = "".join(f"{n}{unit}" for n, unit in ((h, "h"), (m, "m"), (s, "s")) if n)
    return text or "0s"


def parse_duration(text: str) -> int:
    match = _FORM.fullmatch(text)
    if not text or match is None or not text.isascii():
        raise ValueError(f"{text!r} is not a duration like 1h2m5s")
    h, m, s = (int(part or 0) for part in match.groups())
    return h * 3600 + m * 60 + s
