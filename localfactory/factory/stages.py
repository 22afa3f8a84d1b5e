"""The stages that write: plan, tests first, implement, repair.

Each stage builds its prompt from the spec and the workspace (never from scenarios), asks
its role's model through the gateway, and turns the answer into files. Unusable answers
(no file, a syntax error, an answer cut off) end the stage with ``RETRY`` and a note the
next attempt shows the model.
"""

from __future__ import annotations

import ast

from localfactory.factory import prompts
from localfactory.factory.context import StageContext, StageResult
from localfactory.factory.examples import (
    examples_source,
    is_example,
    spec_examples,
    writer_tests,
)
from localfactory.factory.extract import FileEdit, append_tests, extract_files, merge_functions
from localfactory.factory.layout import (
    function_names,
    normalize_tests,
    salvage_tests,
    split_checks,
    stub_source,
    test_functions,
)
from localfactory.factory.machine import Outcome
from localfactory.factory.workspace import UnsafePath
from localfactory.llm.call import Message
from localfactory.spec import CliInterface, LibraryInterface, render_for_prompt

PLAN_TOKENS = 320
TESTS_TOKENS = 1800
CODE_TOKENS = 2048


def _messages(user: str) -> list[Message]:
    return [Message(role="system", content=prompts.SYSTEM), Message(role="user", content=user)]


RETRY_REPEAT_PENALTY = 1.1
"""A retry's guard against the loop a small model can fall into (seen: the 1.5B writing the
same parametrize row until the token limit, three times in a row at temperatures 0 and 0.4)."""


def _options(ctx: StageContext, max_tokens: int) -> dict[str, object]:
    """Greedy on a first try; a retry samples a little (seeded, so replayable) to get a
    different answer, and is kept out of repetition loops."""
    if ctx.retry == 0:
        return {"max_tokens": max_tokens}
    return {
        "max_tokens": max_tokens,
        "temperature": 0.4,
        "seed": ctx.retry,
        "repeat_penalty": RETRY_REPEAT_PENALTY,
    }


def _with_problem(prompt: str, problem: str | None) -> str:
    if not problem:
        return prompt
    return f"{prompt}\n\nYour previous answer could not be used: {problem}\nAvoid that this time."


def _review_feedback(ctx: StageContext) -> str:
    """What a person said when rejecting an earlier delivery of this spec (kept for the whole run)."""
    kept = ctx.note("review_feedback")
    if kept is None:
        from localfactory.validators.stage import take_feedback

        kept = take_feedback(ctx)
        ctx.put_note("review_feedback", kept)
    if not kept.strip():
        return ""
    return f"\n\nA person rejected an earlier delivery of this software and said:\n{kept.strip()}\nTake it into account."


def plan(ctx: StageContext) -> StageResult:
    names = function_names(ctx.spec)
    prompt = prompts.PLAN.format(spec=render_for_prompt(ctx.spec), limit=len(names) + 2)
    answer = ctx.gateway.chat(
        "planner", _messages(prompt + _review_feedback(ctx)), options={"max_tokens": PLAN_TOKENS}
    )
    text = answer.text.strip()
    if not text:
        return StageResult(Outcome.RETRY, "the plan was empty")
    if "```" in text:  # a planner that wrote code anyway: keep only its words
        text = "\n".join(text.split("```")[0::2]).strip() or text
    ctx.put_note("plan", text)
    for path, content in ctx.layout.extra_files:
        if ctx.workspace.read(path) is None:
            ctx.workspace.write(path, content)
    if ctx.workspace.read(ctx.layout.code_path) is None:
        ctx.workspace.write(ctx.layout.code_path, stub_source(ctx.spec))
    covered = [n for n in names if n in text]
    return StageResult(
        Outcome.OK, f"planned {len(covered)} of {len(names)} function(s)", {"plan": text}
    )


def _harness(ctx: StageContext) -> str:
    iface = ctx.spec.interface
    if isinstance(iface, LibraryInterface):
        names = ", ".join(function_names(ctx.spec))
        return prompts.TESTS_LIBRARY_HARNESS.format(module=ctx.layout.module, names=names)
    if isinstance(iface, CliInterface):
        return prompts.TESTS_CLI_HARNESS.format(module=ctx.layout.module)
    return prompts.TESTS_SERVICE_HARNESS.format(module=ctx.layout.module)


