"""Holdout scenarios: seeded trajectories, the leak guard on prompts, and the audit."""

from __future__ import annotations

from pathlib import Path

import pytest

from localfactory.factory.audit import audit_run
from localfactory.factory.calls import HoldoutLeak, ModelGateway
from localfactory.factory.holdout import (
    Satisfaction,
    ScenarioOutcome,
    feedback,
    leak_fragments,
    trajectories,
)
from localfactory.llm.call import Message
from localfactory.spec import parse_spec
from localfactory.spec.scenario import Scenario
from localfactory.store import RunStore
from tests.factory_helpers import SPEC, ScriptedModels

SCENARIO = Scenario.model_validate(
    {
        "name": "sums",
        "trajectories": 5,
        "seed": 3,
        "vars": {
            "a": {"int": [1000, 9999]},
            "w": {"string": {"alphabet": "xyz", "min": 3, "max": 3}},
        },
        "steps": [
            {"call": "add({a}, 1)", "expect_eval": "a + 1"},
            {"call": "shout({w})", "expect": "{w}!"},
            {"call": "add(424242, 1)", "expect": 424243},
        ],
    }
)


def test_trajectories_are_seeded_concrete_and_reproducible() -> None:
    first, again = trajectories(SCENARIO), trajectories(SCENARIO)
    assert first == again and len(first) == 5
    step = first[0][0]
    a = int(step["call"].removeprefix("add(").split(",")[0])
    assert 1000 <= a <= 9999 and step["expect"] == a + 1
    word = first[0][1]["call"].removeprefix("shout(").rstrip(")")
    assert first[0][1]["expect"] == f"{eval(word)}!"
    assert len({t[0]["call"] for t in first}) > 1, "trajectories draw different inputs"
    other_seed = trajectories(SCENARIO.model_copy(update={"seed": 4}))
    assert [t[0]["call"] for t in other_seed] != [t[0]["call"] for t in first]


def test_satisfaction_is_the_fraction_of_trajectories_passing() -> None:
    sat = Satisfaction([ScenarioOutcome("a", 4, 3), ScenarioOutcome("b", 6, 6)], threshold=0.9)
    assert sat.overall == 0.9 and sat.satisfied
    assert Satisfaction([ScenarioOutcome("a", 4, 3)], threshold=1.0).satisfied is False
    assert Satisfaction([], threshold=1.0).overall is None


def test_feedback_names_the_scenario_its_story_and_symptom_unless_strict() -> None:
    story = "Large numbers add up."
    failing = ScenarioOutcome("sums", 5, 2, ["step 1: raised TypeError"], story=story)
    sat = Satisfaction([failing, ScenarioOutcome("small", 2, 2, story="Small ones too.")], 1.0)
    loose = feedback(sat, strict=False)
    assert "check 'sums' (Large numbers add up): 3 of 5 runs failed" in loose
    assert "TypeError" in loose and "Small ones" not in loose  # only what failed
    strict = feedback(sat, strict=True)
    assert "sums" not in strict and "Large" not in strict and "TypeError" not in strict
    assert "1 of 2" in strict


def _gateway(tmp_path: Path, models: ScriptedModels) -> tuple[RunStore, str, ModelGateway]:
    store = RunStore(tmp_path / "runs.db")
    run = store.create_run(spec_name="adder", spec_path="adder.md", spec_sha256="0" * 64)
    step = store.begin_step(run.id, "implement")
    gateway = ModelGateway(store, run.id, models.chat, holdout_fragments=leak_fragments([SCENARIO]))
    gateway.at_step(step.seq)
    return store, run.id, gateway


def test_the_gateway_refuses_a_generating_prompt_with_scenario_text(tmp_path: Path) -> None:
    models = ScriptedModels({"coder": ["ok"], "judge": ["ok"]})
    _, _, gateway = _gateway(tmp_path, models)
    leaky = [Message(role="user", content="Make sure add(424242, 1) works")]
    with pytest.raises(HoldoutLeak):
        gateway.chat("coder", leaky)
    assert models.counts == {}, "the model was never asked"
    gateway.chat("judge", leaky)  # judges are not generating roles: they may see scenarios
    assert models.counts == {"judge": 1}


def test_the_audit_finds_a_planted_leak_and_clears_clean_runs(tmp_path: Path) -> None:
    models = ScriptedModels({"coder": ["def add(a, b): return a + b"]})
    store, run_id, gateway = _gateway(tmp_path, models)
    scenarios = tmp_path / "scenarios" / "adder"
    scenarios.mkdir(parents=True)
    (scenarios / "sums.yaml").write_text(SCENARIO.model_dump_json())
    spec = parse_spec(SPEC % {"iterations": 3})
    gateway.chat("coder", [Message(role="user", content="write add")])
    assert audit_run(store, run_id, spec, tmp_path / "scenarios").leaks == []
    # A prompt that slipped past the guard (recorded directly): the audit must catch it.
    store.record_model_call(
        run_id, 1, role="coder", backend="scripted", model="m",
        request={"messages": [{"role": "user", "content": "test add(424242, 1) please"}]}, response_text="x",
    )  # fmt: skip
    leaks = audit_run(store, run_id, spec, tmp_path / "scenarios").leaks
    assert [leak.fragment for leak in leaks] == ["add(424242, 1)"]


def _drive(job: dict[str, object]) -> dict[str, object]:
    import json
    import subprocess
    import sys

    from localfactory.factory.holdout_driver import MARKER

    out = subprocess.run(
        [sys.executable, "-m", "localfactory.factory.holdout_driver"],
        input=json.dumps(job), capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    return dict(json.loads(out.rpartition(MARKER)[2]))


def test_a_tuple_result_matches_an_expected_value_that_travelled_as_json(tmp_path: Path) -> None:
    (tmp_path / "pairs.py").write_text(
        "def split(s):\n    a, _, b = s.partition('=')\n    return (a, b)\n"
    )
    job = {"kind": "library", "module": "pairs", "workspace": str(tmp_path), "scenario": "s"}
    steps = [{"call": "split('k=v')", "has_expect": True, "expect": ["k", "v"]}]
    assert _drive({**job, "steps": steps}) == {"failed_step": None, "symptom": None}
    wrong = [{"call": "split('k=v')", "has_expect": True, "expect": ["v", "k"]}]
    assert _drive({**job, "steps": wrong})["failed_step"] == 1


def test_every_trajectory_starts_in_an_empty_scratch_folder(tmp_path: Path) -> None:
    # The command refuses to overwrite its output: a folder shared between runs would break it.
    (tmp_path / "once.py").write_text(
        "import pathlib, sys\n\ndef main():\n    out = pathlib.Path('out.txt')\n"
        "    if out.exists():\n        sys.exit('out.txt exists')\n    out.write_text('x')\n"
        "\nif __name__ == '__main__':\n    main()\n"
    )
    job = {
        "kind": "cli", "module": "once", "command": "once", "workspace": str(tmp_path),
        "scenario": "s", "steps": [{"run": "once", "exit_code": 0}],
    }  # fmt: skip
    assert _drive(job) == {"failed_step": None, "symptom": None}
    assert _drive(job) == {"failed_step": None, "symptom": None}
    assert list((tmp_path / ".sandbox" / "holdout").iterdir()) == []
