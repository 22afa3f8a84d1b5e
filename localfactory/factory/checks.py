"""Check and red-confirmation stages: pytest, ruff and mypy in the sandbox.

The checks run the generated code and its tests confined in the sandbox and turn their
output into short feedback for the repair loop. What counts: every test passes (and there
is at least one), ruff finds no errors of the kinds that break code (syntax, undefined
names, unused imports and variables: ``E9`` and ``F``), and, when ``factory.mypy_blocking``
is set, mypy is clean; otherwise mypy's findings are reported but do not block delivery.
"""

from __future__ import annotations

import hashlib
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
    from localfactory.store import Step

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


def _code_files(ctx: StageContext) -> list[str]:
    """The workspace's Python files that are not tests."""
    return [p for p in ctx.workspace.files() if p.endswith(".py") and not p.startswith("tests/")]


def run_checks(ctx: StageContext) -> CheckReport:
    result, counts, pytest_text = run_pytest(ctx)
    pytest_ok = result.ok and counts.total > 0 and counts.passed == counts.total - counts.skipped
    if result.ok and counts.total == 0:
        pytest_text = "pytest: no tests ran"
    code_files = _code_files(ctx)
    ruff = ctx.sandbox().run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format=concise",
         f"--select={RUFF_RULES}", *code_files]
    )  # fmt: skip
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
             "--cache-dir=.sandbox/mypy", "--no-color-output", *code_files]
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


DISPUTED_ARTIFACT = "disputed_tests.json"


def finished(steps: list[Step], name: str) -> list[Step]:
    """The finished steps of the stage ``name`` among ``steps``."""
    return [s for s in steps if s.name == name and s.status.value == "finished"]


def finished_revisions(steps: list[Step]) -> list[Step]:
    """The finished revise_tests steps among ``steps``."""
    return finished(steps, "revise_tests")


def questioned_tests(revisions: list[Step]) -> set[str]:
    """Every test the test writer was asked to re-read in ``revisions``."""
    return {name for s in revisions for name in (s.output or {}).get("questioned", [])}


def disputed_tests(ctx: StageContext, failing: list[str]) -> list[str]:
    """Failing tests the test writer stood by and the coder still could not (or would not) pass.

    Once every test revision is used, a failing test that was questioned and still fails after
    a repair that came later is a dispute between two small models that neither will settle.
    So is a test the test writer added after the holdout failed (``extend_tests``) that still
    fails after a repair: a late guess at what users saw, which the holdout judges anyway.
    Such tests are skipped (marked ``disputed``), and the holdout scenarios, which neither model
    wrote, decide: the run never stalls on a test that may contradict the spec.
    """
    steps = [s for s in ctx.store.steps(ctx.run_id) if s.seq < ctx.step_seq]

    def repaired_since(step: Step) -> bool:
        return any(s.name == "repair" and s.seq > step.seq for s in steps)

    suspects: set[str] = set()
    revisions = finished_revisions(steps)
    if len(revisions) >= MAX_TEST_REVISIONS and repaired_since(revisions[-1]):
        suspects |= questioned_tests(revisions)
    extensions = finished(steps, "extend_tests")
    if extensions and repaired_since(extensions[-1]):
        suspects |= {name for s in extensions for name in (s.output or {}).get("added", [])}
    restored = restored_tests(ctx)
    return [
        n
        for n in failing
        if (n in suspects or base_name(n) in suspects) and base_name(n) not in restored
    ]


def base_name(test_id: str) -> str:
    """A test id's function name (``tests.test_x.test_y[3]`` is ``test_y``)."""
    return _short(test_id).split("[", 1)[0]


RESTORED_ARTIFACT = "restored_tests.json"
DISPUTED_REASON = (
    "disputed: the test writer stood by it, the coder could not pass it; left to the holdout"
)


def _recorded(ctx: StageContext, name: str) -> set[str]:
    found = ctx.store.get_artifact(ctx.run_id, name, kind="check")
    return set(json.loads(found.text())["tests"]) if found is not None else set()


