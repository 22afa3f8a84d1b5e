"""Check and red-confirmation stages: pytest, ruff and mypy in the sandbox.

The checks run the generated code and its tests confined in the sandbox and turn their
output into short feedback for the repair loop. What counts: every test passes (and there
is at least one), ruff finds no errors of the kinds that break code (syntax, undefined
names, unused imports and variables: ``E9`` and ``F``), and, when ``factory.mypy_blocking``
is set, mypy is clean; otherwise mypy's findings are reported but do not block delivery.
"""

from __future__ import annotations

import json
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from localfactory.factory.context import StageContext, StageResult
from localfactory.factory.examples import writer_tests
from localfactory.factory.machine import Outcome
from localfactory.sandbox import RunResult
from localfactory.sandbox.feedback import mypy_feedback, pytest_feedback, ruff_feedback

if TYPE_CHECKING:
    pass


JUNIT = ".sandbox/junit.xml"


RUFF_RULES = "E9,F"


@dataclass
class TestCounts:
    total: int = 0
    passed: int = 0
    failed: int = 0
    errors: int = 0
    skipped: int = 0
    not_implemented: list[str] = field(default_factory=list)
    """Tests that failed on NotImplementedError (the stub): failing for the right reason."""
    passing: list[str] = field(default_factory=list)
    failing: list[str] = field(default_factory=list)


@dataclass
class CheckReport:
    tests: TestCounts
    pytest_ok: bool
    ruff_ok: bool
    mypy_ok: bool
    feedback: str
    pytest_summary: str = ""
    ruff_summary: str = ""
    mypy_summary: str = ""
    problems: list[str] = field(default_factory=list)
    """What the sandbox itself reported (a limit hit, a warning it could not enforce something)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckReport:
        """The report :meth:`as_dict` made (as the check stage stores it in ``checks.json``)."""
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["tests"] = TestCounts(**fields.get("tests", {}))
        return cls(**fields)


CHECKS_ARTIFACT = "checks.json"


def latest_report(ctx: StageContext) -> CheckReport | None:
    """The report of the run's last check stage, if any."""
    found = ctx.store.get_artifact(ctx.run_id, CHECKS_ARTIFACT, kind="check")
    return None if found is None else CheckReport.from_dict(json.loads(found.text()))


def _counts(junit_text: str | None) -> TestCounts:
    counts = TestCounts()
    if not junit_text:
        return counts
    try:
        root = ET.fromstring(junit_text)
    except ET.ParseError:
        return counts
    for case in root.iter("testcase"):
        name = f"{case.get('classname', '')}.{case.get('name', '')}".strip(".")
        counts.total += 1
        failure = case.find("failure")
        error = case.find("error")
        if case.find("skipped") is not None:
            counts.skipped += 1
        elif failure is not None or error is not None:
            node = failure if failure is not None else error
            assert node is not None
            if error is not None:
                counts.errors += 1
            else:
                counts.failed += 1
            counts.failing.append(name)
            if "NotImplementedError" in (node.get("message") or "") + (node.text or ""):
                counts.not_implemented.append(name)
        else:
            counts.passed += 1
            counts.passing.append(name)
    return counts


def run_pytest(ctx: StageContext, *, examples: bool = True) -> tuple[RunResult, TestCounts, str]:
    """The tests (and, unless ``examples`` is false, the spec's examples) in the sandbox."""
    junit = ctx.workspace.root / JUNIT
    junit.unlink(missing_ok=True)
    paths = [ctx.layout.test_path]
    if examples and ctx.workspace.read(ctx.layout.examples_path) is not None:
        paths.append(ctx.layout.examples_path)
    result = ctx.sandbox().run(
        [sys.executable, "-m", "pytest", "-q", "--tb=short", "-p", "no:cacheprovider",
         f"--timeout={ctx.settings.factory.test_timeout_s:g}",
         "--timeout-method=signal", f"--junitxml={JUNIT}", *paths]
    )  # fmt: skip
    junit_text = junit.read_text() if junit.exists() else None
    fb = pytest_feedback(result.stdout + result.stderr, junit_text)
    text = fb.text
    if result.limit is not None or result.start_error:
        text = f"{result.reason()}\n{text}"
    return result, _counts(junit_text), text


