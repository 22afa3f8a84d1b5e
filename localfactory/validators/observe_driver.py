"""Runs one scenario trajectory in the sandbox and records what judged steps visibly produced.

Started as ``python -m localfactory.validators.observe_driver`` with the workspace as its
working folder; reads the same JSON job as the holdout driver on stdin and prints one JSON
line after the marker: ``{"observations": [{"step": 2, "observed": "..."}]}``. Standard
library only, and a black box like the holdout driver: it uses the software's public API,
command line or HTTP routes and never reads its source. Unlike the holdout driver it checks
nothing: every step runs (so later steps see the state earlier ones left), and for each
step with a ``judge`` criterion it keeps the value or error, the output, or the answer.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from localfactory.factory.holdout_driver import (
    MARKER,
    execute_run,
    send_request,
    start_service,
    stop_service,
)

SHOWN_CHARS = 2000
"""Longest piece of output kept per stream."""


def _cut(text: str) -> str:
    return text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + " [...]"


def _observe_call(step: dict[str, Any], ns: dict[str, Any]) -> str:
    try:
        value = eval(step["call"], ns)
    except BaseException as exc:
        return f"raised {type(exc).__name__}: {_cut(str(exc))}"
    return f"returned {_cut(repr(value))}"


def _observe_run(step: dict[str, Any], job: dict[str, Any], scratch: Path) -> str:
    proc = execute_run(step, job, scratch)
    if isinstance(proc, str):
        return proc
    return (
        f"exit status {proc.returncode}\n"
        f"standard output:\n{_cut(proc.stdout) or '(nothing)'}\n"
        f"standard error:\n{_cut(proc.stderr) or '(nothing)'}"
    )


def _observe_request(step: dict[str, Any], port: int) -> str:
    answer = send_request(step, port)
    if isinstance(answer, str):
        return answer
    status, body = answer
    return f"HTTP {status}\n{_cut(body.decode(errors='replace')) or '(empty body)'}"


def observe_job(job: dict[str, Any]) -> dict[str, Any]:
    workspace = Path(job["workspace"])
    sys.path.insert(0, str(workspace))
    scratch = workspace / ".sandbox" / "observe" / job["scenario"]
    scratch.mkdir(parents=True, exist_ok=True)
    ns: dict[str, Any] = {}
    if job["kind"] == "library":
        try:
            exec(f"from {job['module']} import *", ns)
        except BaseException as exc:
            return {"problem": f"importing the module raised {type(exc).__name__}: {exc}"}
    service, port = None, 0
    if job["kind"] == "http-service":
        service, port, problem = start_service(job)
        if problem:
            return {"problem": problem}
    observations = []
    try:
        for i, step in enumerate(job["steps"], 1):
            if "call" in step:
                seen = _observe_call(step, ns)
            elif "run" in step:
                seen = _observe_run(step, job, scratch)
            else:
                seen = _observe_request(step, port)
            if step.get("judge"):
                observations.append({"step": i, "observed": seen})
    finally:
        stop_service(service)
    return {"observations": observations}


def main() -> None:
    job = json.loads(sys.stdin.read())
    sys.stdout.write("\n" + MARKER + json.dumps(observe_job(job)) + "\n")


if __name__ == "__main__":
    main()
