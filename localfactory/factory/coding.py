"""The stages that write code: implement and repair, and how a repair chooses among answers.

The coder's prompt holds the spec, the plan or the failures, and the tests (never the
scenarios). A repair whose first answer still fails asks for more (sampled, and a fresh one
from the spec alone) and keeps the best by the checks and the users' scenarios; one that
gives back the same failing code, or only worse answers, has the tests questioned or the
checks run again: a repair never leaves code that does worse than the code it was given.
"""

from __future__ import annotations

from datetime import UTC, datetime

from localfactory.factory import answers, budget, prompts
from localfactory.factory.context import StageContext, StageResult
from localfactory.factory.examples import is_example, writer_tests
from localfactory.factory.extract import EMPTY_BLOCK, extract_files
from localfactory.factory.layout import stub_source
from localfactory.factory.machine import Outcome
from localfactory.spec import render_for_prompt


def _write_code(ctx: StageContext, prompt: str, *, merge: bool, verb: str) -> StageResult:
    """Ask the coder, write what it answered; RETRY with the problem noted when unusable."""
    problem = ctx.note("code_problem") if ctx.retry > 0 else None
    answer = ctx.gateway.chat(
        "coder",
        answers.messages(answers.with_problem(prompt, problem)),
        options=answers.options(ctx, answers.CODE_TOKENS),
    )
    before = ctx.workspace.read(ctx.layout.code_path)
    written, issue = answers.code_edit(ctx, answer.text, merge=merge)
    if issue is not None and merge and _no_change(answer.text):
        # Seen on the 1.5B in repairs: "```\nroman.py\n```" and nothing else, 7 tokens, and
        # asked again it gave back the same code. An empty block is the code kept as it was.
        ctx.log("the coder answered with an empty code block: taken as the code kept as it was")
        written, issue = [], None
    note, worse = "", False
    if not issue and merge and ctx.settings.factory.repair_candidates > 1:
        note, worse = _best_candidate(ctx, answers.with_problem(prompt, problem), before or "")
    if not issue and merge and ctx.workspace.read(ctx.layout.code_path) == before:
        kept = _code_kept(ctx, worse=worse)
        if isinstance(kept, StageResult):
            return StageResult(kept.outcome, kept.reason + note, kept.output) if worse else kept
        issue = kept
    if issue:
        ctx.put_note("code_problem", issue)
        return StageResult(Outcome.RETRY, f"unusable code: {issue}")
    return StageResult(Outcome.OK, f"{verb} {', '.join(written)}{note}", {"files": written})


CANDIDATE_TEMPERATURE = 0.7


def _no_change(answer_text: str) -> bool:
    """Whether the answer's only code blocks are empty (at most a file name in them)."""
    found = extract_files(answer_text)
    return not found.edits and set(found.skipped) == {EMPTY_BLOCK}


def _passing(ctx: StageContext) -> tuple[bool, int, int, int]:
    """(every spec example passes, examples passing, tests passing, tests that ran) for the
    code in the workspace now."""
    from localfactory.factory.checks import run_pytest

    _, counts, _ = run_pytest(ctx)
    examples = sum(1 for name in counts.passing if is_example(name))
    all_examples = not any(is_example(name) for name in counts.failing)
    return all_examples, examples, counts.passed, counts.total - counts.skipped


def _rewrite_prompt(ctx: StageContext) -> str:
    """Ask for the code anew from the spec alone: not the code that keeps failing (a small model
    shown its code tends to give it back), nor the test writer's tests (which may be what
    misleads it); the checks and the users' scenarios then judge it like any answer."""
    return prompts.REWRITE.format(
        spec=render_for_prompt(ctx.spec), path=ctx.layout.code_path, stub=stub_source(ctx.spec)
    )


def _after_holdout(ctx: StageContext) -> bool:
    """Whether this repair follows a validation the code failed (every test passed)."""
    done = [s for s in ctx.store.steps(ctx.run_id) if s.seq < ctx.step_seq]
    earlier = [s for s in done if s.name != "repair"]
    return bool(earlier) and earlier[-1].name == "validate"


def _users(ctx: StageContext) -> tuple[float, bool] | None:
    """The holdout's satisfaction with the code now, and whether it meets the target; None
    without scenarios. Measured for choosing among answers, not recorded as an iteration's."""
    from localfactory.factory.holdout import measure

    sat = measure(ctx, record=False)
    return None if sat.overall is None else (sat.overall, sat.satisfied)


