"""``localfactory bench factory``: its bookkeeping, with a scripted model on a tiny suite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from localfactory.bench import factory as bench
from localfactory.bench.factory_report import Attempt, BenchReport, SpecResult
from localfactory.config import Settings
from localfactory.errors import UserError
from localfactory.factory.holdout import trajectories
from localfactory.llm.call import ChatResult
from tests.factory_helpers import (
    PLAN,
    RIGHT,
    SCENARIO,
    SPEC,
    TESTS,
    WRONG,
    WRONG_OTHER,
    ScriptedModels,
)


def _spec(folder: Path, level: str, name: str, scenarios: Path | None, iterations: int = 4) -> Path:
    path = folder / level / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text((SPEC % {"iterations": iterations}).replace("name: adder", f"name: {name}"))
    if scenarios is not None:
        (scenarios / name).mkdir(parents=True, exist_ok=True)
        (scenarios / name / "sums.yaml").write_text(SCENARIO)
    return path


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared test settings without mypy in the factory's checks (slow, and not judged here),
    a scrutiny stage that needs no judge (the scripted models have none), one answer per
    repair and no test extension."""
    settings.factory.mypy = False
    settings.validators.scrutiny = "static"
    settings.factory.repair_candidates = 1
    settings.factory.test_extensions = 0
    return settings


def _attempt(solved: bool, seconds: float = 10.0, tokens: int = 100) -> Attempt:
    sat = 1.0 if solved else 0.5
    return Attempt(solved, sat, 4 if solved else 2, 4, seconds, tokens, "ok")


def test_solve_rates_points_and_means() -> None:
    report = BenchReport("qwen2.5-coder-1.5b", "suite", "/tmp/x")
    for name, level, single, factory in [
        ("a", "easy", True, True),
        ("b", "easy", False, True),
        ("c", "medium", False, True),
        ("d", "hard", False, False),
    ]:
        report.results.append(
            SpecResult(name, level, _attempt(single, 10, 100), _attempt(factory, 30, 1000))
        )
    assert report.solve_rate("single_shot") == 0.25
    assert report.solve_rate("factory") == 0.75
    assert report.solve_rate("factory", "easy") == 1.0
    assert report.solve_rate("factory", "hard") == 0.0
    assert report.points() == pytest.approx(50.0)
    assert report.mean("factory", "seconds") == 30.0
    assert report.mean("single_shot", "tokens") == 100.0
    assert report.verdict() == "PASS"
    summary = "\n".join(report.summary_lines())
    assert "single-shot  solved 1/4 (25%; easy 1/2, medium 0/1, hard 0/1)" in summary
    assert "factory      solved 3/4 (75%" in summary
    assert "+50 points" in summary and summary.endswith("PASS")


def test_the_summary_says_how_busy_the_machine_was_for_the_factory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    report = BenchReport("qwen2.5-coder-1.5b", "suite", "/tmp/x")
    for load in (1.2, 3.4):
        busy = Attempt(True, 1.0, 4, 4, 30.0, 1000, "succeeded", load=load)
        report.results.append(SpecResult(f"s{load}", "easy", _attempt(True), busy))
    lines = report.summary_lines()
    said = next(line for line in lines if line.startswith("machine:"))
    assert "2 cores" in said and "mean 2.3, highest 3.4" in said and "a busy machine" in said
    report.write_json(tmp_path / "r.json")  # kept through an interrupted bench's file
    assert [r.factory.load for r in BenchReport.load(tmp_path / "r.json").results] == [1.2, 3.4]
    # results written before the load was recorded still load, and say nothing of it
    old = BenchReport("qwen2.5-coder-1.5b", "suite", "/tmp/x")
    old.results.append(SpecResult("s", "easy", _attempt(True), _attempt(True)))
    assert not any(line.startswith("machine:") for line in old.summary_lines())


def test_a_gain_below_fifteen_points_misses_and_other_models_are_labelled() -> None:
    report = BenchReport("qwen2.5-coder-0.5b", "suite", "/tmp/x")
    for i in range(10):
        report.results.append(SpecResult(f"s{i}", "easy", _attempt(i < 5), _attempt(i < 6)))
    assert report.points() == pytest.approx(10.0)
    assert report.verdict() == "MISS"
    last = report.summary_lines()[-1]
    assert "the target is set for qwen2.5-coder-1.5b" in last and last.endswith("MISS")


