"""How a sandboxed run ended, in one sentence a person (or the repair prompt) can act on."""

from __future__ import annotations

import shlex
import signal as signals
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from localfactory.sandbox.base import RunResult

_NETWORK_SIGNS = ("Network is unreachable", "ENETUNREACH", "[Errno 101]")


def network_attempt(result: RunResult) -> bool:
    """Whether the output shows the command tried to reach a network the sandbox does not have."""
    return any(sign in result.stderr or sign in result.stdout for sign in _NETWORK_SIGNS)


def explain(result: RunResult) -> str:
    command = shlex.join(result.argv)
    if len(command) > 60:
        command = command[:57] + "..."
    if result.start_error:
        return f"`{command}` could not start: {result.start_error}."
    stopped = {
        "time": f"was killed after running out of time ({result.duration_s:.1f} s)",
        "memory": "was stopped by the memory limit",
        "processes": "was stopped by the process limit (too many processes or threads)",
        "output": "was killed for printing too much output",
    }
    if result.limit is not None:
        return f"`{command}` {stopped[result.limit]}."
    if result.exit_code == 0:
        return f"`{command}` succeeded in {result.duration_s:.1f} s."
    if result.signal is not None:
        name = (
            signals.Signals(result.signal).name
            if result.signal in signals.valid_signals()
            else result.signal
        )
        return f"`{command}` was killed by signal {name}."
    text = f"`{command}` failed with exit code {result.exit_code}"
    if network_attempt(result):
        text += "; it tried to use the network, which the sandbox does not provide (only loopback)"
    return text + "."
