"""Holdout validation: scenarios run against the built software, never shown to the coder.

Scenarios are loaded here and only here. Each scenario runs as a number of trajectories
(its random ``vars`` drawn from a seeded generator), each trajectory in a fresh interpreter
in the sandbox. Satisfaction is the fraction of trajectories that pass, per scenario and
overall. What goes back to the repair loop is what a user would observe (which scenario
failed, its one-line description, and its visible symptom), or, in strict mode, only how
many failed.
"""

from __future__ import annotations

import ast
import builtins
import json
import random
import re
import shlex
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from localfactory.factory.context import StageContext, StageResult
from localfactory.factory.holdout_driver import MARKER
from localfactory.factory.machine import Outcome, State
from localfactory.spec import CliInterface, ServiceInterface, Spec
from localfactory.spec.scenario import (
    CallStep,
    ChoiceVar,
    IntVar,
    Scenario,
    StringVar,
    Var,
    load_scenarios,
)

_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_SAFE_BUILTINS = {
    name: getattr(builtins, name)
    for name in ("len", "sorted", "min", "max", "sum", "abs", "str", "int", "float", "list", "dict",
                 "set", "tuple", "round", "range", "any", "all", "reversed", "enumerate", "zip", "bool")
}  # fmt: skip


@dataclass
class ScenarioOutcome:
    name: str
    trajectories: int
    passed: int
    symptoms: list[str] = field(default_factory=list)
    """Distinct symptoms of failing trajectories, as a user would observe them."""
    story: str = ""
    """The scenario's one-line description: what its users do, in their words (no inputs)."""

    @property
    def satisfaction(self) -> float:
        return self.passed / self.trajectories if self.trajectories else 0.0


@dataclass
class Satisfaction:
    scenarios: list[ScenarioOutcome]
    threshold: float

    @property
    def trajectories(self) -> int:
        return sum(s.trajectories for s in self.scenarios)

    @property
    def passed(self) -> int:
        return sum(s.passed for s in self.scenarios)

    @property
    def overall(self) -> float | None:
        return self.passed / self.trajectories if self.trajectories else None

    @property
    def satisfied(self) -> bool:
        return self.overall is None or self.overall >= self.threshold

    def as_dict(self) -> dict[str, Any]:
        return {
            "overall": self.overall,
            "threshold": self.threshold,
            "passed": self.passed,
            "trajectories": self.trajectories,
            "scenarios": [{**asdict(s), "satisfaction": s.satisfaction} for s in self.scenarios],
        }


def _draw(var: Var, rng: random.Random) -> Any:
    if isinstance(var, IntVar):
        lo, hi = var.int
        return rng.randint(lo, hi)
    if isinstance(var, ChoiceVar):
        return rng.choice(var.choice)
    assert isinstance(var, StringVar)
    shape = var.string
    length = rng.randint(shape.min, max(shape.min, shape.max))
    return "".join(rng.choice(shape.alphabet) for _ in range(length))


def _fill(text: str, values: dict[str, Any], quote: Any) -> str:
    return _PLACEHOLDER.sub(lambda m: quote(values[m[1]]) if m[1] in values else m[0], text)


