"""The factory loop with ``sandbox = "docker"``: its checks and the holdout driver run unchanged in containers.

The model is scripted; the engine, pytest, ruff, mypy and the holdout driver are real.
Skipped without a Docker engine (failed under CI), like the other Docker sandbox tests.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from localfactory.factory.engine import Factory
from localfactory.sandbox import Limits, Sandbox
from localfactory.sandbox.docker import DockerSandbox
from localfactory.sandbox.docker_image import SandboxImage
from localfactory.sandbox.selection import prepare, sandbox_maker
from localfactory.store import RunStore
from tests.factory_helpers import (
    OVERFIT,
    PLAN,
    RIGHT,
    TESTS,
    ScriptedModels,
    make_project,
    settings_for,
)

pytestmark = [pytest.mark.docker, pytest.mark.integration]


@pytest.mark.timeout(600)
def test_a_run_is_checked_validated_and_delivered_in_docker(
    image: SandboxImage, tmp_path: Path
) -> None:
    spec = make_project(tmp_path)
    settings = settings_for(
        tmp_path, LOCALFACTORY_FACTORY__SANDBOX="docker", LOCALFACTORY_FACTORY__MYPY="true"
    )
    chosen = sandbox_maker(settings)
    prepare(chosen)
    made: list[Sandbox] = []

    def make_sandbox(workspace: Path, limits: Limits) -> Sandbox:
        made.append(chosen(workspace, limits))
        return made[-1]

    # The code passes the visible tests but not the holdout: only the driver, run in a
    # container, can send it back to repair.
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [OVERFIT, RIGHT]})
    store = RunStore(settings.store_path())
    factory = Factory(settings, store, chat=models.chat, emit=print, make_sandbox=make_sandbox)
    run = factory.run(factory.start(spec).id)

    assert run.status.value == "succeeded", run.error
    states = [t.to_state for t in store.transitions(run.id)]
    assert states[1:8] == [
        "confirm_red", "implement", "check", "scrutinize", "validate", "repair", "check",
    ]  # fmt: skip
    repair_prompt = [p for role, p in models.prompts if role == "coder"][1]
    assert "returned a different value" in repair_prompt
    assert made and all(isinstance(s, DockerSandbox) for s in made)
    workspace = tmp_path / "build" / "adder"
    assert workspace.stat().st_uid == (workspace / "adder.py").stat().st_uid
