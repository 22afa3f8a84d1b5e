"""Runs one holdout scenario against built software, as a user would, inside the sandbox.

Started as ``python -m localfactory.factory.holdout_driver`` in a fresh interpreter with the
workspace as its working folder; reads a JSON job on stdin, prints one JSON line of results
after the marker. Standard library only: it drives the software as a black box (imports
its public API, runs its command line, sends it HTTP requests) and never reads its source.

A symptom says what a user would notice (an exception type, an exit status, an HTTP status,
"a different value") and never the scenario's inputs or expected values, so it can be shown
to the repair loop without leaking the holdout.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

MARKER = "@@localfactory-holdout@@"


def _call(step: dict[str, Any], ns: dict[str, Any]) -> str | None:
    try:
        value = eval(step["call"], ns)
    except BaseException as exc:
        if step.get("raises"):
            return (
                None
                if type(exc).__name__ == step["raises"]
                else (f"raised {type(exc).__name__} instead of the expected error")
            )
        return f"raised {type(exc).__name__}"
    if step.get("raises"):
        return "returned normally where an error was expected"
    if step.get("has_expect") and not _same(value, step.get("expect")):
        return f"returned a different value (a {type(value).__name__})"
    return None


def _plain(value: Any) -> Any:
    """``value`` as it would come back from JSON: tuples as lists, all the way down."""
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _same(value: Any, expected: Any) -> bool:
    """Expected values travel as JSON (a tuple arrives as a list), so compare in JSON's terms."""
    return bool(value == expected) or _plain(value) == _plain(expected)


def execute_run(
    step: dict[str, Any], job: dict[str, Any], scratch: Path
) -> subprocess.CompletedProcess[str] | str:
    """Run a ``run`` step's command as a user would (its files written first); the finished
    process, or why it could not finish."""
    argv = shlex.split(step["run"]) if isinstance(step["run"], str) else list(step["run"])
    if argv and argv[0] == job.get("command"):
        argv = [sys.executable, "-m", job["module"], *argv[1:]]
    for name, content in (step.get("files") or {}).items():
        target = scratch / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    env = {**os.environ, "PYTHONPATH": job["workspace"]}
    try:
        return subprocess.run(
            argv,
            input=step.get("stdin"),
            capture_output=True,
            text=True,
            cwd=scratch,
            env=env,
            timeout=30,
        )
    except subprocess.TimeoutExpired:
        return "the command did not finish within 30 s"
    except OSError as exc:
        return f"the command could not start ({exc.strerror})"


def _run(step: dict[str, Any], job: dict[str, Any], scratch: Path) -> str | None:
    proc = execute_run(step, job, scratch)
    if isinstance(proc, str):
        return proc
    want = step.get("exit_code", 0)
    if proc.returncode != want:
        return f"exited with status {proc.returncode} instead of {want}"
    if step.get("stdout") is not None and proc.stdout != step["stdout"]:
        return "printed different output"
    if any(s not in proc.stdout for s in step.get("stdout_contains") or []):
        return "its output lacks something expected"
    if any(s not in proc.stderr for s in step.get("stderr_contains") or []):
        return "its error output lacks something expected"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_service(job: dict[str, Any]) -> tuple[subprocess.Popen[bytes] | None, int, str | None]:
    port = _free_port()
    argv = shlex.split(job["start"].replace("{port}", str(port)))
    if argv and argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    env = {**os.environ, "PYTHONPATH": job["workspace"]}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None, port, f"the service exited at start with status {proc.returncode}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, port, None
        except OSError:
            time.sleep(0.1)
    proc.kill()
    return None, port, "the service did not accept connections within 15 s"


def send_request(step: dict[str, Any], port: int) -> tuple[int, bytes] | str:
    """Send a ``request`` step to the service on ``port``; (status, body), or why it failed."""
    method, path = step["request"].split(" ", 1)
    data = None
    headers = dict(step.get("headers") or {})
    if step.get("json") is not None:
        data = json.dumps(step["json"]).encode()
        headers.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=data, method=method, headers=headers
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (OSError, TimeoutError) as exc:
        return f"the request failed ({type(exc).__name__})"


def stop_service(service: subprocess.Popen[bytes] | None) -> None:
    if service is None:
        return
    service.terminate()
    try:
        service.wait(timeout=5)
    except subprocess.TimeoutExpired:
        service.kill()


def _request(step: dict[str, Any], port: int) -> str | None:
    answer = send_request(step, port)
    if isinstance(answer, str):
        return answer
    status, body = answer
    if step.get("status") is not None and status != step["status"]:
        return f"answered HTTP {status} instead of {step['status']}"
    if step.get("json_equals") is not None or step.get("json_contains"):
        try:
            doc = json.loads(body)
        except ValueError:
            return "answered with a body that is not JSON"
        if step.get("json_equals") is not None and doc != step["json_equals"]:
            return "answered with different JSON"
        want = step.get("json_contains") or {}
        if want and (not isinstance(doc, dict) or any(doc.get(k) != v for k, v in want.items())):
            return "answered JSON lacking an expected field or value"
    if step.get("body_contains") is not None and step["body_contains"] not in body.decode(
        errors="replace"
    ):
        return "answered a body lacking something expected"
    return None


def run_job(job: dict[str, Any]) -> dict[str, Any]:
    workspace = Path(job["workspace"])
    sys.path.insert(0, str(workspace))
    # Each trajectory gets a scratch folder of its own: files one wrote never leak into the next.
    base = workspace / ".sandbox" / "holdout"
    base.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{job['scenario']}-", dir=base))
    ns: dict[str, Any] = {}
    service = None
    port = 0
    if job["kind"] == "library":
        try:
            exec(f"from {job['module']} import *", ns)
        except BaseException as exc:
            return {
                "failed_step": 0,
                "symptom": f"importing the module raised {type(exc).__name__}",
            }
    if job["kind"] == "http-service":
        service, port, problem = start_service(job)
        if problem:
            return {"failed_step": 0, "symptom": problem}
    try:
        for i, step in enumerate(job["steps"], 1):
            if "call" in step:
                symptom = _call(step, ns)
            elif "run" in step:
                symptom = _run(step, job, scratch)
            else:
                symptom = _request(step, port)
            if symptom:
                return {"failed_step": i, "symptom": symptom}
        return {"failed_step": None, "symptom": None}
    finally:
        stop_service(service)
        shutil.rmtree(scratch, ignore_errors=True)


def main() -> None:
    job = json.loads(sys.stdin.read())
    result = run_job(job)
    sys.stdout.write("\n" + MARKER + json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
