"""The user-testing validator: a black box judging what users would notice, never the source.

It works from the holdout scenarios only. Scenario steps may declare a fuzzy criterion,
``judge: "the error message says which field is wrong"`` (see
:mod:`localfactory.spec.scenario`); for each scenario with such steps, its first trajectory
runs again in the sandbox (``observe_driver``) to record what each judged step visibly
produced, and a judge decides the criterion from the action and that observation alone.
The holdout's own result (satisfaction against its target) is part of the verdict: a user
who sees scenarios fail is not satisfied either.

Feedback for the repair loop names the scenario and step and the judge's reasons, as the
holdout names symptoms; in strict mode it says only how many checks were not satisfied.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from localfactory.validators import user_testing_prompts as prompts
from localfactory.validators.asking import Provenance
from localfactory.validators.judge import Judge, Question
from localfactory.validators.static_review import Finding
from localfactory.validators.verdict import ValidatorVerdict, overall

if TYPE_CHECKING:
    from localfactory.factory.context import StageContext
    from localfactory.spec.scenario import Scenario

NAME = "user_testing"
WRITERS = ("coder",)
"""The judged output comes from software the coder wrote."""


@dataclass(frozen=True)
class Observation:
    """What one judged step visibly produced."""

    scenario: str
    step: int
    criterion: str
    action: str
    """What the user did, in words (``called parse_age('x')``, ``ran wordfreq missing.txt``)."""
    observed: str
    problem: str | None = None
    """Why nothing could be observed (the run failed before this step)."""


def describe_action(step: dict[str, Any]) -> str:
    """A concrete trajectory step as a user would tell it."""
    if "call" in step:
        return f"called {step['call']}"
    if "run" in step:
        run = step["run"] if isinstance(step["run"], str) else " ".join(step["run"])
        text = f"ran the command: {run}"
        if step.get("stdin"):
            text += f"\nwith this standard input:\n{step['stdin']}"
        for name, content in (step.get("files") or {}).items():
            text += f"\nwith a file {name} containing:\n{content}"
        return text
    text = f"sent the HTTP request {step['request']}"
    if step.get("json") is not None:
        text += f" with the JSON body {json.dumps(step['json'])}"
    return text


def judged_scenarios(scenarios: list[Scenario]) -> list[Scenario]:
    return [s for s in scenarios if any(step.judge for step in s.steps)]


def observe(ctx: StageContext, scenarios: list[Scenario]) -> list[Observation]:
    """Run the first trajectory of each scenario with judged steps and record what they showed."""
    from localfactory.factory.holdout import _job, trajectories
    from localfactory.factory.holdout_driver import MARKER

    found: list[Observation] = []
    for scenario in judged_scenarios(scenarios):
        steps = trajectories(scenario)[0]
        job = _job(ctx.spec, ctx.workspace.root, scenario, steps)
        result = ctx.sandbox(wall_time_s=60).run(
            [sys.executable, "-m", "localfactory.validators.observe_driver"],
            stdin=json.dumps(job, default=str),
        )
        _, _, tail = result.stdout.rpartition(MARKER)
        try:
            report = json.loads(tail.strip().splitlines()[0]) if tail.strip() else {}
        except (ValueError, IndexError):
            report = {}
        seen = {o["step"]: o["observed"] for o in report.get("observations", [])}
        problem = report.get("problem") or (None if report else result.reason())
        for i, step in enumerate(steps, 1):
            if not step.get("judge"):
                continue
            found.append(Observation(
                scenario.name, i, step["judge"], describe_action(step), seen.get(i, ""),
                None if i in seen else problem or "the step was not reached",
            ))  # fmt: skip
    return found


def question(obs: Observation) -> Question:
    return Question(
        key=f"{obs.scenario}/step-{obs.step}",
        criterion=obs.criterion,
        evidence=(("What the user did", obs.action), ("What the program showed", obs.observed)),
        ask=prompts.ASK.format(criterion=obs.criterion),
        rephrased=prompts.REPHRASED.format(criterion=obs.criterion),
    )


class UserTestingValidator:
    """Judges observed behaviour against the scenarios' fuzzy criteria."""

    def __init__(self, judge: Judge, *, strict: bool = False) -> None:
        self.judge = judge
        self.strict = strict

    def review(
        self,
        observations: list[Observation],
        produced_by: Provenance,
        *,
        satisfaction: dict[str, Any] | None = None,
    ) -> ValidatorVerdict:
        """``satisfaction`` is the holdout's ``Satisfaction.as_dict()`` (None: not measured)."""
        findings: list[Finding] = []
        if satisfaction and satisfaction.get("overall") is not None:
            overall_sat, target = satisfaction["overall"], satisfaction["threshold"]
            if overall_sat < target:
                findings.append(Finding("holdout", f"the holdout scenarios pass {overall_sat:.0%} "
                                        f"of the time, below the target {target:.0%}.",
                                        source="holdout"))  # fmt: skip
        runnable = [o for o in observations if o.problem is None]
        for o in observations:
            if o.problem is not None:
                findings.append(Finding("unobserved", f"scenario '{o.scenario}' step {o.step} "
                                        f"could not be tried: {o.problem}", source="holdout"))  # fmt: skip
        asked = [question(o) for o in runnable]
        judgements = (
            self.judge.judge_many(asked, system=prompts.SYSTEM, produced_by=produced_by)
            if asked
            else []
        )
        for o, j in zip(runnable, judgements, strict=True):
            if j.outcome == "fail":
                why = "; ".join(j.reasons) or "no reason given"
                findings.append(Finding("user", f"scenario '{o.scenario}' step {o.step}: a user "
                                        f"was not satisfied: {why}", source="judge"))  # fmt: skip
        outcome = overall(any(f.blocking for f in findings), judgements)
        met = sum(1 for j in judgements if j.outcome == "pass")
        undecided = sum(1 for j in judgements if j.outcome == "undecided")
        summary = f"user testing {outcome}: {met}/{len(observations)} judged criteria met"
        if undecided:
            summary += f", {undecided} undecided"
        return ValidatorVerdict(
            NAME, outcome, summary, self._feedback(findings, len(observations) + 1), judgements,
            [f.as_dict() for f in findings],
            {"satisfaction": satisfaction, "observed_steps": len(observations)},
        )  # fmt: skip

    def _feedback(self, findings: list[Finding], checks: int) -> str:
        """``checks``: the judged steps plus the holdout's own result."""
        if not findings:
            return ""
        if self.strict:
            return prompts.STRICT_FEEDBACK.format(failed=len(findings), total=checks)
        return "\n".join([prompts.FEEDBACK_HEAD, *(f"- {f.message}" for f in findings)])
