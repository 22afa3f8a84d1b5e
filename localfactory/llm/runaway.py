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

A loop can also stay on one line: tiny-calc's test writer wrote
``tokenize("2 + 3 * 4 / 2 - 1 + 2 * 3 / 4 + 1 - 2 + 3 / 4 + 1 - 2 + 3 / 4 ...`` for 1,500
tokens. A line whose last :data:`LINE_SPAN` characters repeat a piece of at most
:data:`LINE_PIECE` characters is one.
"""

from __future__ import annotations

import re
from collections import deque

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


LINE_SPAN = 240
LINE_PIECE = 60

PERIODS = (1, 2, 3)
"""Loops of one line, and of blocks of two or three lines (a test function and its assert)."""


class RunawayGuard:
    """Fed an answer chunk by chunk, says when it has run away: its last lines are one loop,
    ``limit`` lines long for a loop of single lines, half as long again for each further line
    in its period (a loop of two-line blocks must last ``1.5 * limit`` lines, nine blocks at
    the default)."""

    def __init__(self, limit: int) -> None:
        if limit < 3:
            raise ValueError("a loop needs at least 3 lines to be told from a pair")
        self.limit = limit
        self._partial = ""
        self._lines: deque[str] = deque(maxlen=max(PERIODS))
        self._runs = dict.fromkeys(PERIODS, 0)
        """Per period p: lines in a row that follow the line p before them (in step)."""
        self._steps = {p: deque[tuple[int, int] | None](maxlen=p) for p in PERIODS}
        self.found = 0
        """Once run away: the loop's length in lines."""
        self.piece = ""
        """Once a line has run away: the piece it repeats."""

    def feed(self, chunk: str) -> bool:
        """Take the next piece of the answer; True once the answer has run away."""
        self._partial += chunk
        *lines, self._partial = self._partial.split("\n")
        return any(self._line(line) for line in lines) or self._long_line()

    def _long_line(self) -> bool:
        """Whether the line being written ends in one piece over and over."""
        line = self._partial
        if len(line) < LINE_SPAN + LINE_PIECE:
            return False
        tail = line[-LINE_SPAN:]
        for size in range(1, LINE_PIECE + 1):
            if tail == line[-LINE_SPAN - size : -size]:
                self.piece = tail[-size:]
                return True
        return False

    def _line(self, line: str) -> bool:
        text = line.strip()
        if len(text) < _SHORT:
            return False
        for p in PERIODS:
            step = _step(self._lines[-p], text) if len(self._lines) >= p else None
            steps, run = self._steps[p], self._runs[p]
            if step is None:
                run = 0
            elif run < p or steps[0] == step:  # the first round, or in step with the last
                run += 1
            else:
                run = 1
            steps.append(step)
            self._runs[p] = run
            length = run + p  # the first round of the loop follows nothing
            if run and length >= self.limit * (1 + (p - 1) / 2):
                self.found = max(self.found, length)
        self._lines.append(text)
        return self.found > 0

    def describe(self) -> str:
        if self.piece:
            return f"a line repeating {self.piece!r} over and over"
        return f"{self.found} lines in a loop, ending {self._lines[-1][:80]!r}"