def _record(ctx: StageContext, name: str, tests: set[str]) -> None:
    ctx.store.put_artifact(
        ctx.run_id, name, _json({"tests": sorted(tests)}), kind="check", step_seq=ctx.step_seq
    )


def restored_tests(ctx: StageContext) -> set[str]:
    """The tests the holdout sent back from a dispute (see :func:`restore_disputed`)."""
    return _recorded(ctx, RESTORED_ARTIFACT)


def restore_disputed(ctx: StageContext) -> list[str]:
    """Un-skip the disputed tests once the holdout failed: it did not side with the code, so the
    tests go back to the coder as concrete failures, and are never disputed again (the
    holdout may still find them contradicted, see :func:`_arbitrate`). Their names."""
    source = ctx.workspace.read(ctx.layout.test_path) or ""
    marker = f"@pytest.mark.skip(reason={DISPUTED_REASON!r})"
    lines = source.splitlines()
    kept, restored = [], []
    for i, line in enumerate(lines):
        if line.strip() == marker:
            found = re.match(r"\s*(?:async\s+)?def\s+(\w+)", next(
                (ln for ln in lines[i + 1 :] if not ln.lstrip().startswith("@")), ""
            ))  # fmt: skip
            if found:
                restored.append(found.group(1))
            continue
        kept.append(line)
    if not restored:
        return []
    ctx.workspace.write(ctx.layout.test_path, "\n".join(kept) + "\n")
    _record(ctx, RESTORED_ARTIFACT, _recorded(ctx, RESTORED_ARTIFACT) | set(restored))
    _record(ctx, DISPUTED_ARTIFACT, _recorded(ctx, DISPUTED_ARTIFACT) - set(restored))
    ctx.log(
        f"disputed tests restored: {', '.join(restored)} (the holdout failed, so it did not "
        "side with the code)"
    )
    return restored


def _skip_tests(source: str, names: set[str], reason: str) -> str:
    """``source`` with a ``pytest.mark.skip`` decorator on each test function named in ``names``."""
    import ast

    tree = ast.parse(source)
    lines = source.splitlines()
    found = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name in names
    ]
    for node in sorted(found, key=lambda n: n.lineno, reverse=True):
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)]) - 1
        indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
        lines.insert(first, f"{indent}@pytest.mark.skip(reason={reason!r})")
    text = "\n".join(lines) + "\n"
    if not any(
        isinstance(n, ast.Import) and any(a.name == "pytest" for a in n.names) for n in tree.body
    ):
        text = "import pytest\n" + text
    return text


def _skip_and_check(ctx: StageContext, names: set[str], reason: str) -> CheckReport:
    """Mark the writer's tests ``names`` skipped (with ``reason``), record them with the run's
    other skipped tests, and run the checks again."""
    source = ctx.workspace.read(ctx.layout.test_path) or ""
    ctx.workspace.write(ctx.layout.test_path, _skip_tests(source, names, reason))
    _record(ctx, DISPUTED_ARTIFACT, set(names) | _recorded(ctx, DISPUTED_ARTIFACT))
    return run_checks(ctx)


def _quarantine(ctx: StageContext, report: CheckReport) -> tuple[CheckReport, list[str]]:
    """Skip the disputed failing tests and run the checks again; the new report and their names."""
    t = report.tests
    disputed = disputed_tests(ctx, t.failing)
    if not disputed or len(disputed) >= t.total - t.skipped:
        return report, []  # nothing disputed, or nothing would be left to test
    names = {base_name(n) for n in disputed}
    ctx.log(
        f"disputed tests skipped: {', '.join(sorted(names))} (questioned in "
        f"{MAX_TEST_REVISIONS} test revisions, or added after the holdout failed, and still "
        "failing after a repair); the holdout scenarios decide",
        level="warning",
    )
    return _skip_and_check(ctx, names, DISPUTED_REASON), sorted(names)


ARBITER_NOTE = "holdout_arbiter"
"""The code the holdout last arbitrated (its digest) and what users saw: the scenarios do not
run twice on the same code, and a check that finds the same code gives the same feedback."""