def _score(
    ctx: StageContext, passing: tuple[bool, int, int, int]
) -> tuple[tuple[int, float, int], bool, str]:
    """How good the code now is, given its :func:`_passing`, as (spec examples passing, users'
    satisfaction, tests passing); whether it is good enough to stop looking; and a note for
    the reason.

    The users' scenarios are run only for code that passes every spec example, and they
    outrank the test writer's tests (as when the checks arbitrate, see ``disputes.arbitrate``):
    a right answer that fails a wrong test beats a wrong one that passes it."""
    all_examples, examples, passed, ran = passing
    users = _users(ctx) if all_examples else None
    sat = users[0] if users else 0.0
    done = passed == ran and (users is None or users[1])
    note = f"{passed}/{ran} tests pass" + (f", users' satisfaction {sat:.0%}" if users else "")
    return (examples, sat, passed), done, note


def _out_of_budget(ctx: StageContext) -> str | None:
    """Why no more answers may be asked in this step (the run's tokens or time are spent)."""
    step = ctx.store.open_step(ctx.run_id)
    now = datetime.now(UTC)
    current = (now - step.started_at).total_seconds() if step is not None else 0.0
    return budget.spent(ctx.store, ctx.run_id, ctx.spec.budget, current_step_s=max(0.0, current))


def _scored(ctx: StageContext, code: str) -> tuple[tuple[int, float, int], str]:
    """The :func:`_score` and note of ``code`` against the tests as they are now; the
    workspace's code is put back as it was."""
    path = ctx.layout.code_path
    now = ctx.workspace.read(path) or ""
    ctx.workspace.write(path, code)
    try:
        score, _, note = _score(ctx, _passing(ctx))
    finally:
        ctx.workspace.write(path, now)
    return score, note


def _best_candidate(ctx: StageContext, prompt: str, before: str) -> tuple[str, bool]:
    """When the coder's first answer still fails (tests, or the users' scenarios after a failed
    validation), sample more answers (seeded, so a replay asks the same) and keep the best; the
    checks choose, not the model. Answers are compared on the spec's examples, then on the
    holdout scenarios' satisfaction (run here; nothing of them reaches a prompt), then on all
    tests. The last answer asked for is a fresh implementation from the spec alone (greedy the
    first time, sampled later), so a run is stuck neither on one approach nor on a wrong test.

    The code before the repair competes too, judged against the tests as they are now: a
    repair never leaves code that does worse than what it was given (seen on the bench: a
    repair that fixed a lint error left code no user was satisfied with, where the code before
    satisfied 64%). Returns a note for the step's reason (empty when the first answer stays),
    and whether the code before the repair was kept."""
    path = ctx.layout.code_path
    first = ctx.workspace.read(path) or ""
    passing = _passing(ctx)
    _, _, passed, ran = passing
    if ran == 0:
        return "", False
    first_score, done, first_note = _score(ctx, passing)
    if done:
        return "", False
    best, best_score, chosen, kind, best_note = first, first_score, 0, "", first_note
    if before and before != first:
        earlier, earlier_note = _scored(ctx, before)
        if earlier > first_score:
            best, best_score, chosen, best_note = before, earlier, -1, earlier_note
    if chosen == 0 and passed == ran and not _after_holdout(ctx):
        return "", False  # every test passes, and no worse for users: the validation judges next
    tried = ctx.settings.factory.repair_candidates
    # Later repairs sample other answers than earlier ones given the same feedback.
    repairs = sum(
        1 for s in ctx.store.steps(ctx.run_id) if s.name == "repair" and s.seq < ctx.step_seq
    )
    for i in range(1, tried):
        over = _out_of_budget(ctx)
        if over:
            ctx.log(f"no more answers asked: {over}", level="warning")
            tried = i
            break
        fresh = i == tried - 1 and tried > 2
        options = {"max_tokens": answers.CODE_TOKENS, "temperature": CANDIDATE_TEMPERATURE,
                   "seed": 1000 * repairs + 100 * ctx.retry + i}  # fmt: skip
        if fresh and repairs == 0 and ctx.retry == 0:
            options = {
                "max_tokens": answers.CODE_TOKENS
            }  # the first time, the model's own best guess
        asked = _rewrite_prompt(ctx) if fresh else prompt
        answer = ctx.gateway.chat("coder", answers.messages(asked), options=options)
        ctx.workspace.write(path, before)
        _, issue = answers.code_edit(ctx, answer.text, merge=not fresh)
        if issue is not None:
            continue
        score, done, note = _score(ctx, _passing(ctx))
        if score > best_score:
            best, best_score, chosen, best_note = ctx.workspace.read(path) or "", score, i, note
            kind = "fresh answer" if fresh else "sampled answer"
            if done:
                tried = i + 1
                break
    ctx.workspace.write(path, best)
    if chosen == -1:
        return (
            f" (the code before the repair kept, no answer of {tried} beat it: {best_note}; "
            f"the first answer: {first_note})",
            True,
        )
    if chosen == 0:
        return f" (no sampled answer beat the first: {first_note})", False
    return f" ({kind} {chosen + 1} of {tried} kept: {best_note}; the first: {first_note})", False


