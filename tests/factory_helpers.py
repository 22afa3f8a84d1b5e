"""Shared helpers for factory tests: a tiny spec project and a scripted model by role."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from localfactory.config import load_settings
from localfactory.factory.engine import Factory
from localfactory.llm.call import ChatResult
from localfactory.llm.scripted import ScriptedBackend
from localfactory.store import RunStore

SPEC = """---
name: adder
kind: library
interface:
  module: adder
  functions:
    - 'add(a: int, b: int) -> int'
budget: {iterations: %(iterations)d, tokens: 100000, wall_time: 10m}
---
# Adder
Adds two integers.

## Acceptance criteria
- `add(2, 3)` returns `5`.
- `add(-1, 1)` returns `0`.
"""

SCENARIO = """name: random-sums
description: Users add numbers in the hundreds.
trajectories: 4
seed: 11
vars:
  a: {int: [100, 999]}
  b: {int: [100, 999]}
steps:
  - call: add({a}, {b})
    expect_eval: a + b
  - call: add(123456, 654321)
    expect: 777777
"""

PLAN = "- `add`: return a + b, negatives included."
TESTS = (
    "Here are the tests.\n\ntests/test_adder.py\n```python\nfrom adder import add\n\n\n"
    "def test_small():\n    assert add(2, 3) == 5\n\n\ndef test_negative():\n    assert add(-1, 1) == 0\n```\n"
)
EMPTY_TESTS = "tests/test_adder.py\n```python\ndef test_nothing():\n    assert True\n```\n"
WRONG = "adder.py\n```python\ndef add(a: int, b: int) -> int:\n    return a - b\n```\n"
RIGHT = "Fixed it.\n```python\ndef add(a: int, b: int) -> int:\n    return a + b\n```\n"
# Another wrong answer failing the same tests, and another right one (a repair must change the code).
WRONG_OTHER = WRONG.replace("a - b", "a * b")
RIGHT_OTHER = RIGHT.replace("a + b", "b + a")
# Passes the visible tests but not large inputs: only the holdout scenarios catch it.
OVERFIT = (
    "adder.py\n```python\ndef add(a: int, b: int) -> int:\n"
    "    if a > 50:\n        return 0\n    return a + b\n```\n"
)


def make_project(root: Path, *, iterations: int = 4, scenario: str | None = SCENARIO) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "localfactory.toml").write_text("")
    spec = root / "adder.md"
    spec.write_text(SPEC % {"iterations": iterations})
    if scenario is not None:
        (root / "scenarios" / "adder").mkdir(parents=True, exist_ok=True)
        (root / "scenarios" / "adder" / "sums.yaml").write_text(scenario)
    return spec


def settings_for(root: Path, **env: str) -> Any:
    """Settings of the project at ``root``; mypy is off unless a test turns it on (it is slow),
    the scrutiny stage reviews without a judge unless a test scripts one, a repair asks for
    one answer unless a test scripts sampled candidates, and a failed holdout goes straight to
    the coder unless a test scripts the test writer's extension."""
    env = {
        "LOCALFACTORY_FACTORY__MYPY": "false",
        "LOCALFACTORY_VALIDATORS__SCRUTINY": "static",
        "LOCALFACTORY_FACTORY__REPAIR_CANDIDATES": "1",
        "LOCALFACTORY_FACTORY__TEST_EXTENSIONS": "0",
        **env,
    }
    return load_settings(cwd=root, user_file=root / "no-user-config.toml", environ=env)


class ScriptedModels:
    """Answers per role, in order; records every request it gets."""

    def __init__(self, answers: dict[str, Sequence[str] | Callable[[int], str]]) -> None:
        self.answers = answers
        self.counts: dict[str, int] = {}
        self.prompts: list[tuple[str, str]] = []
        self.backend = ScriptedBackend(script=self._answer)

    def _answer(self, request: Any) -> str:
        role = request.role
        n = self.counts.get(role, 0)
        self.counts[role] = n + 1
        self.prompts.append((role, "\n".join(m.content for m in request.messages)))
        script = self.answers[role]
        if callable(script):
            return script(n)
        return script[min(n, len(script) - 1)]

    def chat(
        self, role: str, messages: Any, *, json_schema: Any = None, options: Any = None
    ) -> ChatResult:
        return self.backend.chat(
            messages, role=role, options=options, json_schema=json_schema
        ).result()


WRONG_TESTS = TESTS.replace("add(2, 3) == 5", "add(2, 3) == 6")


def build(
    tmp_path: Path,
    models: ScriptedModels,
    *,
    iterations: int = 4,
    scenario: str | None = SCENARIO,
    **env: str,
) -> tuple[Factory, RunStore, Any, list[str]]:
    """Build the adder spec with ``models``: the factory, its store, the finished run, and the
    lines it printed."""
    spec = make_project(tmp_path, iterations=iterations, scenario=scenario)
    settings = settings_for(tmp_path, **env)
    store = RunStore(settings.store_path())
    lines: list[str] = []
    factory = Factory(settings, store, chat=models.chat, emit=lines.append)
    run = factory.run(factory.start(spec).id)
    return factory, store, run, lines


def states(store: RunStore, run_id: str) -> list[str]:
    """The states a run went through, in order."""
    return [t.to_state for t in store.transitions(run_id)]


def reasons_of(store: RunStore, run_id: str, stage: str) -> list[str]:
    """Why each step of ``stage`` ended, in order (the transitions' reasons)."""
    return [t.reason for t in store.transitions(run_id) if t.from_state == stage]


def build_with_coder(
    tmp_path: Path, coder: Sequence[str], **env: str
) -> tuple[ScriptedModels, RunStore, Any, list[str]]:
    """Build the adder spec with the usual plan and tests and ``coder``'s answers in order."""
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": coder})
    _, store, run, lines = build(tmp_path, models, **env)
    return models, store, run, lines