def _pick(edits: list[FileEdit], path: str, *, folder: str | None = None) -> FileEdit | None:
    """The edit for ``path``; else the only edit under ``folder`` (a model that renamed the file)."""
    for edit in edits:
        if edit.path == path:
            return edit
    if folder is not None:
        candidates = [e for e in edits if e.path.startswith(folder) and e.path.endswith(".py")]
        if len(candidates) == 1:
            return candidates[0]
    return None


def _python_problem(edit: FileEdit | None, path: str, skipped: list[str]) -> str | None:
    if edit is None:
        extra = f" (I skipped {'; '.join(skipped)})" if skipped else ""
        return f"there was no ```python block for `{path}`{extra}"
    if edit.truncated:
        return f"the answer was cut off before the end of `{path}`: write it shorter"
    if "<the complete" in edit.content or edit.content.strip() in ("...", "pass"):
        return f"the block for `{path}` held a placeholder instead of real code"
    try:
        ast.parse(edit.content)
    except SyntaxError as exc:
        lines = edit.content.splitlines()
        bad = lines[exc.lineno - 1].strip() if exc.lineno and exc.lineno <= len(lines) else ""
        shown = f" (the line is `{bad[:120]}`)" if bad else ""
        return f"`{path}` has a syntax error on line {exc.lineno}: {exc.msg}{shown}"
    return None


def _salvaged(
    ctx: StageContext, edit: FileEdit | None, issue: str | None
) -> tuple[FileEdit | None, str | None]:
    """A test file with a syntax error or cut off keeps its good tests: the broken ones are
    dropped (and logged) instead of asking again, which tends to repeat the same line."""
    if issue is None or edit is None:
        return edit, issue
    saved = salvage_tests(edit.content, truncated=edit.truncated)
    if saved is None:
        return edit, issue
    content, dropped = saved
    ctx.log(f"tests: dropped {', '.join(dropped)}, which broke the file ({issue})", level="warning")
    return FileEdit(edit.path, content), None


def write_tests(ctx: StageContext) -> StageResult:
    test_path = ctx.layout.test_path
    prompt = prompts.TESTS.format(
        spec=render_for_prompt(ctx.spec),
        plan=ctx.note("plan") or "(none)",
        test_path=test_path,
        harness=_harness(ctx),
        path=test_path,
    )
    problem = ctx.note("tests_problem") if ctx.retry > 0 else None
    answer = ctx.gateway.chat(
        "test_writer",
        _messages(_with_problem(prompt, problem)),
        options=_options(ctx, TESTS_TOKENS),
    )
    found = extract_files(answer.text, expected=[test_path])
    edit = _pick(found.edits, test_path, folder="tests/")
    edit, issue = _salvaged(ctx, edit, _python_problem(edit, test_path, found.skipped))
    if issue is None and edit is not None and not test_functions(ast.parse(edit.content)):
        issue = f"`{test_path}` has no test functions (their names must start with test_)"
    if issue is not None or edit is None:
        ctx.put_note("tests_problem", issue or "no test file")
        return StageResult(Outcome.RETRY, f"unusable tests: {issue}")
    content = _save_tests(ctx, edit.content)
    count = content.count("def test")
    examples = spec_examples(ctx.spec)
    if examples:  # the spec's own examples, beside the test writer's tests
        ctx.workspace.write(
            ctx.layout.examples_path, examples_source(ctx.spec, ctx.layout, examples)
        )
    return StageResult(
        Outcome.OK,
        f"wrote {count} test(s) in {test_path}"
        + (f"; {len(examples)} from the spec's examples" if examples else ""),
        {"tests": count, "examples": len(examples)},
    )


def _code_edit(ctx: StageContext, answer_text: str, *, merge: bool) -> tuple[list[str], str | None]:
    """Write the coder's files (never the tests); the paths written, or a problem."""
    code_path = ctx.layout.code_path
    found = extract_files(answer_text, expected=[code_path])
    edit = _pick(found.edits, code_path)
    issue = _python_problem(edit, code_path, found.skipped)
    if issue is not None or edit is None:
        return [], issue or "no code"
    written: list[str] = []
    current = ctx.workspace.read(code_path)
    content = edit.content
    if merge and current is not None:
        content = merge_functions(current, edit.content) or edit.content
    missing = _missing_interface(ctx, content)
    if missing:
        # A fragment taken for the whole file (`obj['x']` in a repair, seen on the 1.5B) would
        # wipe out the code: the answer is unusable and the file stays as it was.
        return [], (
            f"`{code_path}` must define {', '.join(function_names(ctx.spec))}; the answer "
            f"has no {', '.join(missing)}: write the complete file"
        )
    ctx.workspace.write(code_path, content)
    written.append(code_path)
    for other in found.edits:
        if other is edit or other.path.startswith("tests/") or not other.path.endswith(".py"):
            continue
        try:
            ast.parse(other.content)
            ctx.workspace.write(other.path, other.content)
            written.append(other.path)
        except (SyntaxError, UnsafePath) as exc:
            ctx.log(f"ignored {other.path}: {exc}", level="warning")
    return written, None


