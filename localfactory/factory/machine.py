"""The orchestrator's states and transitions, as data.

Every state names one stage of the factory. A stage ends with an *outcome*; the table
:data:`TRANSITIONS` says which state each (state, outcome) pair leads to. The engine writes
the transition to the run store before it takes effect, so the table, the store and a
rendered diagram (``localfactory runs show``) always agree.
"""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    PLAN = "plan"
    """Decide the files and functions to write."""
    WRITE_TESTS = "write_tests"
    """Write tests from the acceptance criteria."""
    CONFIRM_RED = "confirm_red"
    """Run the new tests against no implementation: they must fail, and for the right reason."""
    IMPLEMENT = "implement"
    """Write the code."""
    CHECK = "check"
    """pytest, ruff and mypy in the sandbox."""
    SCRUTINIZE = "scrutinize"
    """The scrutiny validator reviews code and tests that pass: tests that assert nothing, unsafe calls, a judge's review against the spec."""
    STRENGTHEN_TESTS = "strengthen_tests"
    """The review found tests that check nothing: the test writer rewrites them to check results."""
    REPAIR = "repair"
    """Rewrite the code from condensed feedback."""
    REVISE_TESTS = "revise_tests"
    """Repairs leave the same tests failing: re-read them against the spec, fix one that contradicts it."""
    EXTEND_TESTS = "extend_tests"
    """Users' checks failed code that passes every test: the test writer adds tests for what the tests miss."""
    VALIDATE = "validate"
    """Run the holdout scenarios against the built software: satisfaction."""
    DELIVER = "deliver"
    """Commit the result on the delivery branch and write the report."""
    DONE = "done"
    FAILED = "failed"


TERMINAL = frozenset({State.DONE, State.FAILED})
START = State.PLAN


class Outcome(StrEnum):
    OK = "ok"
    """The stage did what it should."""
    RETRY = "retry"
    """The stage's output was unusable (no code found, tests that do not collect): do it again."""
    FAILING = "failing"
    """Checks or scenarios failed: go and repair."""
    STUCK = "stuck"
    """A repair left exactly the same tests failing, or the coder kept its code: question the tests."""
    BUDGET = "budget"
    """A budget ran out (iterations, tokens, wall time)."""
    WEAK_TESTS = "weak_tests"
    """The review found tests that check nothing: have them rewritten."""
    UNCOVERED = "uncovered"
    """The holdout failed code that passes every test: the tests miss a behaviour, have them extended."""
    REOPENED = "reopened"
    """The holdout failed code whose disputed tests were skipped: the tests are restored and checked again."""
    ERROR = "error"
    """Something outside the model's control broke (a missing model, a full disk)."""


TRANSITIONS: dict[tuple[State, Outcome], State] = {
    (State.PLAN, Outcome.OK): State.WRITE_TESTS,
    (State.PLAN, Outcome.RETRY): State.PLAN,
    (State.WRITE_TESTS, Outcome.OK): State.CONFIRM_RED,
    (State.WRITE_TESTS, Outcome.RETRY): State.WRITE_TESTS,
    (State.CONFIRM_RED, Outcome.OK): State.IMPLEMENT,
    (State.CONFIRM_RED, Outcome.RETRY): State.WRITE_TESTS,
    (State.IMPLEMENT, Outcome.OK): State.CHECK,
    (State.IMPLEMENT, Outcome.RETRY): State.IMPLEMENT,
    (State.CHECK, Outcome.OK): State.SCRUTINIZE,
    (State.SCRUTINIZE, Outcome.OK): State.VALIDATE,
    (State.SCRUTINIZE, Outcome.FAILING): State.REPAIR,
    (State.SCRUTINIZE, Outcome.WEAK_TESTS): State.STRENGTHEN_TESTS,
    (State.STRENGTHEN_TESTS, Outcome.OK): State.CHECK,
    (State.CHECK, Outcome.FAILING): State.REPAIR,
    (State.CHECK, Outcome.STUCK): State.REVISE_TESTS,
    (State.REVISE_TESTS, Outcome.OK): State.CHECK,
    (State.REVISE_TESTS, Outcome.FAILING): State.REPAIR,
    (State.REPAIR, Outcome.OK): State.CHECK,
    (State.REPAIR, Outcome.STUCK): State.REVISE_TESTS,
    (State.REPAIR, Outcome.RETRY): State.REPAIR,
    (State.VALIDATE, Outcome.OK): State.DELIVER,
    (State.VALIDATE, Outcome.FAILING): State.REPAIR,
    (State.VALIDATE, Outcome.UNCOVERED): State.EXTEND_TESTS,
    (State.VALIDATE, Outcome.REOPENED): State.CHECK,
    (State.EXTEND_TESTS, Outcome.OK): State.CHECK,
    (State.EXTEND_TESTS, Outcome.FAILING): State.REPAIR,
    (State.DELIVER, Outcome.OK): State.DONE,
}
"""Where each stage's outcome leads. BUDGET and ERROR lead to FAILED from every state."""


def next_state(state: State, outcome: Outcome) -> State:
    """The state that follows ``state`` when it ends with ``outcome``."""
    if state in TERMINAL:
        raise ValueError(f"{state} is terminal: no transition leaves it")
    if outcome in (Outcome.BUDGET, Outcome.ERROR):
        return State.FAILED
    try:
        return TRANSITIONS[(state, outcome)]
    except KeyError:
        raise ValueError(f"no transition from {state} on {outcome}") from None


def reachable() -> set[State]:
    """Every state reachable from :data:`START` (a sanity check of the table)."""
    seen = {START}
    frontier = [START]
    while frontier:
        s = frontier.pop()
        for (src, _), dst in TRANSITIONS.items():
            if src == s and dst not in seen:
                seen.add(dst)
                frontier.append(dst)
    return seen | {State.FAILED}
