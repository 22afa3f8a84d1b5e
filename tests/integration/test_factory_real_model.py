"""The real 0.5B model builds a tiny spec to green and satisfies its holdout scenarios.

Every role runs on the embedded Qwen2.5-Coder-0.5B (llama-cpp-python, CPU); the sandbox,
pytest, ruff, git and the run store are real. A small model does not always get it right
the first time: the factory's repair loop is what makes it get there, within the budget.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from localfactory.factory.audit import audit_run
from localfactory.factory.engine import Factory
from localfactory.store import RunStore
from tests.conftest import TEST_MODEL, RealModel
from tests.factory_helpers import settings_for

# About a minute on a quiet 2-core machine; a busy one is many times slower.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(1800)]

SPEC = """---
name: evens
kind: library
interface:
  module: evens
  functions:
    - 'is_even(n: int) -> bool'
budget: {iterations: 4, tokens: 60000, wall_time: 15m}
---
# Evens

A one-function module `evens`.

## Acceptance criteria
- `is_even(n)` returns `True` when the integer `n` is divisible by 2 and `False` otherwise.
- `is_even(4)` returns `True` and `is_even(7)` returns `False`.
- `is_even(0)` returns `True` and `is_even(-3)` returns `False`.
"""

SCENARIO = """name: random-integers
trajectories: 6
seed: 5
vars:
  n: {int: [-1000, 1000]}
steps:
  - call: is_even({n})
    expect_eval: n % 2 == 0
"""


def test_the_small_model_builds_a_tiny_spec_to_green(tmp_path: Path, real_model: RealModel) -> None:
    (tmp_path / "localfactory.toml").write_text("")
    spec = tmp_path / "evens.md"
    spec.write_text(SPEC)
    (tmp_path / "scenarios" / "evens").mkdir(parents=True)
    (tmp_path / "scenarios" / "evens" / "random.yaml").write_text(SCENARIO)
    env = {
        f"LOCALFACTORY_ROLES__{role.upper()}__MODEL": TEST_MODEL
        for role in ("planner", "test_writer", "coder", "judge")
    }
    env["LOCALFACTORY_LLM__CONTEXT_LENGTH"] = "4096"
    settings = settings_for(tmp_path, **env)
    store = RunStore(settings.store_path())
    lines: list[str] = []
    factory = Factory(settings, store, emit=lines.append)
    run = factory.run(factory.start(spec).id)

    assert run.status.value == "succeeded", "\n".join(lines)
    calls = store.model_calls(run.id)
    assert {c.model for c in calls} == {TEST_MODEL} and {c.backend for c in calls} == {"embedded"}
    sat = [t.reason for t in store.transitions(run.id) if t.from_state == "validate"]
    assert sat[-1].startswith("satisfaction 100% (6/6 trajectories")
    delivered = (tmp_path / "build" / "evens" / "evens.py").read_text()
    assert "def is_even(n: int) -> bool" in delivered
    assert audit_run(store, run.id, factory.spec_of(run), tmp_path / "scenarios").leaks == []
    assert (tmp_path / ".localfactory" / "reports" / run.id / "report.html").is_file()
