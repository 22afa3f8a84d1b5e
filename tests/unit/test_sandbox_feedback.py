"""Condensed feedback, tested on real output of pytest, ruff and mypy run on planted mistakes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from localfactory.sandbox.feedback import mypy_feedback, pytest_feedback, ruff_feedback

PLANTED = """\
import pytest


def add(a, b):
    return a - b


def test_add():
    assert add(2, 3) == 5


def test_dict():
    assert {"a": 1, "b": [1, 2, 3]} == {"a": 1, "b": [1, 2, 4]}


def deep(n):
    if n == 0:
        raise KeyError("missing")
    return deep(n - 1)


def test_deep_traceback():
    deep(30)


@pytest.mark.parametrize("n", [1, 2])
def test_param(n):
    assert n == 1


class TestGroup:
    def test_method(self):
        assert "abc".upper() == "ABd"


def test_passes():
    assert True
"""


def _pytest(folder: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--tb=short", "-p", "no:cacheprovider", *extra],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    folder = tmp_path_factory.mktemp("planted")
    (folder / "test_planted.py").write_text(PLANTED)
    run = _pytest(folder, "--junitxml=report.xml")
    assert run.returncode == 1, run.stdout + run.stderr
    return run.stdout, folder / "report.xml"


def test_names_every_failing_test_and_the_summary(planted_run: tuple[str, Path]) -> None:
    output, _ = planted_run
    feedback = pytest_feedback(output)
    assert feedback.summary == "5 failed, 2 passed"
    assert feedback.failing == [
        "test_add",
        "test_dict",
        "test_deep_traceback",
        "test_param[2]",
        "TestGroup.test_method",
    ]
    assert feedback.text.startswith("pytest: 5 failed, 2 passed\nFAILED test_add\n")


def test_keeps_the_assertion_values_and_the_failing_line(planted_run: tuple[str, Path]) -> None:
    text = pytest_feedback(planted_run[0]).text
    assert "assert add(2, 3) == 5" in text
    assert "E   assert -1 == 5" in text
    assert "{'b': [1, 2, 3]} != {'b': [1, 2, 4]}" in text
    assert "Use -v to get more diff" not in text


def test_trims_deep_tracebacks(planted_run: tuple[str, Path]) -> None:
    output = planted_run[0]
    feedback = pytest_feedback(output)
    deep = next(f for f in feedback.failures if f.test == "test_deep_traceback")
    assert output.count("in deep") > 20
    assert len(deep.details) <= 12
    assert deep.details[-1].strip() == "E   KeyError: 'missing'"
    assert deep.message == "KeyError: 'missing'"


def test_junit_report_gives_full_test_ids(planted_run: tuple[str, Path]) -> None:
    output, report = planted_run
    feedback = pytest_feedback(output, report)
    assert feedback.failing == [
        "test_planted.py::test_add",
        "test_planted.py::test_dict",
        "test_planted.py::test_deep_traceback",
        "test_planted.py::test_param[2]",
        "test_planted.py::TestGroup::test_method",
    ]
    # The short tracebacks from the text output are kept for each of them.
    assert "E   assert -1 == 5" in feedback.failures[0].details
    assert "E   AssertionError: assert 'ABC' == 'ABd'" in feedback.failures[-1].details


def test_size_is_limited_and_says_what_was_left_out(planted_run: tuple[str, Path]) -> None:
    feedback = pytest_feedback(planted_run[0], max_chars=400)
    assert len(feedback.text) <= 400
    assert "FAILED test_add" in feedback.text
    assert "more failure" in feedback.text


def test_collection_error_is_reported(tmp_path: Path) -> None:
    (tmp_path / "test_broken.py").write_text(
        "import not_a_module_anywhere\n\ndef test_x():\n    pass\n"
    )
    run = _pytest(tmp_path)
    feedback = pytest_feedback(run.stdout)
    assert feedback.summary == "1 error"
    assert feedback.failing == ["ERROR collecting test_broken.py"]
    assert "No module named 'not_a_module_anywhere'" in feedback.text


def test_output_without_a_summary_is_not_mistaken_for_success() -> None:
    feedback = pytest_feedback("Traceback (most recent call last):\nImportError: boom\n")
    assert "no test summary" in feedback.summary
    assert "ImportError: boom" in feedback.text


def test_ruff_output(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("import os\n\n\ndef f(x):\n    return undefined_name\n")
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--no-cache",
            "--output-format=concise",
            "bad.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    feedback = ruff_feedback(run.stdout)
    assert feedback.summary == "Found 2 errors."
    assert feedback.failing == ["bad.py:1", "bad.py:5"]
    assert "F821 Undefined name `undefined_name`" in feedback.text


def test_mypy_output(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(
        'def f(x: int) -> str:\n    return x + 1\n\n\nf("a")\n'
        + "".join(f"g{i}: int = 'no'\n" for i in range(60))
    )
    run = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-color-output", "--no-incremental", "bad.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    feedback = mypy_feedback(run.stdout, max_chars=800)
    assert feedback.summary == "Found 62 errors in 1 file (checked 1 source file)"
    assert feedback.failing[:2] == ["bad.py:2", "bad.py:5"]
    assert 'Incompatible return value type (got "int", expected "str")' in feedback.text
    assert len(feedback.text) <= 800
    assert "more not shown" in feedback.text
