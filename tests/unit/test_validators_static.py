"""The static review: tests that assert nothing, unsafe patterns, dead code (no model)."""

from __future__ import annotations

import textwrap

from localfactory.validators.static_review import review_sources


def findings(path: str, source: str) -> list[tuple[str, int | None, bool]]:
    return [(f.kind, f.line, f.blocking) for f in review_sources({path: textwrap.dedent(source)})]


def messages(path: str, source: str) -> str:
    return "\n".join(f.message for f in review_sources({path: textwrap.dedent(source)}))


TESTS = """\
import pytest
from shop import total

def test_no_assert():
    total([1, 2])

def test_assert_true():
    total([1])
    assert True

def test_tuple_is_always_true():
    assert (total([]) == 0, "empty basket")

def test_real_assert():
    assert total([1, 2]) == 3

def test_raises():
    with pytest.raises(ValueError):
        total([-1])

class TestBasket:
    def test_unittest_style(self):
        self.assertEqual(total([2]), 2)

    def test_nothing_either(self):
        total([3])

def helper_without_assert():
    total([4])
"""


def test_tests_without_a_real_check_are_blocking_findings_with_their_line():
    found = findings("tests/test_shop.py", TESTS)
    assert found == [
        ("asserts-nothing", 4, True),
        ("asserts-nothing", 7, True),
        ("asserts-nothing", 11, True),
        ("asserts-nothing", 25, True),
    ]
    text = messages("tests/test_shop.py", TESTS)
    assert "test test_no_assert asserts nothing" in text
    assert "test test_assert_true only asserts a constant" in text
    assert "helper_without_assert" not in text


def test_eval_exec_and_shell_block_while_other_programs_and_network_are_advice():
    code = """\
    import os, subprocess, socket
    from urllib.request import urlopen

    def run(expr, cmd):
        value = eval(expr)
        exec("x = 1")
        os.system(cmd)
        subprocess.run(cmd, shell=True)
        subprocess.run(["ls", "-l"])
        return value
    """
    found = findings("tool.py", code)
    assert ("unsafe", 5, True) in found  # eval
    assert ("unsafe", 6, True) in found  # exec
    assert ("unsafe", 7, True) in found  # os.system
    assert ("unsafe", 8, True) in found  # shell=True
    assert ("unsafe", 9, False) in found  # argument list: advice only
    assert ("unsafe", 1, False) in found  # socket
    assert ("unsafe", 2, False) in found  # urllib
    assert "parse the input explicitly" in messages("tool.py", code)


def test_test_files_are_not_reviewed_for_unsafe_calls_and_code_is_not_checked_for_asserts():
    assert findings("tests/test_x.py", "def test_a():\n    assert eval('1') == 1\n") == []
    assert findings("tool.py", "def test_like_name():\n    return 1\n") == []


def test_dead_code_after_return_false_guards_and_unused_private_functions():
    code = """\
    def area(r):
        return 3.14 * r * r
        print("never")

    def _unused_helper():
        return 1

    def _used_helper():
        return 2

    def perimeter(r):
        if False:
            return 0
        return 2 * 3.14 * r * _used_helper()
    """
    found = findings("shapes.py", code)
    assert ("dead-code", 3, False) in found
    assert ("dead-code", 5, False) in found
    assert ("dead-code", 12, False) in found
    assert not any(line == 8 for _, line, _ in found)


def test_a_file_that_does_not_parse_is_a_blocking_finding():
    assert findings("broken.py", "def f(:\n") == [("syntax", 1, True)]


def test_clean_code_and_tests_have_no_findings():
    code = "def double(x: int) -> int:\n    return 2 * x\n"
    tests = "from m import double\n\ndef test_double():\n    assert double(2) == 4\n"
    assert review_sources({"m.py": code, "tests/test_m.py": tests, "README.md": "eval("}) == []