def _bound_names(body: list[ast.stmt]) -> set[str]:
    """Names a module body binds at top level (defs, classes, assignments, imports), looking
    into ``if``/``try``/``with`` blocks."""
    names: set[str] = set()
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.If | ast.Try | ast.With):
            for block in ("body", "orelse", "finalbody", "handlers"):
                for part in getattr(node, block, []):
                    inner = part.body if isinstance(part, ast.ExceptHandler) else [part]
                    names |= _bound_names(inner)
    return names


def _missing_interface(ctx: StageContext, content: str) -> list[str]:
    """The library interface's names that ``content`` does not define (empty for commands
    and services, whose entry point is checked by running them)."""
    if not isinstance(ctx.spec.interface, LibraryInterface):
        return []
    bound = _bound_names(ast.parse(content).body)
    return [name for name in function_names(ctx.spec) if name not in bound]


def _write_code(ctx: StageContext, prompt: str, *, merge: bool, verb: str) -> StageResult:
    """Ask the coder, write what it answered; RETRY with the problem noted when unusable."""
    problem = ctx.note("code_problem") if ctx.retry > 0 else None
    answer = ctx.gateway.chat(
        "coder", _messages(_with_problem(prompt, problem)), options=_options(ctx, CODE_TOKENS)
    )
    before = ctx.workspace.read(ctx.layout.code_path)
    written, issue = _code_edit(ctx, answer.text, merge=merge)
    note = ""
    if not issue and merge and ctx.settings.factory.repair_candidates > 1:
        note = _best_candidate(ctx, _with_problem(prompt, problem), before or "")
    if not issue and merge and ctx.workspace.read(ctx.layout.code_path) == before:
        kept = _code_kept(ctx)
        if isinstance(kept, StageResult):
            return kept
        issue = kept
    if issue:
        ctx.put_note("code_problem", issue)
        return StageResult(Outcome.RETRY, f"unusable code: {issue}")
    return StageResult(Outcome.OK, f"{verb} {', '.join(written)}{note}", {"files": written})


CANDIDATE_TEMPERATURE = 0.7


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
    outrank the test writer's tests (as when the checks arbitrate, see ``checks._arbitrate``):
    a right answer that fails a wrong test beats a wrong one that passes it."""
    all_examples, examples, passed, ran = passing
    users = _users(ctx) if all_examples else None
    sat = users[0] if users else 0.0
    done = passed == ran and (users is None or users[1])
    note = f"{passed}/{ran} tests pass" + (f", users' satisfaction {sat:.0%}" if users else "")
    return (examples, sat, passed), done, note


def _best_candidate(ctx: StageContext, prompt: str, before: str) -> str:
    """When the coder's first answer still fails (tests, or the users' scenarios after a failed
    validation), sample more answers (seeded, so a replay asks the same) and keep the best; the
    checks choose, not the model. Answers are compared on the spec's examples, then on the
    holdout scenarios' satisfaction (run here; nothing of them reaches a prompt), then on all
    tests. The last answer asked for is a fresh implementation from the spec alone (greedy the
    first time, sampled later), so a run is stuck neither on one approach nor on a wrong test.
    Returns a note for the step's reason (empty when the first answer stays)."""
    path = ctx.layout.code_path
    first = ctx.workspace.read(path) or ""
    passing = _passing(ctx)
    _, _, passed, ran = passing
    if ran == 0 or (passed == ran and not _after_holdout(ctx)):
        return ""
    best_score, done, first_note = _score(ctx, passing)
    if done:
        return ""
    best, chosen, kind, best_note = first, 0, "", first_note
    tried = ctx.settings.factory.repair_candidates
    # Later repairs sample other answers than earlier ones given the same feedback.
    repairs = sum(
        1 for s in ctx.store.steps(ctx.run_id) if s.name == "repair" and s.seq < ctx.step_seq
    )
    for i in range(1, tried):
        fresh = i == tried - 1 and tried > 2
        options = {"max_tokens": CODE_TOKENS, "temperature": CANDIDATE_TEMPERATURE,
                   "seed": 1000 * repairs + 100 * ctx.retry + i}  # fmt: skip
        if fresh and repairs == 0 and ctx.retry == 0:
            options = {"max_tokens": CODE_TOKENS}  # the first time, the model's own best guess
        asked = _rewrite_prompt(ctx) if fresh else prompt
        answer = ctx.gateway.chat("coder", _messages(asked), options=options)
        ctx.workspace.write(path, before)
        _, issue = _code_edit(ctx, answer.text, merge=not fresh)
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
    if chosen == 0:
        return f" (no sampled answer beat the first: {first_note})"
    return f" ({kind} {chosen + 1} of {tried} kept: {best_note}; the first: {first_note})"


