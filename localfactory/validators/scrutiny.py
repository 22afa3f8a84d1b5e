"""The scrutiny validator: reads the code, the tests and the run's trajectory, and reviews them.

It combines three kinds of evidence, each becoming :class:`Finding` s:

- the checks (pytest, ruff, mypy in the sandbox, through ``factory.checks.run_checks``);
- a static review with :mod:`ast` (tests that assert nothing, eval/exec/shell/network, dead
  code), and the trajectory (tests rewritten after they were confirmed red);
- a judge's code review against the spec: each acceptance criterion on its own, then one
  review question for dead code, unsafe patterns and empty tests.

The result is a :class:`~localfactory.validators.verdict.ValidatorVerdict` whose feedback is
concrete text for the repair loop. Judged text was written by the coder and test writer,
so the judge's role must be another one (enforced by the judge).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from localfactory.spec.render import render_interface
from localfactory.validators import scrutiny_prompts as prompts
from localfactory.validators.asking import Provenance
from localfactory.validators.judge import Judge, Question
from localfactory.validators.static_review import Finding, is_test_path, review_sources
from localfactory.validators.verdict import Judgement, ValidatorVerdict, overall

if TYPE_CHECKING:
    from localfactory.factory.checks import CheckReport
    from localfactory.factory.context import StageContext
    from localfactory.spec import Spec
    from localfactory.store import RunStore

NAME = "scrutiny"
WRITERS = ("coder", "test_writer")
"""The roles whose text the scrutiny judge reads."""


@dataclass
class ScrutinyMaterial:
    """Everything the scrutiny validator looks at for one iteration."""

    spec: Spec
    code: dict[str, str]
    """Source files of the software (path → text), tests excluded."""
    tests: dict[str, str]
    trajectory: list[str] = field(default_factory=list)
    """One line per step of the run so far (``[5] check failing: 2/4 tests pass``)."""
    checks: CheckReport | None = None
    tests_changed_after_red: list[str] = field(default_factory=list)
    """Test files changed since the tests were confirmed red."""


def trajectory(store: RunStore, run_id: str) -> list[str]:
    """The run's steps as lines: sequence number, stage, outcome and reason."""
    lines = []
    for step in store.steps(run_id):
        out = step.output or {}
        lines.append(
            f"[{step.seq}] {step.name} {out.get('outcome', step.status.value)}: "
            f"{out.get('reason') or step.error or ''}".rstrip(": ")
        )
    return lines


def red_commit(store: RunStore, run_id: str) -> str | None:
    """The commit the tests were confirmed red at (the last successful confirm_red step)."""
    for step in reversed(store.steps(run_id)):
        out = step.output or {}
        if step.name == "confirm_red" and out.get("outcome") == "ok" and out.get("commit"):
            return str(out["commit"])
    return None


def gather(
    ctx: StageContext, *, checks: CheckReport | None = None, with_checks: bool = True
) -> ScrutinyMaterial:
    """Read the workspace and the run store; run the checks in the sandbox unless ``checks``
    (a report the check stage just made) is given or ``with_checks`` is off."""
    from localfactory.factory.checks import run_checks

    if checks is None and with_checks:
        checks = run_checks(ctx)

    code: dict[str, str] = {}
    tests: dict[str, str] = {}
    for path in ctx.workspace.files():
        if not path.endswith(".py"):
            continue
        text = ctx.workspace.read(path)
        if text is not None:
            (tests if is_test_path(path) else code)[path] = text
    changed: list[str] = []
    red = red_commit(ctx.store, ctx.run_id)
    if red is not None:
        names = ctx.workspace.git("diff", "--name-only", red, "--", "tests", check=False)
        changed = [n for n in names.splitlines() if n.strip()]
    return ScrutinyMaterial(
        spec=ctx.spec,
        code=code,
        tests=tests,
        trajectory=trajectory(ctx.store, ctx.run_id),
        checks=checks,
        tests_changed_after_red=changed,
    )


def check_findings(report: CheckReport | None, *, mypy_blocking: bool) -> list[Finding]:
    if report is None:
        return []
    found = []
    if not report.pytest_ok:
        found.append(Finding("check", report.pytest_summary or "the tests do not pass.",
                             source="checks"))  # fmt: skip
    if not report.ruff_ok:
        found.append(Finding("check", report.ruff_summary or "ruff reports errors.",
                             source="checks"))  # fmt: skip
    if not report.mypy_ok:
        found.append(Finding("check", report.mypy_summary or "mypy reports errors.",
                             blocking=mypy_blocking, source="checks"))  # fmt: skip
    return found


def _joined(files: Mapping[str, str]) -> str:
    return "\n\n".join(f"# file: {path}\n{text.rstrip()}" for path, text in sorted(files.items()))


