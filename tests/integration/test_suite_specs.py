"""The factory benchmark's suite is itself correct.

Every spec in ``examples/suite/`` loads; its holdout scenarios in ``scenarios/<name>/``
pass on every trajectory against a reference implementation
(``tests/integration/suite_reference/``), and every scenario fails against the
not-implemented stub the factory starts from, so none of them passes vacuously. Both run
through the factory's own holdout runner. Scenarios check inputs the spec does not list.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from localfactory.bench.factory import final_draw, holdout_score
from localfactory.bench.factory_report import LEVELS
from localfactory.factory.holdout import trajectories
from localfactory.factory.layout import layout_for, stub_source
from localfactory.spec import load_spec, render_for_prompt
from localfactory.spec.scenario import Scenario, load_scenarios

ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "examples" / "suite"
SCENARIOS = ROOT / "scenarios"
REFERENCE = Path(__file__).parent / "suite_reference"
SPEC_PATHS = sorted(p for p in SUITE.rglob("*.md") if p.name.lower() != "readme.md")


def _ids(path: Path) -> str:
    return path.stem


def _scenarios(name: str) -> list[Scenario]:
    return load_scenarios(SCENARIOS / name)


def test_the_suite_has_graded_specs_of_every_kind() -> None:
    levels = [p.parent.name for p in SPEC_PATHS]
    assert set(levels) <= set(LEVELS)
    assert (levels.count("easy"), levels.count("medium"), levels.count("hard")) >= (7, 8, 5)
    assert len(SPEC_PATHS) >= 20
    kinds = [load_spec(p).kind for p in SPEC_PATHS]
    assert kinds.count("library") > len(kinds) / 2
    assert "cli" in kinds and "http-service" in kinds


@pytest.mark.parametrize("path", SPEC_PATHS, ids=_ids)
def test_spec_loads_and_has_scenarios(path: Path) -> None:
    spec = load_spec(path)
    assert spec.name == path.stem
    scenarios = _scenarios(spec.name)
    assert len(scenarios) >= 2, f"{spec.name} needs at least two holdout scenarios"
    assert len({s.name for s in scenarios}) == len(scenarios)
    assert (REFERENCE / layout_for(spec).code_path).is_file(), "no reference implementation"


def _inputs(scenarios: list[Scenario]) -> set[str]:
    """What the scenarios feed the software: expressions, command lines, stdin, files, bodies."""
    found: set[str] = set()
    for scenario in scenarios:
        for steps in trajectories(scenario):
            for step in steps:
                texts = [step.get(k) for k in ("call", "run", "stdin")]
                texts += list((step.get("files") or {}).values())
                if step.get("json") is not None:
                    texts.append(json.dumps(step["json"]))
                found.update(t.strip() for t in texts if isinstance(t, str))
    return {t for t in found if len(t) >= 12}


@pytest.mark.parametrize("path", SPEC_PATHS, ids=_ids)
def test_scenarios_use_inputs_the_spec_does_not_list(path: Path) -> None:
    spec = load_spec(path)
    shown = render_for_prompt(spec)
    repeated = sorted(t for t in _inputs(_scenarios(spec.name)) if t in shown)
    assert not repeated, f"holdout inputs that the spec itself lists: {repeated}"


def _failures(path: Path, folder: Path, scenarios: list[Scenario]) -> dict[str, list[str]]:
    sat = holdout_score(load_spec(path), folder, scenarios)
    return {s.name: s.symptoms for s in sat.scenarios if s.passed < s.trajectories}


@pytest.mark.integration
@pytest.mark.parametrize("path", SPEC_PATHS, ids=_ids)
def test_reference_passes_every_trajectory(path: Path, tmp_path: Path) -> None:
    spec = load_spec(path)
    layout = layout_for(spec)
    target = tmp_path / layout.code_path
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(REFERENCE / layout.code_path, target)
    for extra, content in layout.extra_files:
        (tmp_path / extra).write_text(content)
    scenarios = _scenarios(spec.name)
    assert sum(s.trajectories for s in scenarios) >= 3
    assert _failures(path, tmp_path, scenarios) == {}
    # and on the bench's own draws, or a right answer could lose the bench
    assert _failures(path, tmp_path, final_draw(scenarios)) == {}


@pytest.mark.integration
@pytest.mark.parametrize("path", SPEC_PATHS, ids=_ids)
def test_every_scenario_fails_against_the_stub(path: Path, tmp_path: Path) -> None:
    spec = load_spec(path)
    layout = layout_for(spec)
    (tmp_path / layout.code_path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / layout.code_path).write_text(stub_source(spec))
    for extra, content in layout.extra_files:
        (tmp_path / extra).write_text(content)
    # One trajectory each is enough: the stub fails on every input or on none.
    scenarios = [s.model_copy(update={"trajectories": 1}) for s in _scenarios(spec.name)]
    failed = _failures(path, tmp_path, scenarios)
    assert sorted(failed) == sorted(s.name for s in scenarios)
