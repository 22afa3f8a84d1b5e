"""Tests the two small models cannot agree on, and the holdout as their arbiter.

A failing test the test writer stood by through its revisions, and the coder still cannot
pass, is *disputed*: skipped, and left to the holdout scenarios (which neither model wrote).
When the holdout then fails, the disputed tests come back (*restored*) and are never
disputed again. When only the test writer's tests fail, the holdout arbitrates: code that
satisfies every scenario has the failing tests skipped as *contradicted*. Every skipped and
restored test is recorded as a check artifact of the run.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import TYPE_CHECKING

from localfactory.factory.checks import (
    MAX_TEST_REVISIONS,
    CheckReport,
    as_json,
    code_files,
    run_checks,
    short_name,
)
from localfactory.factory.context import StageContext
from localfactory.factory.examples import writer_tests

if TYPE_CHECKING:
    from localfactory.store import Step


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
    return short_name(test_id).split("[", 1)[0]


RESTORED_ARTIFACT = "restored_tests.json"


DISPUTED_REASON = (
    "disputed: the test writer stood by it, the coder could not pass it; left to the holdout"
)


def _recorded(ctx: StageContext, name: str) -> set[str]:
    found = ctx.store.get_artifact(ctx.run_id, name, kind="check")
    return set(json.loads(found.text())["tests"]) if found is not None else set()


def _record(ctx: StageContext, name: str, tests: set[str]) -> None:
    ctx.store.put_artifact(
        ctx.run_id, name, as_json({"tests": sorted(tests)}), kind="check", step_seq=ctx.step_seq
    )


def restored_tests(ctx: StageContext) -> set[str]:
    """The tests the holdout sent back from a dispute (see :func:`restore_disputed`)."""
    return _recorded(ctx, RESTORED_ARTIFACT)


def restore_disputed(ctx: StageContext) -> list[str]:
    """Un-skip the disputed tests once the holdout failed: it did not side with the code, so the
    tests go back to the coder as concrete failures, and are never disputed again (the
    holdout may still find them contradicted, see :func:`arbitrate`). Their names."""
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


def quarantine(ctx: StageContext, report: CheckReport) -> tuple[CheckReport, list[str]]:
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
    for path in sorted(code_files(ctx)):
        digest.update(path.encode() + b"\0" + (ctx.workspace.read(path) or "").encode())
    return digest.hexdigest()


def arbitrate(ctx: StageContext, report: CheckReport) -> tuple[CheckReport, list[str], str]:
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
    ctx.put_note(ARBITER_NOTE, as_json({"code": code, "users": users}))
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