def criterion_question(key: str, criterion: str, code: str, spec_brief: str) -> Question:
    """Does ``code`` meet one acceptance criterion? (The code first: questions on it share a prefix.)"""
    return Question(
        key=key,
        criterion=criterion,
        evidence=(("Code", code), ("Specification", spec_brief)),
        ask=prompts.CRITERION_ASK.format(criterion=criterion),
        rephrased=prompts.CRITERION_REPHRASED.format(criterion=criterion),
    )


def questions(material: ScrutinyMaterial, *, max_criteria: int) -> list[Question]:
    """One question per acceptance criterion (up to ``max_criteria``), then the review question."""
    code = _joined(material.code) or "(no code was written)"
    spec_brief = f"{material.spec.name}\n{render_interface(material.spec)}"
    out = [
        criterion_question(f"criterion-{i}", criterion, code, spec_brief)
        for i, criterion in enumerate(material.spec.acceptance[:max_criteria], 1)
    ]
    review = prompts.REVIEW_CRITERION
    out.append(Question(
        key="review", criterion=review,
        evidence=(("Code", code), ("Tests", _joined(material.tests) or "(no tests)")),
        ask=prompts.REVIEW_ASK.format(criterion=review),
        rephrased=prompts.REVIEW_REPHRASED.format(criterion=review),
    ))  # fmt: skip
    return out


def judge_findings(judgements: list[Judgement]) -> list[Finding]:
    found = []
    for j in judgements:
        if j.outcome != "fail":
            continue
        why = "; ".join(j.reasons) or "no reason given"
        if j.key == "review":
            found.append(Finding("review", f"the code review failed: {why}", source="judge"))
        else:
            found.append(Finding("criterion", f"acceptance criterion not met: {j.criterion} "
                                 f"(review: {why})", source="judge"))  # fmt: skip
    return found


def feedback_text(findings: list[Finding]) -> str:
    """Concrete feedback for the repair loop: what must be fixed first, then advice."""
    blocking = [f for f in findings if f.blocking]
    advice = [f for f in findings if not f.blocking]
    if not blocking and not advice:
        return ""

    def line(f: Finding) -> str:
        return f"- {f.where()}: {f.message}" if f.where() else f"- {f.message}"

    parts = []
    if blocking:
        parts += [prompts.FEEDBACK_HEAD, *map(line, blocking)]
    if advice:
        parts += [("\n" if blocking else "") + prompts.ADVICE_HEAD, *map(line, advice)]
    return "\n".join(parts)


class ScrutinyValidator:
    """Reviews one iteration: checks, static review, trajectory and a judge's code review
    (without a judge, everything but the review)."""

    def __init__(
        self, judge: Judge | None, *, max_criteria: int = 8, mypy_blocking: bool = False
    ) -> None:
        self.judge = judge
        self.max_criteria = max_criteria
        self.mypy_blocking = mypy_blocking

    def review(self, material: ScrutinyMaterial, produced_by: Provenance) -> ValidatorVerdict:
        findings = check_findings(material.checks, mypy_blocking=self.mypy_blocking)
        findings += review_sources({**material.code, **material.tests})
        for path in material.tests_changed_after_red:
            findings.append(Finding("trajectory", "the tests were changed after they were "
                                    "confirmed failing: make sure no check was weakened.",
                                    path, blocking=False))  # fmt: skip
        judgements: list[Judgement] = []
        not_judged = len(material.spec.acceptance)
        if self.judge is not None:
            asked = questions(material, max_criteria=self.max_criteria)
            judgements = self.judge.judge_many(
                asked, system=prompts.SYSTEM, produced_by=produced_by
            )
            findings += judge_findings(judgements)
            not_judged = max(0, len(material.spec.acceptance) - self.max_criteria)
        outcome = overall(any(f.blocking for f in findings), judgements)
        summary = _summary(outcome, findings, judgements, not_judged)
        details: dict[str, Any] = {"trajectory": material.trajectory, "not_judged": not_judged}
        if material.checks is not None:
            details["checks"] = {
                "pytest": material.checks.pytest_summary,
                "ruff": material.checks.ruff_summary,
                "mypy": material.checks.mypy_summary,
            }
        return ValidatorVerdict(
            NAME, outcome, summary, feedback_text(findings), judgements,
            [f.as_dict() for f in findings], details,
        )  # fmt: skip


def _summary(
    outcome: str, findings: list[Finding], judgements: list[Judgement], not_judged: int
) -> str:
    met = sum(1 for j in judgements if j.key != "review" and j.outcome == "pass")
    judged = sum(1 for j in judgements if j.key != "review")
    undecided = sum(1 for j in judgements if j.outcome == "undecided")
    blocking = sum(1 for f in findings if f.blocking)
    text = (
        f"scrutiny {outcome}: {met}/{judged} criteria met by review, {blocking} blocking finding(s)"
    )
    if undecided:
        text += f", {undecided} undecided judgement(s)"
    if not_judged:
        text += f", {not_judged} criteria not judged"
    return text