def test_an_empty_report_says_so() -> None:
    report = BenchReport("m", "suite", "/tmp/x")
    assert report.solve_rate("factory") is None and report.points() is None
    assert report.verdict() == "MISS"
    assert report.summary_lines() == ["no specs were run"]


def test_the_suite_is_ordered_by_level_and_can_be_narrowed(tmp_path: Path) -> None:
    suite, scenarios = tmp_path / "suite", tmp_path / "scenarios"
    for level, name in [
        ("hard", "h-one"),
        ("easy", "e-two"),
        ("medium", "m-one"),
        ("easy", "e-one"),
    ]:
        _spec(suite, level, name, scenarios)
    (suite / "README.md").write_text("# not a spec\n")
    order = [e.spec.name for e in bench.load_suite(suite, scenarios_dir=scenarios)]
    assert order == ["e-one", "e-two", "m-one", "h-one"]
    assert [e.level for e in bench.load_suite(suite, limit=3, scenarios_dir=scenarios)] == [
        "easy",
        "easy",
        "medium",
    ]
    only = bench.load_suite(suite, only=["h-one,e-two"], scenarios_dir=scenarios)
    assert [e.spec.name for e in only] == ["e-two", "h-one"]
    with pytest.raises(UserError, match="no spec named nope"):
        bench.load_suite(suite, only=["nope"], scenarios_dir=scenarios)


def test_a_spec_without_scenarios_is_refused_before_anything_runs(tmp_path: Path) -> None:
    _spec(tmp_path / "suite", "easy", "lonely", None)
    with pytest.raises(UserError, match="no holdout scenarios"):
        bench.load_suite(tmp_path / "suite", scenarios_dir=tmp_path / "scenarios")
    with pytest.raises(UserError, match="not a folder"):
        bench.load_suite(tmp_path / "missing", scenarios_dir=tmp_path)


def test_the_bench_judges_on_inputs_the_factory_never_ran(tmp_path: Path) -> None:
    """Code that remembers the trajectories the factory's holdout ran passes them, and fails
    the bench: its judgement draws fresh random inputs for the same stories."""
    _spec(tmp_path / "suite", "easy", "adder", tmp_path / "scenarios")
    [spec] = bench.load_suite(tmp_path / "suite", scenarios_dir=tmp_path / "scenarios")
    seen = {
        (step["call"], step["expect"])
        for scenario in spec.scenarios
        for steps in trajectories(scenario)
        for step in steps
    }
    folder = tmp_path / "built"
    folder.mkdir()
    answers = {call.removeprefix("add"): expect for call, expect in seen}
    (folder / "adder.py").write_text(
        f"ANSWERS = {answers!r}\n\n\ndef add(a: int, b: int) -> int:\n"
        "    return ANSWERS.get(repr((a, b)), 0)\n"
    )
    as_written = bench.holdout_score(spec.spec, folder, spec.scenarios)
    assert as_written.passed == as_written.trajectories == 4
    judged = bench.holdout_score(spec.spec, folder, spec.judged)
    assert judged.trajectories == 4 and judged.passed == 0
    assert [s.steps for s in spec.judged] == [s.steps for s in spec.scenarios]


def test_every_role_runs_on_the_chosen_model(settings: Settings) -> None:
    chosen = bench.bench_settings(settings, "qwen2.5-coder-0.5b")
    assert {r.model for r in chosen.roles.values()} == {"qwen2.5-coder-0.5b"}
    assert set(chosen.roles) == set(settings.roles)