def _code_digest(ctx: StageContext) -> str:
    digest = hashlib.sha256()
    for path in sorted(_code_files(ctx)):
        digest.update(path.encode() + b"\0" + (ctx.workspace.read(path) or "").encode())
    return digest.hexdigest()


def _arbitrate(ctx: StageContext, report: CheckReport) -> tuple[CheckReport, list[str], str]:
    """Only the test writer's tests fail (the spec's examples pass, ruff is clean): the tests
    may be what is wrong. The holdout scenarios, which neither model wrote, decide. If the code
    satisfies them, the failing tests contradict what users expect and are skipped (marked
    ``contradicted``); if not, what users saw goes to the coder with the failures.

    Returns the report (checked again when tests were skipped), the skipped tests' names, and
    the users' feedback (empty when the scenarios were not run or were satisfied). The
    scenarios run at most once per version of the code; nothing of them reaches a prompt but
    the symptoms a failed validation would send anyway.
    """
    from localfactory.factory import holdout

    t = report.tests
    failing = t.failing
    if report.pytest_ok or not failing or not report.ruff_ok or t.errors or t.not_implemented:
        return report, [], ""
    if writer_tests(failing) != failing:
        return report, [], ""  # a spec example fails: the code is wrong, not the tests
    code = _code_digest(ctx)
    earlier = json.loads(ctx.note(ARBITER_NOTE) or "{}")
    if earlier.get("code") == code:
        return report, [], earlier.get("users", "")
    sat = holdout.measure(ctx)
    users = ""
    if sat.overall is not None and not sat.satisfied:
        users = holdout.feedback(sat, strict=ctx.settings.factory.strict_holdout)
    ctx.put_note(ARBITER_NOTE, _json({"code": code, "users": users}))
    if sat.overall is None:
        return report, [], ""  # no scenarios: nothing outranks the tests
    if users:
        ctx.log(f"the failing tests were put to the holdout: {holdout.describe(sat)}")
        return report, [], users
    names = {base_name(n) for n in failing}
    ctx.log(
        f"tests contradicted by the holdout skipped: {', '.join(sorted(names))} (they fail, "
        f"yet the code satisfies the users' scenarios: {holdout.describe(sat)})",
        level="warning",
    )
    reason = "contradicted: the code satisfies every holdout scenario, this test expects otherwise"
    return _skip_and_check(ctx, names, reason), sorted(names), ""


def check(ctx: StageContext) -> StageResult:
    report = run_checks(ctx)
    report, disputed = _quarantine(ctx, report)
    if disputed:
        report.problems.append(f"disputed tests skipped: {', '.join(disputed)}")
    report, contradicted, users = _arbitrate(ctx, report)
    if contradicted:
        report.problems.append(
            f"tests contradicted by the holdout skipped: {', '.join(contradicted)}"
        )
    if users:
        report.feedback = f"{report.feedback}\n\n{users}"
    ctx.store.put_artifact(
        ctx.run_id, CHECKS_ARTIFACT, _json(report.as_dict()), kind="check", step_seq=ctx.step_seq
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
        names = ", ".join(_short(n) for n in counts.passing)
        ctx.put_note(
            "tests_problem",
            f"these tests pass without any implementation, so they check nothing: {names}",
        )
        return StageResult(
            Outcome.RETRY, f"{len(counts.passing)} tests pass without an implementation", output
        )
    if counts.passing:
        ctx.log(
            f"{len(counts.passing)} test(s) pass against the stub: {', '.join(map(_short, counts.passing))}",
            level="warning",
        )
    other = counts.failed + counts.errors - len(counts.not_implemented)
    return StageResult(
        Outcome.OK,
        f"{len(counts.not_implemented)}/{counts.total} tests fail for the right reason"
        + (f", {other} for another" if other else ""),
        output,
    )


def _short(name: str) -> str:
    return re.sub(r"^.*\.", "", name)


def _json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2, default=str)
