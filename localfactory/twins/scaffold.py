"""``localfactory twin new NAME --from openapi.json``: a twin built from a user's OpenAPI document.

The scaffold (no model) writes the twin's package and its conformance scenarios into a
staging folder; the coder model then writes the handlers the scaffold could not infer
(:mod:`localfactory.twins.agent_handlers`), each checked by its scenarios in the sandbox;
the scenarios run once more over the finished twin, and the twin is moved to its folder
with ``twin-report.json`` beside its code: which handlers the model wrote, which
scenarios pass, and what of the document the twin does not check.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from localfactory import locations
from localfactory.errors import UserError
from localfactory.sandbox import LocalSandbox, Sandbox
from localfactory.twins.catalog import MANIFEST, all_twins, user_twin_dir
from localfactory.twins.scaffold_conformance import SCENARIOS, CheckRun, check_in_sandbox
from localfactory.twins.scaffold_openapi import load_document
from localfactory.twins.scaffold_plan import OperationPlan, ScaffoldPlan, plan_twin
from localfactory.twins.scaffold_scenarios import build_scenarios
from localfactory.twins.scaffold_writer import write_package

REPORT = "twin-report.json"
_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")

Say = Callable[[str], None]
Check = Callable[[list[str] | None], CheckRun]
"""Runs the scenarios of some operations (None: all) against the twin as it is now."""


@dataclass
class HandlerOutcome:
    """What became of one handler the scaffold left open."""

    operation: str
    function: str
    written_by: str
    """``model`` (its body is the model's, and it is in the twin) or ``stub`` (answers 501)."""
    passed: bool | None
    """Its scenarios passed; None when it has none (written, not verified)."""
    attempts: int = 0
    """Model answers asked for: the first, plus repairs."""
    problems: list[str] = field(default_factory=list)
    """What the last attempt got wrong, when none succeeded."""
    generated_tokens: int = 0
    seconds: float = 0.0


WriteHandlers = Callable[[ScaffoldPlan, Path, Check], list[HandlerOutcome]]


@dataclass
class NewTwin:
    name: str
    folder: Path
    plan: ScaffoldPlan
    handlers: list[HandlerOutcome]
    check: CheckRun
    scenarios: int
    report: dict[str, Any]


def default_folder(name: str) -> Path:
    """``twins/NAME`` of the checkout localfactory runs from, else the user's twins folder."""
    root = locations.source_root()
    return (root / "twins" / name) if root is not None else user_twin_dir() / name


def new_twin(
    name: str,
    source: Path,
    out: Path | None = None,
    *,
    write_handlers: WriteHandlers | None = None,
    model: str | None = None,
    force: bool = False,
    make_sandbox: Callable[[Path], Sandbox] = LocalSandbox,
    say: Say = lambda line: None,
) -> NewTwin:
    """Scaffold the twin ``name`` from ``source`` into ``out``; the model writes the rest if given."""
    if not _NAME.match(name):
        raise UserError(
            f"{name!r} cannot name a twin.",
            hint="Use lower-case letters, digits, '-' and '_', starting with a letter.",
        )
    folder = (out or default_folder(name)).expanduser().resolve()
    _refuse_clash(name, folder, force)
    plan = plan_twin(name, load_document(source))
    scenarios, skipped = build_scenarios(plan)
    custom = len(plan.custom)
    say(
        f"Scaffolding the {name} twin: {len(plan.operations)} operations, "
        f"{len(plan.operations) - custom} served by the scaffold, {custom} left to write; "
        f"{len(scenarios)} conformance scenarios."
    )
    with tempfile.TemporaryDirectory(prefix=f"twin-new-{name}-") as staging:
        workspace = Path(staging)
        built = workspace / name
        write_package(plan, built, source.name)
        (built / SCENARIOS).write_text(json.dumps(scenarios, indent=2) + "\n")
        sandbox = make_sandbox(workspace)

        def check(operations: list[str] | None) -> CheckRun:
            return check_in_sandbox(sandbox, built, operations)

        outcomes = write_handlers(plan, built, check) if write_handlers and custom else []
        if not outcomes:
            outcomes = [HandlerOutcome(op.name, op.function, "stub", None) for op in plan.custom]
        final = check(None)
        report = _report(plan, source, model, outcomes, final, skipped)
        (built / REPORT).write_text(json.dumps(report, indent=2) + "\n")
        _install(built, folder)
    return NewTwin(name, folder, plan, outcomes, final, len(scenarios), report)


def _refuse_clash(name: str, folder: Path, force: bool) -> None:
    other = all_twins().get(name)
    if other is not None and other.folder.resolve() != folder:
        raise UserError(
            f"A twin named {name!r} already exists in {other.folder}.",
            hint="Choose another name (the one found first would shadow the other).",
        )
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MANIFEST).is_file():
            raise UserError(
                f"{folder} already exists and holds something other than a twin.",
                hint="Choose an empty or new folder with --out.",
            )
        if not (folder / REPORT).is_file():
            raise UserError(
                f"{folder} holds a twin that `twin new` did not make; it is never replaced.",
                hint="Choose another name, or another folder with --out.",
            )
        if not force:
            raise UserError(
                f"The {name} twin already exists in {folder}.",
                hint="Pass --force to build it again over the old one.",
            )


def _install(built: Path, folder: Path) -> None:
    if folder.exists():
        shutil.rmtree(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(built, folder, ignore=shutil.ignore_patterns("__pycache__", ".sandbox"))


def _report(
    plan: ScaffoldPlan,
    source: Path,
    model: str | None,
    outcomes: list[HandlerOutcome],
    final: CheckRun,
    skipped: list[str],
) -> dict[str, Any]:
    by_operation = {o.operation: o for o in outcomes}

    def served_by(op: OperationPlan) -> str:
        if not op.custom:
            return "scaffold"
        return by_operation[op.name].written_by if op.name in by_operation else "stub"

    passed = sum(1 for r in final.results if r["passed"])
    return {
        "twin": plan.name,
        "source": str(source),
        "source_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "model": model,
        "operations": [
            {
                "operation": op.name,
                "method": op.api.method,
                "path": op.api.path,
                "kind": op.kind,
                "served_by": served_by(op),
            }
            for op in plan.operations
        ],
        "handlers": [asdict(o) for o in outcomes],
        "scenarios": {
            "total": len(final.results),
            "passed": passed,
            "error": final.error,
            "results": final.results,
            "not_made": skipped,
        },
        "notes": plan.notes,
    }