def _code_kept(ctx: StageContext, *, worse: bool = False) -> StageResult | str:
    """What follows a repair that gave back the very code that fails (or, ``worse``, whose
    answers all did worse than it): the tests are questioned (while test revisions are left),
    the check runs again to settle tests both sides stood by (see
    ``disputes.disputed_tests``), or the coder is told to change its code (a retry)."""
    from localfactory.factory.checks import MAX_TEST_REVISIONS, latest_report
    from localfactory.factory.disputes import (
        base_name,
        finished_revisions,
        questioned_tests,
        restored_tests,
    )

    kept = "no answer beat the code as it was" if worse else "the coder kept the code as it was"
    report = latest_report(ctx)
    failing = report.tests.failing if report is not None else []
    done = [s for s in ctx.store.steps(ctx.run_id) if s.seq < ctx.step_seq]
    from_review = bool(done) and done[-1].name == "scrutinize"
    if from_review and report is not None and report.pytest_ok and report.ruff_ok:
        # Sent back by the review while every check passes: the coder stands by its code
        # against the review. The checks and the review run again; the review's send-backs
        # are bounded, so a judge that is wrong cannot stall the run.
        return StageResult(Outcome.OK, f"{kept}: it passes every check")
    revisions = finished_revisions(done)
    questionable = writer_tests(failing)
    if ctx.retry == 0 and questionable and len(revisions) < MAX_TEST_REVISIONS:
        # The coder stands by its code: maybe the failing tests are what is wrong.
        ctx.put_note("stuck_tests", "\n".join(questionable))
        return StageResult(Outcome.STUCK, f"{kept}: the failing tests are questioned")
    questioned = questioned_tests(revisions)
    settles = report is not None and len(failing) < report.tests.total - report.tests.skipped
    if failing and settles and len(revisions) >= MAX_TEST_REVISIONS and set(failing) <= questioned:
        # Both sides stood by their work and some tests pass: the check skips the disputed ones
        # (not those the holdout already sent back, which fail again, see restore_disputed).
        restored = restored_tests(ctx)
        back = all(base_name(n) in restored for n in failing)
        still = "restored after the holdout failed" if back else "disputed"
        return StageResult(Outcome.OK, f"{kept}: the failing tests are {still}")
    if worse or (ctx.settings.factory.repair_candidates > 1 and (failing or _after_holdout(ctx))):
        # Sampled answers were tried and none passed more tests (or, after a failed validation,
        # satisfied more users): asking again with the same feedback would only repeat them.
        # The checks run again (the same failures there send the tests to be questioned while
        # revisions are left; the next repair samples with other seeds); the budget bounds it.
        return StageResult(
            Outcome.OK, "no answer improved the code: the checks run again on it as it is"
        )
    return (
        "the answer was the same code as before, and that code fails the checks above. "
        "Find the line that produces the wrong result and change it"
    )


def implement(ctx: StageContext) -> StageResult:
    prompt = prompts.IMPLEMENT.format(
        spec=render_for_prompt(ctx.spec),
        plan=ctx.note("plan") or "(none)",
        test_path=ctx.layout.test_path,
        tests=ctx.workspace.read(ctx.layout.test_path) or "",
        path=ctx.layout.code_path,
        stub=stub_source(ctx.spec),
    )
    return _write_code(ctx, prompt + answers.review_feedback(ctx), merge=False, verb="wrote")


def repair(ctx: StageContext) -> StageResult:
    prompt = prompts.REPAIR.format(
        spec=render_for_prompt(ctx.spec),
        test_path=ctx.layout.test_path,
        tests=ctx.workspace.read(ctx.layout.test_path) or "",
        path=ctx.layout.code_path,
        code=ctx.workspace.read(ctx.layout.code_path) or "",
        feedback=ctx.note("feedback") or "(no details)",
    )
    return _write_code(ctx, prompt, merge=True, verb="rewrote")
