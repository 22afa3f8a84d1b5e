"""Stopping an answer that has run away: the same line, or a line counting up, over and over.

Small models fall into a loop that no repeat penalty breaks, because every line differs a
little: the 1.5B writing head-lite's tests produced sixty rows of
``(["head-lite", "file.txt", "10", "11"], ...)``, ``"12"``, ``"13"``... until ``max_tokens``,
six minutes of a twenty-minute budget spent on an answer that was then cut off. A
:class:`RunawayGuard` reads the answer as it streams and says when the last ``limit`` lines
are one such loop, so the call can end there (its finish reason is ``length``, as if cut off).

Two lines are in a loop when they are equal, or when they differ only in one number that
moves by the same step as between the two lines before. Lines shorter than six characters
(brackets, ``pass``) and blank lines are ignored. A table whose rows differ in text, or in
more than one number (``(2000, True)``, ``(1, 'I')``, ``(123, 6)``), is never a loop.
"""

from __future__ import annotations

import re

_NUMBER = re.compile(r"\d+")
_SHORT = 6


def _step(before: str, after: str) -> tuple[int, int] | None:
    """How ``after`` follows ``before``: ``(-1, 0)`` when equal, ``(i, d)`` when only their
    ``i``-th number differs, by ``d``; None when they differ otherwise."""
    if before == after:
        return (-1, 0)
    if _NUMBER.sub("#", before) != _NUMBER.sub("#", after):
        return None
    pairs = list(zip(_NUMBER.findall(before), _NUMBER.findall(after), strict=True))
    moved = [(i, int(b) - int(a)) for i, (a, b) in enumerate(pairs) if a != b]
    return moved[0] if len(moved) == 1 and moved[0][1] != 0 else None


class RunawayGuard:
    """Fed an answer chunk by chunk, says when its last ``limit`` lines are a loop."""

    def __init__(self, limit: int) -> None:
        if limit < 3:
            raise ValueError("a loop needs at least 3 lines to be told from a pair")
        self.limit = limit
        self._partial = ""
        self._last: str | None = None
        self._step: tuple[int, int] | None = None
        self.run = 1
        """Lines in the loop so far (1 when the last line starts none)."""
        self.example: str = ""
        """The line the loop repeated or counted from, for the record."""

    def feed(self, chunk: str) -> bool:
        """Take the next piece of the answer; True once the answer has run away."""
        self._partial += chunk
        *lines, self._partial = self._partial.split("\n")
        return any(self._line(line) for line in lines)

    def _line(self, line: str) -> bool:
        text = line.strip()
        if len(text) < _SHORT:
            return False
        step = _step(self._last, text) if self._last is not None else None
        if step is None:
            self.run, self.example = 1, text
        elif self.run >= 2 and step == self._step:
            self.run += 1
        else:
            self.run, self.example = 2, self._last or text
        self._last, self._step = text, step
        return self.run >= self.limit

    def describe(self) -> str:
        return f"{self.run} lines in a loop, from {self.example[:80]!r}"
