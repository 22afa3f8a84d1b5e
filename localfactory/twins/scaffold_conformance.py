"""Running conformance scenarios against a twin over HTTP, and the command the sandbox runs.

``python -m localfactory.twins.scaffold_conformance TWIN_DIR [--operation NAME]`` loads the
twin in ``TWIN_DIR`` (fresh, from its files), serves it on a free loopback port in this
process, runs its ``conformance.json`` scenarios with a plain HTTP client and prints the
results as JSON. A failing step says what was expected and what came back; when the twin
failed with an exception, its last lines are in ``server_error`` (the repair prompt needs them).
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localfactory.twins.scaffold_schema import properties, required, schema_types

if TYPE_CHECKING:
    from localfactory.sandbox import Sandbox
    from localfactory.twins.core import Twin

SCENARIOS = "conformance.json"
_PLACEHOLDER = re.compile(r"^\$\{([A-Za-z0-9_]+)\.([^{}]+)\}$")
_PY_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array": list,
    "object": dict,
}


def shape_problems(value: Any, schema: dict[str, Any] | None, where: str = "body") -> list[str]:
    """What in ``value`` does not fit ``schema``: types, required fields, enums (nothing else)."""
    if not schema:
        return []
    kinds = schema_types(schema)
    if kinds and not any(_is(value, k) for k in kinds):
        return [f"{where} should be {' or '.join(kinds)}, got {_kind(value)} {_short(value)}"]
    if "enum" in schema and isinstance(schema["enum"], list) and value not in schema["enum"]:
        return [f"{where} should be one of {schema['enum']!r}, got {_short(value)}"]
    problems: list[str] = []
    if isinstance(value, dict):
        for name in required(schema):
            if name not in value:
                problems.append(f"{where}.{name} is missing")
        for name, sub in properties(schema).items():
            if name in value and isinstance(sub, dict):
                problems += shape_problems(value[name], sub, f"{where}.{name}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for i, item in enumerate(value[:20]):
            problems += shape_problems(item, schema["items"], f"{where}[{i}]")
    return problems


def _is(value: Any, kind: str) -> bool:
    if kind == "null":
        return value is None
    if kind in ("integer", "number") and isinstance(value, bool):
        return False
    if kind == "integer" and isinstance(value, float):
        return value.is_integer()
    return isinstance(value, _PY_TYPES.get(kind, object))


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _short(value: Any, limit: int = 120) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Failures(logging.Handler):
    """Keeps the twin's logged exceptions, so a 500 can be explained."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.seen.append(text)


def run_scenarios(
    base_url: str, scenarios: list[dict[str, Any]], *, failures: _Failures | None = None
) -> list[dict[str, Any]]:
    """Run each scenario on a reset twin at ``base_url``; one result per scenario."""
    return [_run(base_url, scenario, failures) for scenario in scenarios]


def _run(base: str, scenario: dict[str, Any], failures: _Failures | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "name": scenario["name"],
        "operation": scenario["operation"],
        "passed": False,
        "problems": [],
    }
    _call(base, "POST", "/_twin/reset", None, None)
    _, issued = _call(base, "POST", "/_twin/tokens", {}, None)
    token = issued.get("token") if isinstance(issued, dict) else None
    saved: dict[str, Any] = {}
    for number, step in enumerate(scenario["steps"], 1):
        seen = len(failures.seen) if failures else 0
        problems = _step(base, step, token, saved)
        if problems:
            label = f"step {number} ({step['method']} {step['path']})"
            result["problems"] = [f"{label}: {p}" for p in problems]
            if failures is not None and len(failures.seen) > seen:
                result["server_error"] = "\n".join(failures.seen[seen:])[-1500:]
            return result
    result["passed"] = True
    return result


def _step(base: str, step: dict[str, Any], token: str | None, saved: dict[str, Any]) -> list[str]:
    try:
        params = _fill(step.get("params") or {}, saved)
        query = _fill(step.get("query") or {}, saved)
        body = _fill(step.get("body"), saved)
    except KeyError as exc:
        return [f"an earlier step saved no {exc.args[0]}"]
    path = step["path"]
    for name, value in params.items():
        path = path.replace("{" + name + "}", urllib.parse.quote(str(value), safe=""))
    if query:
        path += "?" + urllib.parse.urlencode(query, doseq=True)
    status, answer = _call(base, step["method"], path, body, token)
    expect = step.get("expect", {})
    if status != expect.get("status"):
        return [f"answered {status}, expected {expect.get('status')}: {_short(answer, 300)}"]
    problems = shape_problems(answer, expect.get("schema"))
    for name, wanted in (expect.get("values") or {}).items():
        got = answer.get(name, "(missing)") if isinstance(answer, dict) else "(not an object)"
        if got != _fill(wanted, saved):
            problems.append(f"body.{name} should be {_short(wanted)}, got {_short(got)}")
    if step.get("save"):
        saved[step["save"]] = answer
    return problems


