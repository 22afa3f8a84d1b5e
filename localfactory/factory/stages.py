"""The stages that plan and write tests: plan, tests first, and the test writer's revisions.

Each stage builds its prompt from the spec and the workspace (never from scenarios), asks
its role's model through the gateway, and turns the answer into files. Unusable answers
(no file, a syntax error, an answer cut off) end the stage with ``RETRY`` and a note the
next attempt shows the model. The code-writing stages are in :mod:`.coding`.
"""

from __future__ import annotations

import ast

from localfactory.factory import answers, prompts
from localfactory.factory.context import StageContext, StageResult
from localfactory.factory.examples import examples_source, spec_examples
from localfactory.factory.extract import FileEdit, append_tests, extract_files
from localfactory.factory.layout import (
    drop_unstated_errors,
    function_names,
    normalize_tests,
    salvage_tests,
    split_checks,
    stub_source,
    test_functions,
)
from localfactory.factory.machine import Outcome
from localfactory.spec import CliInterface, LibraryInterface, render_for_prompt


def plan(ctx: StageContext) -> StageResult:
    names = function_names(ctx.spec)
    prompt = prompts.PLAN.format(spec=render_for_prompt(ctx.spec), limit=len(names) + 2)
    answer = ctx.gateway.chat(
        "planner",
        answers.messages(prompt + answers.review_feedback(ctx)),
        options={"max_tokens": answers.PLAN_TOKENS},
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
        answers.messages(answers.with_problem(prompt, problem)),
        options=answers.options(ctx, answers.TESTS_TOKENS),
    )
    found = extract_files(answer.text, expected=[test_path])
    edit = answers.mended(ctx, answers.pick(found.edits, test_path, folder="tests/"))
    edit, issue = _salvaged(ctx, edit, answers.python_problem(edit, test_path, found.skipped))
    if issue is None and edit is not None and not test_functions(ast.parse(edit.content)):
        issue = f"`{test_path}` has no test functions (their names must start with test_)"
    if issue is not None or edit is None:
        if answer.runaway:  # "write it shorter" alone got an empty block from the 1.5B
            issue = (
                f"the answer went round in a loop ({answer.runaway}) and was stopped. Write "
                "one short test for each acceptance criterion, each with its own input, "
                "and no long tables of cases"
            )
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


def _test_count(source: str) -> int:
    return len(test_functions(ast.parse(source)))


def _save_tests(ctx: StageContext, content: str) -> str:
    """Write the test file, normalised (see :func:`normalize_tests`) with one check per test
    (see :func:`split_checks`) and without expectations of errors the spec never states (see
    :func:`drop_unstated_errors`), each change logged."""
    content, changes = normalize_tests(content, ctx.spec, ctx.layout)
    content, split = split_checks(content)
    if split:
        changes.append(f"split {', '.join(split)} into one test per check")
    content, invented = drop_unstated_errors(content, ctx.spec)
    if invented:
        changes.append(
            f"dropped {', '.join(invented)}: the spec never says the code raises an error"
        )
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
        "test_writer", answers.messages(prompt), options={"max_tokens": answers.TESTS_TOKENS}
    )
    found = extract_files(answer.text, expected=[test_path])
    edit = answers.mended(ctx, answers.pick(found.edits, test_path, folder="tests/"))
    edit, issue = _salvaged(ctx, edit, answers.python_problem(edit, test_path, found.skipped))
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
    content, changes = normalize_tests(edit.content, ctx.spec, ctx.layout)
    if content.strip() == current.strip():
        return StageResult(
            Outcome.FAILING, "the test writer stands by the failing tests", questioned
        )
    for change in changes:  # a revision forgets the imports as often as a first draft
        ctx.log(f"tests: {change}")
    ctx.workspace.write(test_path, content)
    return StageResult(
        Outcome.OK,
        f"corrected {test_path} against the spec",
        {"tests": _test_count(content), **questioned},
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