def _code_kept(ctx: StageContext) -> StageResult | str:
    """What follows a repair that gave back the very code that fails: the tests are questioned
    (while test revisions are left), the check runs again to settle tests both sides stood by
    (see ``checks.disputed_tests``), or the coder is told to change its code (a retry)."""
    from localfactory.factory.checks import (
        MAX_TEST_REVISIONS,
        base_name,
        finished_revisions,
        latest_report,
        questioned_tests,
        restored_tests,
    )

    report = latest_report(ctx)
    failing = report.tests.failing if report is not None else []
    done = [s for s in ctx.store.steps(ctx.run_id) if s.seq < ctx.step_seq]
    from_review = bool(done) and done[-1].name == "scrutinize"
    if from_review and report is not None and report.pytest_ok and report.ruff_ok:
        # Sent back by the review while every check passes: the coder stands by its code
        # against the review. The checks and the review run again; the review's send-backs
        # are bounded, so a judge that is wrong cannot stall the run.
        return StageResult(Outcome.OK, "the coder kept the code as it was: it passes every check")
    revisions = finished_revisions(done)
    questionable = writer_tests(failing)
    if ctx.retry == 0 and questionable and len(revisions) < MAX_TEST_REVISIONS:
        # The coder stands by its code: maybe the failing tests are what is wrong.
        ctx.put_note("stuck_tests", "\n".join(questionable))
        return StageResult(
            Outcome.STUCK, "the coder kept the code as it was: the failing tests are questioned"
        )
    questioned = questioned_tests(revisions)
    settles = report is not None and len(failing) < report.tests.total - report.tests.skipped
    if failing and settles and len(revisions) >= MAX_TEST_REVISIONS and set(failing) <= questioned:
        # Both sides stood by their work and some tests pass: the check skips the disputed ones
        # (not those the holdout already sent back, which fail again, see restore_disputed).
        restored = restored_tests(ctx)
        back = all(base_name(n) in restored for n in failing)
        still = "restored after the holdout failed" if back else "disputed"
        return StageResult(
            Outcome.OK, f"the coder kept the code as it was: the failing tests are {still}"
        )
    if ctx.settings.factory.repair_candidates > 1 and (failing or _after_holdout(ctx)):
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
    return _write_code(ctx, prompt + _review_feedback(ctx), merge=False, verb="wrote")


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


def _test_count(source: str) -> int:
    return len(test_functions(ast.parse(source)))


def _save_tests(ctx: StageContext, content: str) -> str:
    """Write the test file, normalised (see :func:`normalize_tests`) with one check per test
    (see :func:`split_checks`), each change logged."""
    content, changes = normalize_tests(content, ctx.spec, ctx.layout)
    content, split = split_checks(content)
    if split:
        changes.append(f"split {', '.join(split)} into one test per check")
    for change in changes:
        ctx.log(f"tests: {change}")
    ctx.workspace.write(ctx.layout.test_path, content)
    return content