def _fill_data(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return _fill(value, values, str)
    if isinstance(value, list):
        return [_fill_data(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _fill_data(v, values) for k, v in value.items()}
    return value


def _oracle(expression: str, values: dict[str, Any]) -> Any:
    tree = ast.parse(expression, mode="eval")
    return eval(
        compile(tree, "<expect_eval>", "eval"), {"__builtins__": _SAFE_BUILTINS}, dict(values)
    )


def trajectories(scenario: Scenario) -> list[list[dict[str, Any]]]:
    """The concrete steps of every trajectory of ``scenario`` (same seed, same steps)."""
    rng = random.Random(f"{scenario.seed}/{scenario.name}")
    out = []
    for _ in range(scenario.trajectories):
        values = {name: _draw(var, rng) for name, var in scenario.vars.items()}
        steps = []
        for step in scenario.steps:
            raw = step.model_dump(by_alias=True, exclude_none=True)
            if "call" in raw:
                raw["call"] = _fill(raw["call"], values, repr)
                raw["has_expect"] = isinstance(step, CallStep) and step.expects_value()
                if raw.get("expect_eval"):
                    raw["expect"] = _oracle(raw.pop("expect_eval"), values)
                elif "expect" in raw:
                    raw["expect"] = _fill_data(raw["expect"], values)
            elif "run" in raw:
                raw["run"] = (
                    _fill(raw["run"], values, lambda v: shlex.quote(str(v)))
                    if isinstance(raw["run"], str)
                    else _fill_data(raw["run"], values)
                )
                raw = {k: (_fill_data(v, values) if k != "run" else v) for k, v in raw.items()}
            else:
                raw = _fill_data(raw, values)
            steps.append(raw)
        out.append(steps)
    return out


def leak_fragments(scenarios: list[Scenario]) -> list[str]:
    """Pieces of scenario text that must never appear in a generating role's prompt."""
    found: set[str] = set()
    for scenario in scenarios:
        for steps in trajectories(scenario)[:3]:
            for step in steps:
                for key in ("call", "run", "stdin", "request", "stdout", "body_contains"):
                    if isinstance(step.get(key), str):
                        found.add(step[key].strip())
                for key in ("expect", "json", "json_equals"):
                    if key in step and step[key] is not None:
                        found.add(
                            step[key] if isinstance(step[key], str) else json.dumps(step[key])
                        )
                for content in (step.get("files") or {}).values():
                    found.add(str(content).strip())
    return sorted(f for f in found if len(f) >= 12)


def _job(
    spec: Spec, workspace: Path, scenario: Scenario, steps: list[dict[str, Any]]
) -> dict[str, Any]:
    iface = spec.interface
    job: dict[str, Any] = {
        "kind": spec.kind,
        "workspace": str(workspace),
        "scenario": scenario.name,
        "steps": steps,
    }
    if isinstance(iface, CliInterface):
        job.update(module=iface.module_name(), command=iface.command)
    elif isinstance(iface, ServiceInterface):
        job.update(module=iface.module, start=iface.start_command())
    else:
        job.update(module=iface.module)
    return job


def run_scenarios(ctx: StageContext, scenarios: list[Scenario]) -> list[ScenarioOutcome]:
    outcomes = []
    for scenario in scenarios:
        outcome = ScenarioOutcome(
            scenario.name, scenario.trajectories, 0, story=scenario.description.strip()
        )
        for steps in trajectories(scenario):
            job = _job(ctx.spec, ctx.workspace.root, scenario, steps)
            result = ctx.sandbox(wall_time_s=60).run(
                [sys.executable, "-m", "localfactory.factory.holdout_driver"],
                stdin=json.dumps(job, default=str),
            )
            _, _, tail = result.stdout.rpartition(MARKER)
            try:
                verdict = json.loads(tail.strip().splitlines()[0]) if tail.strip() else None
            except (ValueError, IndexError):
                verdict = None
            if verdict is None:
                symptom = f"the scenario could not finish ({result.reason()})"
            elif verdict["symptom"] is None:
                outcome.passed += 1
                continue
            else:
                symptom = f"step {verdict['failed_step']}: {verdict['symptom']}"
            if symptom not in outcome.symptoms:
                outcome.symptoms.append(symptom)
        outcomes.append(outcome)
    return outcomes


def feedback(satisfaction: Satisfaction, *, strict: bool) -> str:
    failed = [s for s in satisfaction.scenarios if s.passed < s.trajectories]
    if strict:
        return (
            f"{len(failed)} of {len(satisfaction.scenarios)} end-to-end checks by users failed. "
            "Re-read the specification and make sure every stated behaviour and edge case is handled."
        )
    lines = ["End-to-end checks by users (not the tests) failed:"]
    for s in failed:
        story = f" ({s.story.rstrip('.')})" if s.story else ""
        lines.append(f"- check '{s.name}'{story}: {s.trajectories - s.passed} of {s.trajectories} "
                     "runs failed; " + "; ".join(s.symptoms[:3]))  # fmt: skip
    lines.append(
        "Re-read the specification: the software must handle every stated behaviour and edge case."
        " Where a test expects something else than these users, the users are right."
    )
    return "\n".join(lines)


def scenarios_folder(ctx: StageContext) -> Path:
    return ctx.settings.project_path(ctx.settings.factory.scenarios_dir) / ctx.spec.name


def measure(ctx: StageContext, *, record: bool = True) -> Satisfaction:
    """Run the spec's scenarios against the workspace's code and (unless ``record`` is false)
    store the satisfaction for this step (``overall`` is None when the spec has no scenarios)."""
    threshold = (
        ctx.spec.satisfaction
        if ctx.spec.satisfaction is not None
        else ctx.settings.factory.satisfaction_threshold
    )
    sat = Satisfaction(run_scenarios(ctx, load_scenarios(scenarios_folder(ctx))), threshold)
    if not record:
        return sat
    ctx.store.put_artifact(
        ctx.run_id,
        "satisfaction.json",
        json.dumps(sat.as_dict(), indent=2),
        kind="satisfaction",
        step_seq=ctx.step_seq,
    )
    return sat


def describe(sat: Satisfaction) -> str:
    return (
        f"satisfaction {sat.overall or 0:.0%} ({sat.passed}/{sat.trajectories} trajectories, "
        f"target {sat.threshold:.0%})"
    )


def left_behind(ctx: StageContext) -> dict[str, Any]:
    """At a budget's end, the holdout's satisfaction with the code the failed run leaves in its
    workspace, recorded for the step (so the report's last figure is about that code, not
    about an earlier version) and logged; nothing when no code was written yet or the spec
    has no scenarios."""
    wrote = any(
        s.name in (State.IMPLEMENT.value, State.REPAIR.value)
        and (s.output or {}).get("outcome") == Outcome.OK.value
        for s in ctx.store.steps(ctx.run_id)
    )
    if not wrote:
        return {}
    sat = measure(ctx)
    if sat.overall is None:
        return {}
    ctx.log(f"the code this run leaves: {describe(sat)}")
    return {"left_behind": {"overall": sat.overall, "passed": sat.passed,
                            "trajectories": sat.trajectories}}  # fmt: skip


def validate(ctx: StageContext) -> StageResult:
    sat = measure(ctx)
    if sat.overall is None:
        ctx.log(
            f"no holdout scenarios in {scenarios_folder(ctx)}: satisfaction not measured",
            level="warning",
        )
        return StageResult(Outcome.OK, "no holdout scenarios to run", sat.as_dict())
    summary = describe(sat)
    if sat.satisfied:
        from localfactory.factory.verdicts import user_test

        sent = user_test(ctx, sat.as_dict())
        if sent is not None:
            return StageResult(
                sent.outcome, f"{summary}; {sent.reason}", {**sat.as_dict(), **sent.output}
            )
        return StageResult(Outcome.OK, summary, sat.as_dict())
    ctx.put_note("feedback", feedback(sat, strict=ctx.settings.factory.strict_holdout))
    from localfactory.factory.disputes import restore_disputed

    restored = restore_disputed(ctx)
    if restored:
        # The holdout did not side with the code: the disputed tests, concrete failures the
        # coder can act on, are back; the check shows them with what users saw.
        return StageResult(
            Outcome.REOPENED,
            f"{summary}; disputed tests restored: {', '.join(restored)}",
            sat.as_dict(),
        )
    # Validation follows checks that passed: the tests miss what the users found. Have them
    # extended (a few times a run), so the coder gets a failing test rather than a symptom.
    extended = sum(1 for s in ctx.store.steps(ctx.run_id) if s.name == State.EXTEND_TESTS.value)
    if extended < ctx.settings.factory.test_extensions:
        return StageResult(Outcome.UNCOVERED, f"{summary}; the tests miss it", sat.as_dict())
    return StageResult(Outcome.FAILING, summary, sat.as_dict())
