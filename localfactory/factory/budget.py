"""Budgets: a run stops with a clear reason when it runs out of iterations, tokens or time.

Iterations count the rounds that write code (implement and repair; not a repair that kept the
code as it was and sent the tests to be questioned, nor an answer that could not be used and
was asked for again: those wrote nothing, and the stage's retry limit bounds them). Time is the time the
factory spent working on the run, summed over its steps, so a run resumed the next morning
is not charged for the night.
"""

from __future__ import annotations

from localfactory.spec import Budget
from localfactory.store import RunStore

WRITING_STAGES = ("implement", "repair")
WROTE_NOTHING = ("stuck", "retry", "budget", "error")
"""Outcomes of a writing stage that left the code as it was: a repair that gave back the same
code (the tests are questioned), an answer that could not be used (asked for again), a step
that never ran (a budget or the retry limit ended the run) or failed on an error."""


def is_iteration(stage: str, outcome: str | None) -> bool:
    """Whether a step of ``stage`` that ended with ``outcome`` was a code-writing round."""
    return stage in WRITING_STAGES and outcome not in WROTE_NOTHING


def iterations_used(store: RunStore, run_id: str) -> int:
    """Code-writing rounds so far (see :func:`is_iteration`)."""
    return sum(
        1 for s in store.steps(run_id) if is_iteration(s.name, (s.output or {}).get("outcome"))
    )


def tokens_used(store: RunStore, run_id: str) -> int:
    return sum(u.prompt_tokens + u.generated_tokens for u in store.usage(run_id))


def seconds_used(store: RunStore, run_id: str, *, current_step_s: float = 0.0) -> float:
    """Working time: each finished step's own ``work_s`` (time while a process worked on it),
    plus ``current_step_s`` for the step in progress. Time while no process ran (killed,
    waiting to be resumed) is not charged."""
    total = current_step_s
    for step in store.steps(run_id):
        out = step.output or {}
        if "work_s" in out:
            total += float(out["work_s"])
        elif step.finished_at is not None:
            total += max(0.0, (step.finished_at - step.started_at).total_seconds())
    return total


def exhausted(store: RunStore, run_id: str, budget: Budget, *, next_stage: str) -> str | None:
    """Why the run must stop before ``next_stage``, or None when it may go on."""
    if next_stage in WRITING_STAGES:
        used = iterations_used(store, run_id)
        if used >= budget.iterations:
            return f"the iteration budget ran out ({used} of {budget.iterations} code-writing rounds used)"
    return spent(store, run_id, budget)


def spent(
    store: RunStore, run_id: str, budget: Budget, *, current_step_s: float = 0.0
) -> str | None:
    """Why the run has no tokens or time left (counting ``current_step_s`` of the step in
    progress), or None: a step asking for more than one answer checks it between answers."""
    tokens = tokens_used(store, run_id)
    if tokens >= budget.tokens:
        return f"the token budget ran out ({tokens:,} of {budget.tokens:,} tokens used)"
    seconds = seconds_used(store, run_id, current_step_s=current_step_s)
    if seconds >= budget.wall_time:
        return f"the time budget ran out ({seconds:.0f} s of {budget.wall_time} s used)"
    return None