def test_bench_runs_both_sides_and_writes_table_and_json(
    tmp_path: Path, settings: Settings
) -> None:
    suite, scenarios = tmp_path / "suite", tmp_path / "scenarios"
    _spec(suite, "easy", "adder", scenarios)
    # Single-shot gets it wrong; the factory writes the same bug, is told by its tests, repairs.
    models = ScriptedModels(
        {"planner": [PLAN], "test_writer": [TESTS], "coder": [WRONG, WRONG_OTHER, RIGHT]}
    )
    lines: list[str] = []
    progress: list[str] = []
    report = bench.main(
        settings, suite, model="scripted", chat=models.chat, scenarios=scenarios,
        workdir=tmp_path / "work", out=lines.append, say=progress.append,
    )  # fmt: skip
    (result,) = report.results
    assert (result.single_shot.solved, result.factory.solved) == (False, True)
    assert result.single_shot.trajectories == result.factory.trajectories == 4
    assert result.single_shot.satisfaction == 0.0 and result.factory.satisfaction == 1.0
    assert result.factory.status == "succeeded"
    assert result.single_shot.tokens > 0 and result.factory.tokens > result.single_shot.tokens
    assert report.points() == pytest.approx(100.0)

    row = next(line for line in lines if line.startswith("adder"))
    assert row.split()[:3] == ["adder", "easy", "no"]
    assert row.split()[7] == "yes" and row.endswith("succeeded")
    assert any("factory beats single-shot by +100 points" in line for line in lines)
    assert any("] plan" in line for line in progress)  # the factory's steps show as it goes

    data = json.loads((tmp_path / "work" / "bench-factory.json").read_text())
    assert data["model"] == "scripted"
    assert data["solve_rate"] == {"single_shot": 0.0, "factory": 1.0}
    assert data["points"] == pytest.approx(100.0)
    assert data["specs"][0]["name"] == "adder" and data["specs"][0]["run_id"]
    assert data["specs"][0]["factory"]["solved"] is True
    single_shot_code = tmp_path / "work" / "single-shot" / "adder" / "adder.py"
    assert "return a - b" in single_shot_code.read_text()
    # The single-shot prompt is the rendered spec and asks for the whole module.
    role, prompt = models.prompts[0]
    assert role == "coder" and "`add(2, 3)` returns `5`" in prompt and "adder.py" in prompt


def test_an_answer_without_code_and_a_crashing_factory_are_reported(
    tmp_path: Path, settings: Settings
) -> None:
    suite, scenarios = tmp_path / "suite", tmp_path / "scenarios"
    _spec(suite, "easy", "adder", scenarios)

    models = ScriptedModels({"coder": ["I cannot write that."]})

    def chat(role: str, messages: Any, **kwargs: Any) -> ChatResult:
        if role == "planner":
            raise RuntimeError("the engine fell over")
        return models.chat(role, messages, **kwargs)

    report = bench.main(
        settings, suite, model="scripted", chat=chat, scenarios=scenarios,
        workdir=tmp_path / "work", out=lambda _: None, say=lambda _: None,
    )  # fmt: skip
    (result,) = report.results
    assert result.single_shot.status == "no code for the module"
    kept = tmp_path / "work" / "single-shot" / "adder" / bench.SINGLE_SHOT_ANSWER
    assert kept.read_text() == "I cannot write that."
    assert not result.single_shot.solved and result.single_shot.passed == 0
    assert result.factory.status == "crashed: RuntimeError: the engine fell over"
    assert not result.factory.solved


def test_a_failed_run_is_not_solved_even_when_its_last_code_passes(
    tmp_path: Path, settings: Settings
) -> None:
    suite, scenarios = tmp_path / "suite", tmp_path / "scenarios"
    _spec(suite, "easy", "adder", scenarios, iterations=1)
    # Right code with a helper naming something undefined (never called): ruff fails it and
    # cannot fix it, and the one code-writing round is used before the coder can, so the budget
    # runs out on code whose behaviour is right.
    untidy = RIGHT.replace("def add", "def _unused():\n    return missing_name\n\n\ndef add")
    models = ScriptedModels({"planner": [PLAN], "test_writer": [TESTS], "coder": [untidy]})
    report = bench.main(
        settings, suite, model="scripted", chat=models.chat, scenarios=scenarios,
        workdir=tmp_path / "work", out=lambda _: None, say=lambda _: None,
    )  # fmt: skip
    (result,) = report.results
    assert result.factory.satisfaction == 1.0
    assert result.factory.status.startswith("failed: the iteration budget ran out")
    assert not result.factory.solved
    assert result.single_shot.solved
    assert report.points() == pytest.approx(-100.0)