def _summary_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def code_files(ctx: StageContext) -> list[str]:
    """The workspace's Python files that are not tests."""
    return [p for p in ctx.workspace.files() if p.endswith(".py") and not p.startswith("tests/")]


def _ruff(ctx: StageContext, files: list[str]) -> RunResult:
    """ruff on the code, making its safe fixes of the checked rules first (an unused import, an
    f-string without placeholders; logged), reporting what remains: on the bench, head-lite's
    code failed the check for five rounds on ``import os`` unused, which the coder never
    removed."""
    before = {f: ctx.workspace.read(f) for f in files}
    result = ctx.sandbox().run(
        [sys.executable, "-m", "ruff", "check", "--fix", "--no-cache", "--output-format=concise",
         f"--select={RUFF_RULES}", *files]
    )  # fmt: skip
    changed = [f for f in files if ctx.workspace.read(f) != before[f]]
    if changed:
        ctx.log(f"ruff fixed what it safely could in {', '.join(changed)}")
    return result


def run_checks(ctx: StageContext) -> CheckReport:
    result, counts, pytest_text = run_pytest(ctx)
    pytest_ok = result.ok and counts.total > 0 and counts.passed == counts.total - counts.skipped
    if result.ok and counts.total == 0:
        pytest_text = "pytest: no tests ran"
    files = code_files(ctx)
    ruff = _ruff(ctx, files)
    ruff_ok = ruff.exit_code == 0
    ruff_text = (
        ruff_feedback(ruff.stdout + ruff.stderr, max_chars=1200).text
        if not ruff_ok
        else "ruff: clean"
    )
    mypy_ok, mypy_text, mypy_warnings = True, "mypy: not run (factory.mypy = false)", []
    if ctx.settings.factory.mypy:
        mypy = ctx.sandbox().run(
            [sys.executable, "-m", "mypy", "--ignore-missing-imports", "--no-error-summary",
             "--cache-dir=.sandbox/mypy", "--no-color-output", *files]
        )  # fmt: skip
        mypy_ok = mypy.exit_code == 0
        mypy_text = (
            "mypy: clean"
            if mypy_ok
            else mypy_feedback(mypy.stdout + mypy.stderr, max_chars=1200).text
        )
        mypy_warnings = mypy.warnings
    parts = []
    if not pytest_ok:
        parts.append(pytest_text)
    if not ruff_ok:
        parts.append(ruff_text)
    if not mypy_ok and (ctx.settings.factory.mypy_blocking or not parts):
        parts.append(mypy_text)
    problems = [*result.warnings, *ruff.warnings, *mypy_warnings]
    return CheckReport(
        tests=counts,
        pytest_ok=pytest_ok,
        ruff_ok=ruff_ok,
        mypy_ok=mypy_ok,
        feedback="\n\n".join(parts),
        pytest_summary=_summary_line(pytest_text),
        ruff_summary=_summary_line(ruff_text),
        mypy_summary=_summary_line(mypy_text),
        problems=sorted(set(problems)),
    )


