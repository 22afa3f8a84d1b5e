"""Reference for examples/suite/easy/caesar-cipher.md."""

import string


def _rotate(c: str, alphabet: str, shift: int) -> str:
    return alphabet[(alphabet.index(c) + shift) % 26]


def caesar(text: str, shift: int) -> str:
    out = []
    for c in text:
        if c in string.ascii_lowercase:
            out.append(_rotate(c, string.ascii_lowercase, shift))
        elif c in string.ascii_uppercase:
            out.append(_rotate(c, string.ascii_uppercase, shift))
        else:
            out.append(c)
    return "".join(out)
