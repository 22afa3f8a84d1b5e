"""The sandbox: where generated code and its checks run, confined and limited.

``LocalSandbox(workspace).run(["python", "-m", "pytest", "-q"])`` returns a
:class:`RunResult`: exit code, whether and which limit stopped it (time, memory,
processes, output), capped stdout/stderr, duration and what the machine could not enforce.
:mod:`localfactory.sandbox.feedback` turns pytest, ruff and mypy output into short
feedback for the repair loop.
"""

from localfactory.sandbox.base import LimitName, Limits, RunResult, Sandbox, SandboxError
from localfactory.sandbox.local import LocalSandbox

__all__ = ["LimitName", "Limits", "LocalSandbox", "RunResult", "Sandbox", "SandboxError"]