def check(ctx: StageContext) -> StageResult:
    from localfactory.factory.disputes import arbitrate, quarantine  # they run the checks too

    report = run_checks(ctx)
    report, disputed = quarantine(ctx, report)
    if disputed:
        report.problems.append(f"disputed tests skipped: {', '.join(disputed)}")
    report, contradicted, users = arbitrate(ctx, report)
    if contradicted:
        report.problems.append(
            f"tests contradicted by the holdout skipped: {', '.join(contradicted)}"
        )
    if users:
        report.feedback = f"{report.feedback}\n\n{users}"
    ctx.store.put_artifact(
        ctx.run_id, CHECKS_ARTIFACT, as_json(report.as_dict()), kind="check", step_seq=ctx.step_seq
    )
    t = report.tests
    blocking_mypy = ctx.settings.factory.mypy_blocking and not report.mypy_ok
    if report.pytest_ok and report.ruff_ok and not blocking_mypy:
        note = "" if report.mypy_ok else " (mypy findings reported, not blocking)"
        if disputed:
            note += f"; {len(disputed)} disputed test(s) skipped: {', '.join(disputed)}"
        if contradicted:
            note += f"; {len(contradicted)} test(s) the holdout contradicted skipped: " + ", ".join(
                contradicted
            )
        return StageResult(
            Outcome.OK, f"{t.passed}/{t.total} tests pass, ruff clean{note}", report.as_dict()
        )
    ctx.put_note("feedback", report.feedback)
    questionable = writer_tests(t.failing)
    if questionable and _stuck(ctx, t.failing):
        ctx.put_note("stuck_tests", "\n".join(questionable))
        return StageResult(
            Outcome.STUCK,
            f"{t.passed}/{t.total} tests pass; a repair left the same tests failing",
            report.as_dict(),
        )
    what = [f"{t.passed}/{t.total} tests pass"]
    if not report.ruff_ok:
        what.append("ruff errors")
    if blocking_mypy:
        what.append("mypy errors")
    return StageResult(Outcome.FAILING, ", ".join(what), report.as_dict())


MAX_TEST_REVISIONS = 2
"""How often the test writer may be asked to re-read failing tests in one run."""


def _stuck(ctx: StageContext, failing: list[str]) -> bool:
    """True when the last repair left exactly the same tests failing as the check before it
    (and the tests have not been questioned too often already): maybe a test is wrong."""
    if not failing:
        return False
    earlier = [
        s
        for s in ctx.store.steps(ctx.run_id)
        if s.seq < ctx.step_seq and s.status.value == "finished"
    ]
    if sum(1 for s in earlier if s.name == "revise_tests") >= MAX_TEST_REVISIONS:
        return False
    if len(earlier) < 2 or earlier[-1].name != "repair":
        return False
    last_check = next((s for s in reversed(earlier) if s.name == "check"), None)
    before = ((last_check.output or {}).get("tests") or {}).get("failing") if last_check else None
    return before is not None and sorted(before) == sorted(failing)


def confirm_red(ctx: StageContext) -> StageResult:
    """The new tests, run against the stub, must fail for the right reason (the test writer's
    alone: the spec's examples fail against any stub)."""
    result, counts, text = run_pytest(ctx, examples=False)
    if counts.total == 0 or (result.exit_code not in (0, 1) and not counts.not_implemented):
        problem = "the tests could not be collected or run:\n" + text
        ctx.put_note("tests_problem", problem[:2000])
        return StageResult(Outcome.RETRY, "tests do not run", {"pytest": text[:2000]})
    output = asdict(counts)
    if ctx.spec.kind == "http-service" and not counts.not_implemented:
        # The stub service runs in a subprocess: its NotImplementedError never reaches pytest's
        # report. Against a service that cannot answer, every test that sends a request fails.
        counts.not_implemented = list(counts.failing)
    if not counts.not_implemented:
        problem = (
            "no test calls the functions of the interface: against a version that raises "
            "NotImplementedError, none of them failed. Each test must import the functions from "
            f"`{ctx.layout.module}` (never define them in the test file), call them and check the result."
        )
        ctx.put_note("tests_problem", problem)
        return StageResult(Outcome.RETRY, "tests do not exercise the code", output)
    if counts.passing and len(counts.passing) * 2 >= counts.total:
        names = ", ".join(short_name(n) for n in counts.passing)
        ctx.put_note(
            "tests_problem",
            f"these tests pass without any implementation, so they check nothing: {names}",
        )
        return StageResult(
            Outcome.RETRY, f"{len(counts.passing)} tests pass without an implementation", output
        )
    if counts.passing:
        ctx.log(
            f"{len(counts.passing)} test(s) pass against the stub: {', '.join(map(short_name, counts.passing))}",
            level="warning",
        )
    other = counts.failed + counts.errors - len(counts.not_implemented)
    return StageResult(
        Outcome.OK,
        f"{len(counts.not_implemented)}/{counts.total} tests fail for the right reason"
        + (f", {other} for another" if other else ""),
        output,
    )


def short_name(name: str) -> str:
    return re.sub(r"^.*\.", "", name)


def as_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, default=str)
