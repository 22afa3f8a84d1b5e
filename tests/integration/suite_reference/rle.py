"""Reference for examples/suite/medium/run-length.md."""

import re

_DIGITS = "0123456789"
_PAIR = re.compile(r"([0-9]+)([^0-9])", re.DOTALL)


def encode(text: str) -> str:
    if any(c in _DIGITS for c in text):
        raise ValueError("the text contains a digit")
    out = []
    i = 0
    while i < len(text):
        j = i
        while j < len(text) and text[j] == text[i]:
            j += 1
        out.append(f"{j - i}{text[i]}")
        i = j
    return "".join(out)


def decode(data: str) -> str:
    out = []
    pos = 0
    while pos < len(data):
        m = _PAIR.match(data, pos)
        if m is None:
            raise ValueError(f"malformed run-length data at position {pos}")
        count = int(m.group(1))
        if count == 0:
            raise ValueError("a count of zero")
        out.append(m.group(2) * count)
        pos = m.end()
    return "".join(out)
