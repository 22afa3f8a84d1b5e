"""The stages where validators apart from the generator decide.

- :func:`scrutinize`, after the checks pass: the scrutiny validator reviews the code and the
  tests (static review, and a judge's review against the spec when ``validators.scrutiny``
  is ``judge``). Tests that assert nothing go back to the test writer
  (``strengthen_tests``); other blocking findings, and criteria a judge *decided* are not
  met, go back to the coder as repair feedback. An undecided judgement never sends work
  back: it is kept in the verdict (escalated, or marked for a person) and adds to the risk.
- :func:`user_test`, called by the holdout stage once the scenarios pass: a judge decides the
  scenarios' fuzzy ``judge:`` criteria on what the software visibly did.
- :func:`deliver`: the risk gate; the change is delivered, or held for a person.

Each validator may send work back ``validators.send_backs`` times in a run; after that its
findings are advice, kept in its stored verdict, the report and the risk score, so a judge
that is wrong cannot keep a run from finishing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from localfactory.factory.checks import latest_report
from localfactory.factory.context import StageContext, StageResult
from localfactory.factory.machine import Outcome

if TYPE_CHECKING:
    from localfactory.validators.verdict import ValidatorVerdict

SENT_BACK = "sent_back"
"""Key of a step's output that says its validator sent the work back."""


def sent_back(ctx: StageContext, stage: str) -> int:
    """How often steps of ``stage`` sent the work back earlier in this run."""
    return sum(
        1
        for step in ctx.store.steps(ctx.run_id)
        if step.seq < ctx.step_seq and step.name == stage and (step.output or {}).get(SENT_BACK)
    )


def _weak_tests(verdict: ValidatorVerdict) -> list[dict[str, Any]]:
    return [f for f in verdict.findings if f["kind"] == "asserts-nothing" and f["blocking"]]


def _finding_line(f: dict[str, Any]) -> str:
    where = f"{f['path']}:{f['line']}" if f.get("path") and f.get("line") else f.get("path")
    return f"- {where}: {f['message']}" if where else f"- {f['message']}"


def scrutinize(ctx: StageContext) -> StageResult:
    """Review code and tests that pass the checks; send them back when the review decides so."""
    from localfactory.validators.stage import scrutinize as review

    mode = ctx.settings.validators.scrutiny
    if mode == "off":
        return StageResult(Outcome.OK, "scrutiny off (validators.scrutiny = off)")
    verdict = review(ctx, checks=latest_report(ctx), use_judge=mode == "judge")
    output: dict[str, Any] = {
        "verdict": verdict.outcome,
        "undecided": verdict.undecided,
        "needs_human": verdict.needs_human,
    }
    if verdict.needs_human:
        ctx.log(
            f"scrutiny: {verdict.needs_human} judgement(s) stayed undecided: a person should look "
            "(the report lists them; they add to the risk score)",
            level="warning",
        )
    if verdict.outcome != "fail":
        return StageResult(Outcome.OK, verdict.summary, output)
    rounds = ctx.settings.validators.send_backs
    if sent_back(ctx, "scrutinize") >= rounds:
        ctx.log(
            f"scrutiny findings kept as advice: the work was already sent back {rounds} time(s)",
            level="warning",
        )
        return StageResult(Outcome.OK, f"{verdict.summary} (kept as advice)", output)
    output[SENT_BACK] = True
    weak = _weak_tests(verdict)
    if weak:
        ctx.put_note("weak_tests", "\n".join(_finding_line(f) for f in weak))
        return StageResult(
            Outcome.WEAK_TESTS, f"{verdict.summary}; {len(weak)} test(s) check nothing", output
        )
    ctx.put_note("feedback", verdict.feedback)
    return StageResult(Outcome.FAILING, verdict.summary, output)


def user_test(ctx: StageContext, satisfaction: dict[str, Any]) -> StageResult | None:
    """Judge the scenarios' fuzzy criteria (the holdout already passed). None: nothing to send
    back; else the result that sends the work to the coder with the users' feedback."""
    from localfactory.spec.scenario import load_scenarios
    from localfactory.validators.stage import user_test as review
    from localfactory.validators.user_testing import judged_scenarios

    if not ctx.settings.validators.user_testing:
        return None
    folder = ctx.settings.project_path(ctx.settings.factory.scenarios_dir) / ctx.spec.name
    if not judged_scenarios(load_scenarios(folder)):
        return None
    verdict = review(ctx, satisfaction=satisfaction)
    ctx.log(verdict.summary)
    if verdict.outcome != "fail":
        return None
    rounds = ctx.settings.validators.send_backs
    if sent_back(ctx, "validate") >= rounds:
        ctx.log(
            f"user-testing findings kept as advice: the work was already sent back {rounds} time(s)",
            level="warning",
        )
        return None
    ctx.put_note("feedback", verdict.feedback)
    return StageResult(
        Outcome.FAILING, verdict.summary, {"user_testing": verdict.outcome, SENT_BACK: True}
    )


def deliver(ctx: StageContext) -> StageResult:
    """Score the change's risk; deliver it, or hold it for a person (``localfactory review``)."""
    from localfactory.validators.stage import gate

    risk = gate(ctx)
    if risk.held:
        reasons = "; ".join(r.text for r in risk.reasons[:3])
        ctx.log(f"held for review: risk {risk.score:.2f} ({reasons})", level="warning")
        return StageResult(
            Outcome.OK,
            f"held for review (risk {risk.score:.2f}: {reasons}); decide with `localfactory review {ctx.run_id}`",
            {"held": True, "risk": risk.score},
        )
    commit = ctx.workspace.deliver()
    return StageResult(
        Outcome.OK,
        f"delivered {commit[:10]} on branch 'delivered' (risk {risk.score:.2f})",
        {"commit": commit},
    )