def _fill(value: Any, saved: dict[str, Any]) -> Any:
    if isinstance(value, str):
        found = _PLACEHOLDER.match(value)
        if found:
            holder = saved[found.group(1)]
            return holder.get(found.group(2)) if isinstance(holder, dict) else None
        return value
    if isinstance(value, dict):
        return {k: _fill(v, saved) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, saved) for v in value]
    return value


def _call(base: str, method: str, path: str, body: Any, token: str | None) -> tuple[int, Any]:
    headers = {"accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["content-type"] = "application/json"
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    if not raw:
        return status, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")[:300]


def load_fresh(folder: Path) -> Twin:
    """The twin in ``folder`` built from its files as they are now (no module kept from before)."""
    from localfactory.twins.catalog import load_twin, read_manifest

    manifest = read_manifest(folder)
    package = f"localfactory_twin_{manifest.name.replace('-', '_')}"
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[name]
    return load_twin(manifest)


def check_twin(folder: Path, operations: list[str] | None = None) -> list[dict[str, Any]]:
    """Load the twin in ``folder`` afresh, serve it on loopback and run its scenarios."""
    from localfactory.twins.app import TwinApp
    from localfactory.twins.serve import run_in_thread

    scenarios = json.loads((folder / SCENARIOS).read_text())
    if operations:
        scenarios = [s for s in scenarios if s["operation"] in operations]
    twin = load_fresh(folder)
    failures = _Failures()
    logging.getLogger("localfactory.twins").addHandler(failures)
    with tempfile.TemporaryDirectory(prefix="twin-check-") as snapshots:
        app = TwinApp(twin, snapshot_dir=Path(snapshots))
        with run_in_thread(app) as running:
            return run_scenarios(running.url, scenarios, failures=failures)


@dataclass
class CheckRun:
    """What one run of the scenarios in the sandbox found."""

    results: list[dict[str, Any]]
    error: str | None = None
    """Why no results came back: the twin did not load, or the run itself failed."""

    @property
    def passed(self) -> bool:
        return self.error is None and all(r["passed"] for r in self.results)

    def problems(self) -> list[str]:
        """Every failure, with the twin's exception where it raised one."""
        if self.error is not None:
            return [self.error]
        found: list[str] = []
        for result in self.results:
            if not result["passed"]:
                found += [f"{result['name']}: {p}" for p in result["problems"]]
                if result.get("server_error"):
                    found.append("The twin raised:\n" + result["server_error"])
        return found


def check_in_sandbox(
    sandbox: Sandbox, folder: Path, operations: list[str] | None = None, *, wall_time_s: float = 60
) -> CheckRun:
    """Run the scenarios of the twin in ``folder`` (inside the sandbox's workspace), confined."""
    argv = [sys.executable, "-m", "localfactory.twins.scaffold_conformance", str(folder)]
    for name in operations or []:
        argv += ["--operation", name]
    run = sandbox.run(argv, limits=sandbox.limits.model_copy(update={"wall_time_s": wall_time_s}))
    last = run.stdout.strip().splitlines()[-1:] or [""]
    try:
        answer = json.loads(last[0])
    except ValueError:
        tail = (run.stderr or run.stdout).strip()[-1500:]
        return CheckRun([], f"The conformance run failed ({run.reason()}): {tail}")
    if "load_error" in answer:
        return CheckRun([], "The twin does not load:\n" + answer["load_error"])
    return CheckRun(answer["results"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m localfactory.twins.scaffold_conformance",
        description="Run a scaffolded twin's conformance scenarios; prints the results as JSON.",
    )
    parser.add_argument("folder", type=Path, help="the twin's folder (with conformance.json)")
    parser.add_argument("--operation", action="append", help="only this operation's scenarios")
    args = parser.parse_args(argv)
    logging.getLogger("localfactory.twins").propagate = False
    try:
        results = check_twin(args.folder, args.operation)
    except Exception as exc:  # a twin that does not even load: the caller reports it
        import traceback

        print(json.dumps({"load_error": traceback.format_exc(limit=-4)[-2000:]}))
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(2)
    print(json.dumps({"results": results}))


if __name__ == "__main__":
    main()
