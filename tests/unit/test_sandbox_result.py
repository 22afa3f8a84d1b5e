"""Capped capture and the one-sentence reason of a run, without running a sandbox."""

from __future__ import annotations

import io

import pytest

from localfactory.sandbox import Limits, RunResult
from localfactory.sandbox.capture import CappedOutput


def _capture(data: bytes, cap: int) -> CappedOutput:
    out = CappedOutput(io.BufferedReader(io.BytesIO(data)), cap)  # type: ignore[arg-type]
    out.join(5)
    return out


def test_short_output_is_kept_whole() -> None:
    out = _capture(b"hello\nworld\n", 100)
    assert (out.text(), out.cut, out.total) == ("hello\nworld\n", 0, 12)


def test_long_output_keeps_head_and_tail_and_counts_the_cut() -> None:
    data = b"HEAD" + b"." * 1_000_000 + b"TAIL"
    out = _capture(data, 1000)
    text = out.text()
    assert text.startswith("HEAD") and text.endswith("TAIL")
    assert out.cut == len(data) - 1000
    assert f"[... {out.cut} bytes cut" in text


def test_reason_names_the_limit() -> None:
    result = RunResult(argv=["python", "-c", "x"], exit_code=None, signal=9, limit="memory")
    assert result.reason() == "`python -c x` was stopped by the memory limit."
    assert not result.ok


def test_reason_for_a_signal_and_long_commands() -> None:
    result = RunResult(argv=["sh", "-c", "kill -SEGV $$ " + "x" * 100], exit_code=None, signal=11)
    reason = result.reason()
    assert "killed by signal SIGSEGV" in reason
    assert "..." in reason and len(reason) < 120


def test_limits_reject_unknown_and_nonsense_values() -> None:
    with pytest.raises(ValueError):
        Limits(wall_time_s=0)
    with pytest.raises(ValueError):
        Limits(memroy_mb=10)  # type: ignore[call-arg]
