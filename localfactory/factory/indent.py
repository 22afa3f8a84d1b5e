"""Mending the indentation a small model gets wrong in an otherwise whole file.

The 1.5B writing kv-service's server lost the indentation of the deepest lines of a method
(``if key in self.items:`` at 32 spaces, then `` response = ...`` at one), and three answers
in a row were unusable for it. Python says where: the line after a block opener that is not
indented, a dedent to no enclosing level, an indent nothing opened. Each such line is moved
to the level it can only have been meant for (one step into the block just opened, else the
enclosing level nearest to where it was), and the file is accepted only if it then parses.
Nothing else is changed; code with any other syntax error is left as it was.
"""

from __future__ import annotations

import ast
import io
import tokenize

MAX_MENDS = 40
STEP = 4


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _levels(lines: list[str], upto: int) -> list[int]:
    """The indentation levels open before line index ``upto`` (0 first)."""
    stack = [0]
    source = "\n".join(lines[:upto]) + "\n"
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.start[0] > upto:
                break  # the dedents tokenize adds at the end of the text
            if tok.type == tokenize.INDENT:
                stack.append(len(tok.string.expandtabs(STEP)))
            elif tok.type == tokenize.DEDENT and len(stack) > 1:
                stack.pop()
    except (tokenize.TokenError, SyntaxError):
        pass
    return stack


def _previous_code_line(lines: list[str], index: int) -> int | None:
    for i in range(index - 1, -1, -1):
        text = lines[i].strip()
        if text and not text.startswith("#"):
            return i
    return None


def _parses_up_to(lines: list[str]) -> float:
    """The line of the first syntax error in ``lines`` (infinity when they parse)."""
    try:
        ast.parse("\n".join(lines) + "\n")
    except SyntaxError as exc:
        return exc.lineno or 0
    return float("inf")


def mend_indentation(source: str) -> tuple[str, list[int]] | None:
    """``source`` with its indentation errors mended, and the lines moved (numbered from 1);
    None when it has none, or has another error, or the mended text still does not parse.

    A line after a block opener goes one step into the block. Any other line goes to the
    level, among the line before it and the levels open there, that lets the file parse
    furthest, and of those the nearest to where it was (``   return total`` under a loop
    body goes to the function's level, not into the loop), or the deepest for a line
    flattened to one space."""
    lines = source.expandtabs(STEP).splitlines()
    moved: list[int] = []
    for _ in range(MAX_MENDS):
        try:
            ast.parse("\n".join(lines) + "\n")
        except IndentationError as exc:
            at = (exc.lineno or 0) - 1
            before = _previous_code_line(lines, at) if 0 <= at < len(lines) else None
            if before is None:
                return None
            now, text = _indent(lines[at]), lines[at].lstrip(" ")
            if lines[before].split("#")[0].rstrip().endswith(":"):
                choices = [_indent(lines[before]) + STEP]
            else:
                choices = sorted({_indent(lines[before]), *_levels(lines, before + 1)} - {now})
            reach = {
                c: _parses_up_to([*lines[:at], " " * c + text, *lines[at + 1 :]]) for c in choices
            }
            # A line flattened to one space most likely went on with the deepest block; one
            # a space or two off a level meant the nearest.
            flattened = now == 1
            best = max(
                choices, key=lambda c: (reach[c], c if flattened else -abs(c - now)), default=None
            )
            if best is None or reach[best] <= at + 1:
                return None  # no level gets past this line: not an error this can mend
            lines[at] = " " * best + text
            moved.append(at + 1)
            continue
        except SyntaxError:
            return None
        return ("\n".join(lines) + "\n", moved) if moved else None
    return None