def _test_writer_edit(
    ctx: StageContext, template: str, **fields: str
) -> tuple[str, FileEdit | None, str | None, str]:
    """Ask the test writer to rework the test file with ``template`` (given the spec, the
    current tests and ``fields``): the current tests, the new file (or None), what makes it
    unusable (or None), and the answer's text."""
    test_path = ctx.layout.test_path
    current = ctx.workspace.read(test_path) or ""
    prompt = template.format(
        spec=render_for_prompt(ctx.spec), test_path=test_path, tests=current, path=test_path,
        **fields,
    )  # fmt: skip
    answer = ctx.gateway.chat(
        "test_writer", _messages(prompt), options={"max_tokens": TESTS_TOKENS}
    )
    found = extract_files(answer.text, expected=[test_path])
    edit = _pick(found.edits, test_path, folder="tests/")
    edit, issue = _salvaged(ctx, edit, _python_problem(edit, test_path, found.skipped))
    return current, edit, issue, answer.text


def revise_tests(ctx: StageContext) -> StageResult:
    """The test writer re-reads the tests that repairs cannot fix; it may correct them, never drop them."""
    test_path = ctx.layout.test_path
    failing = [f for f in (ctx.note("stuck_tests") or "").split("\n") if f]
    questioned = {"questioned": failing}
    current, edit, issue, answer = _test_writer_edit(
        ctx, prompts.REVISE_TESTS,
        code_path=ctx.layout.code_path,
        code=ctx.workspace.read(ctx.layout.code_path) or "",
        failing=", ".join(f.rsplit(".", 1)[-1] for f in failing),
        feedback=ctx.note("feedback") or "",
    )  # fmt: skip
    if edit is None and prompts.TESTS_ARE_RIGHT in answer:
        return StageResult(
            Outcome.FAILING, "the test writer stands by the failing tests", questioned
        )
    if issue is None and edit is not None and _test_count(edit.content) < _test_count(current):
        issue = "the revised file has fewer tests than before (tests may be corrected, not removed)"
    if issue is not None or edit is None:
        ctx.log(f"test revision not used: {issue}", level="warning")
        return StageResult(Outcome.FAILING, f"tests kept as they were ({issue})", questioned)
    if edit.content.strip() == current.strip():
        return StageResult(
            Outcome.FAILING, "the test writer stands by the failing tests", questioned
        )
    ctx.workspace.write(test_path, edit.content)
    return StageResult(
        Outcome.OK,
        f"corrected {test_path} against the spec",
        {"tests": _test_count(edit.content), **questioned},
    )


def extend_tests(ctx: StageContext) -> StageResult:
    """The holdout failed code that passes every test: the test writer adds tests for what the
    tests miss (appended; no existing test changes). New tests go to the checks, where a
    failing one gives the coder a concrete case; an unusable answer sends the users' feedback
    to the coder as it is."""
    test_path = ctx.layout.test_path
    current, edit, issue, _ = _test_writer_edit(
        ctx, prompts.EXTEND_TESTS, feedback=ctx.note("feedback") or "(no details)"
    )
    added: list[str] = []
    if issue is None and edit is not None:
        content, added = append_tests(current, edit.content)
        if not added:
            issue = "the answer had no test that the file lacks"
    if issue is not None or edit is None:
        ctx.log(f"no tests added: {issue}", level="warning")
        return StageResult(
            Outcome.FAILING, f"no tests added ({issue}); to the coder", {"added": []}
        )
    content = _save_tests(ctx, content)
    return StageResult(
        Outcome.OK,
        f"added {len(added)} test(s) to {test_path}: {', '.join(added)}",
        {"added": added, "tests": _test_count(content)},
    )


def strengthen_tests(ctx: StageContext) -> StageResult:
    """The test writer rewrites the tests the review found checking nothing (never drops any).
    An unusable answer leaves the tests as they were: the checks and the review run again."""
    from localfactory.validators.static_review import assertless_tests

    test_path = ctx.layout.test_path
    current, edit, issue, _ = _test_writer_edit(
        ctx, prompts.STRENGTHEN_TESTS, findings=ctx.note("weak_tests") or ""
    )
    if issue is None and edit is not None:
        if _test_count(edit.content) < _test_count(current):
            issue = "the rewritten file has fewer tests than before"
        elif len(assertless_tests(test_path, ast.parse(edit.content))) >= len(
            assertless_tests(test_path, ast.parse(current))
        ):
            issue = "the rewritten tests still check nothing"
    if issue is not None or edit is None:
        ctx.log(f"tests kept as they were: {issue}", level="warning")
        return StageResult(Outcome.OK, f"tests kept as they were ({issue})", {"changed": False})
    content = _save_tests(ctx, edit.content)
    return StageResult(
        Outcome.OK,
        f"rewrote the tests that checked nothing in {test_path}",
        {"changed": True, "tests": _test_count(content)},
    )