def test_an_interrupted_bench_resumes_where_it_stopped(tmp_path: Path, settings: Settings) -> None:
    suite, scenarios, work = tmp_path / "suite", tmp_path / "scenarios", tmp_path / "work"
    _spec(suite, "easy", "adder", scenarios)
    _spec(suite, "medium", "summer", scenarios)
    # The first bench got through "adder" only (its result file says so), and had started
    # "summer" when it was killed: a half-written output folder is left.
    first = bench.main(
        settings, suite, model="scripted", only=["adder"], scenarios=scenarios, workdir=work,
        chat=ScriptedModels({"coder": [RIGHT]}).chat, out=lambda _: None, say=lambda _: None,
    )  # fmt: skip
    assert [r.name for r in first.results] == ["adder"]
    (work / "single-shot" / "summer").mkdir(parents=True)
    (work / "single-shot" / "summer" / "stale.py").write_text("half written")

    models = ScriptedModels({"coder": [RIGHT]})
    lines: list[str] = []
    report = bench.main(
        settings, suite, model="scripted", scenarios=scenarios, workdir=work, resume=True,
        chat=models.chat, out=lines.append, say=lambda _: None,
    )  # fmt: skip
    assert [r.name for r in report.results] == ["adder", "summer"]
    assert report.results[0] == first.results[0]  # kept as measured, not run again
    # One single-shot call, for "summer"; "adder" was not asked again.
    assert [role for role, _ in models.prompts if role == "coder"] == ["coder"]
    assert report.results[1].single_shot.solved
    assert not (work / "single-shot" / "summer" / "stale.py").exists()
    data = json.loads((work / "bench-factory.json").read_text())
    assert [s["name"] for s in data["specs"]] == ["adder", "summer"]
    assert any(line.startswith("adder") for line in lines)  # the kept row is in the table


def test_a_factory_run_cut_off_by_an_interrupted_bench_goes_on_where_it_stopped(
    tmp_path: Path, settings: Settings
) -> None:
    suite, scenarios, work = tmp_path / "suite", tmp_path / "scenarios", tmp_path / "work"
    _spec(suite, "easy", "adder", scenarios)
    models = ScriptedModels(
        {"planner": [PLAN], "test_writer": [TESTS], "coder": [WRONG, WRONG, RIGHT]}
    )

    def cut_off(role: str, messages: Any, **kwargs: Any) -> ChatResult:
        if role == "coder" and models.counts.get("coder", 0) == 2:
            raise KeyboardInterrupt  # Ctrl-C during the factory's repair
        return models.chat(role, messages, **kwargs)

    with pytest.raises(KeyboardInterrupt):
        bench.main(
            settings, suite, model="scripted", scenarios=scenarios, workdir=work,
            chat=cut_off, out=lambda _: None, say=lambda _: None,
        )  # fmt: skip
    asked_before = dict(models.counts)
    assert asked_before == {"coder": 2, "planner": 1, "test_writer": 1}

    progress: list[str] = []
    report = bench.main(
        settings, suite, model="scripted", scenarios=scenarios, workdir=work, resume=True,
        chat=models.chat, out=lambda _: None, say=progress.append,
    )  # fmt: skip
    (result,) = report.results
    assert result.factory.solved and result.factory.status == "succeeded"
    # The plan and the tests were not asked for again: the run went on at its repair.
    assert models.counts["planner"] == 1 and models.counts["test_writer"] == 1
    assert any("the interrupted bench's run " + str(result.run_id) in line for line in progress)
    from localfactory.store import RunStore

    store = RunStore(work / "factory" / "adder" / ".localfactory" / "runs.db")
    assert [r.id for r in store.list_runs()] == [result.run_id]  # one run, not a second
    assert result.factory.seconds > 0


def test_resuming_with_another_model_or_without_a_workdir_is_refused(
    tmp_path: Path, settings: Settings
) -> None:
    suite, scenarios, work = tmp_path / "suite", tmp_path / "scenarios", tmp_path / "work"
    _spec(suite, "easy", "adder", scenarios)
    bench.main(
        settings, suite, model="scripted", scenarios=scenarios, workdir=work,
        chat=ScriptedModels({"coder": [RIGHT]}).chat, out=lambda _: None, say=lambda _: None,
    )  # fmt: skip
    with pytest.raises(UserError, match="holds results for scripted, not other"):
        bench.main(
            settings, suite, model="other", scenarios=scenarios, workdir=work, resume=True,
            chat=ScriptedModels({}).chat, out=lambda _: None, say=lambda _: None,
        )  # fmt: skip
    with pytest.raises(UserError, match="--resume needs"):
        bench.main(
            settings, suite, model="scripted", scenarios=scenarios, resume=True,
            chat=ScriptedModels({}).chat, out=lambda _: None, say=lambda _: None,
        )  # fmt: skip
