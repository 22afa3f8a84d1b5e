"""What a stage of the factory sees: the spec, the workspace, the sandbox, the gateway.

Stages never see holdout scenarios: only the validation stage loads them, itself, from
the scenarios folder. Notes a stage leaves for later stages (the plan, the last feedback)
are artifacts of the run, so a resumed run finds them where the killed one left them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localfactory.config import Settings
from localfactory.factory.calls import ModelGateway
from localfactory.factory.layout import Layout
from localfactory.factory.machine import Outcome
from localfactory.factory.workspace import Workspace
from localfactory.sandbox import Limits, LocalSandbox, Sandbox
from localfactory.spec import Spec
from localfactory.store import RunStore

NOTE = "note"
"""Artifact kind of the notes stages leave for each other."""


@dataclass
class StageResult:
    outcome: Outcome
    reason: str
    output: dict[str, Any] = field(default_factory=dict)


@dataclass
class StageContext:
    settings: Settings
    spec: Spec
    spec_path: Path
    store: RunStore
    run_id: str
    step_seq: int
    attempt: int
    retry: int
    """How many times in a row this stage has just produced unusable output (0: first try)."""
    gateway: ModelGateway
    workspace: Workspace
    layout: Layout
    emit: Callable[[str], None] = print
    make_sandbox: Callable[[Path, Limits], Sandbox] = LocalSandbox

    def sandbox(self, *, wall_time_s: float | None = None) -> Sandbox:
        limits = Limits(wall_time_s=wall_time_s or self.settings.factory.check_timeout_s)
        return self.make_sandbox(self.workspace.root, limits)

    def note(self, name: str) -> str | None:
        found = self.store.get_artifact(self.run_id, name, kind=NOTE)
        return None if found is None else found.text()

    def put_note(self, name: str, text: str) -> None:
        self.store.put_artifact(self.run_id, name, text, kind=NOTE, step_seq=self.step_seq)

    def log(self, message: str, *, level: str = "info") -> None:
        self.store.log(self.run_id, message, level=level, step_seq=self.step_seq)
        self.emit(message)
