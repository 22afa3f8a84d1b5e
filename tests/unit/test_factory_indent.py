"""Mending the indentation small models get wrong, and only that."""

from __future__ import annotations

import ast

import pytest

from localfactory.factory.indent import mend_indentation

# The shape of the 1.5B's kv-service answer: the deepest lines of a handler flattened to one
# space, inside if/else and try/except blocks.
FLATTENED = """\
class Handler:
    def answer(self, method, key, items, body):
        if method == "GET":
            if key in items:
 response = items[key]
            else:
 response = None
        elif method == "PUT":
            try:
 value = int(body)
 if value > 0:
 items[key] = value
 response = value
 else:
 response = None
            except ValueError:
 response = None
        return response
"""


def test_lines_flattened_to_one_space_go_back_into_their_blocks() -> None:
    mended = mend_indentation(FLATTENED)
    assert mended is not None
    source, moved = mended
    assert moved == [5, 7, 10, 11, 12, 13, 14, 15, 17]
    namespace: dict[str, object] = {}
    exec(compile(source, "handler", "exec"), namespace)
    handler = namespace["Handler"]()  # type: ignore[operator]
    items: dict[str, int] = {"a": 1}
    assert handler.answer("GET", "a", items, "") == 1
    assert handler.answer("GET", "b", items, "") is None
    assert handler.answer("PUT", "b", items, "7") == 7 and items["b"] == 7
    assert handler.answer("PUT", "c", items, "-1") is None and "c" not in items
    assert handler.answer("PUT", "c", items, "x") is None


def test_a_line_a_space_off_its_level_goes_to_the_nearest_level_not_into_the_loop() -> None:
    source = "def total(xs):\n    t = 0\n    for x in xs:\n        t += x\n   return t\n"
    mended = mend_indentation(source)
    assert mended is not None
    namespace: dict[str, object] = {}
    exec(mended[0], namespace)
    assert namespace["total"]([1, 2, 3]) == 6  # type: ignore[operator]  # not 1: after the loop


def test_a_block_left_empty_gets_the_line_after_its_opener() -> None:
    mended = mend_indentation("def f(y):\n    if y:\n    return 1\n    return 2\n")
    assert mended == ("def f(y):\n    if y:\n        return 1\n    return 2\n", [3])


@pytest.mark.parametrize(
    "source",
    [
        "def f(y):\n    return y\n",  # nothing to mend
        "def f(y):\n    return (y +\n",  # another error: left as it is
        "def f(y):\n    return y +* 2\n",
    ],
    ids=["valid", "unclosed", "bad-operator"],
)
def test_code_without_an_indentation_error_that_this_mends_is_left_alone(source: str) -> None:
    assert mend_indentation(source) is None


def test_the_mend_never_returns_code_that_does_not_parse() -> None:
    for cut in range(len(FLATTENED.splitlines())):
        source = "\n".join(FLATTENED.splitlines()[:cut]) + "\n"
        mended = mend_indentation(source)
        if mended is not None:
            ast.parse(mended[0])
