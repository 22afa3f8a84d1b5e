"""Runs in the store: ids, lookup by prefix, listing, statuses, claims and transitions."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from localfactory.store import (
    AmbiguousRunId,
    RunBusy,
    RunNotFound,
    RunStatus,
    RunStore,
    StaleState,
    run_ids,
)

SPEC = {"spec_name": "todo", "spec_path": "specs/todo.md", "spec_sha256": "c" * 64}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    with RunStore(tmp_path / "runs.db") as opened:
        yield opened


def _insert_run(store: RunStore, run_id: str, created_at: float, status: str = "created") -> None:
    """A run with a chosen id and time, to test lookup and ordering without waiting."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO runs (id, spec_name, spec_path, spec_sha256, status, state, created_at,"
            " updated_at, settings, budget) VALUES (?, 'todo', 'todo.md', ?, ?, 'created', ?, ?, '{}', '{}')",
            (run_id, "c" * 64, status, created_at, created_at),
        )


def test_a_new_run_keeps_what_it_was_created_with(store: RunStore) -> None:
    run = store.create_run(
        **SPEC, settings={"llm": {"seed": 7}}, budget={"max_calls": 40}, state="plan"
    )
    again = store.get_run(run.id)
    assert again == run
    assert run.status is RunStatus.CREATED
    assert run.state == "plan"
    assert run.settings == {"llm": {"seed": 7}}
    assert run.budget == {"max_calls": 40}
    assert run.spec_path == "specs/todo.md"
    assert run.finished_at is None and run.error is None
    assert run.created_at.tzinfo is not None


def test_run_ids_are_typable_unique_and_sort_by_creation(store: RunStore) -> None:
    ids = [store.create_run(**SPEC).id for _ in range(30)]
    assert len(set(ids)) == 30
    assert ids == sorted(ids)
    for run_id in ids:
        assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-hjkmnp-tv-z]{5}", run_id)


def test_ids_made_within_one_second_still_sort_by_millisecond() -> None:
    base = 1_800_000_000.0
    ids = [run_ids.new_run_id(base + ms / 1000) for ms in (0, 1, 31, 32, 500, 999)]
    assert ids == sorted(ids)
    assert len({i.rsplit("-", 1)[0] for i in ids}) == 1
    # A clock that steps back, or two runs in one millisecond, still give increasing ids.
    assert run_ids.new_run_id(base - 60, after=ids[-1]) > ids[-1]
    assert run_ids.new_run_id(base + 0.999, after=ids[-1]) > ids[-1]


def test_an_unknown_run_is_a_clear_error(store: RunStore) -> None:
    with pytest.raises(RunNotFound, match="runs list"):
        store.get_run("20990101-000000-zzzzz")


def test_a_unique_prefix_finds_the_run_like_git(store: RunStore) -> None:
    _insert_run(store, "20261121-101500-a1b2c", 1.0)
    _insert_run(store, "20261121-101500-a9xyz", 2.0)
    _insert_run(store, "20261122-090000-k3f9q", 3.0)
    assert store.find_run("20261122").id == "20261122-090000-k3f9q"
    assert store.find_run("20261121-101500-a1").id == "20261121-101500-a1b2c"
    assert store.find_run("  20261121-101500-A9XYZ ").id == "20261121-101500-a9xyz"
    # The start of an id's last part is enough too.
    assert store.find_run("k3f").id == "20261122-090000-k3f9q"
    assert store.find_run("latest").id == "20261122-090000-k3f9q"


def test_an_ambiguous_prefix_names_the_candidates(store: RunStore) -> None:
    _insert_run(store, "20261121-101500-a1b2c", 1.0)
    _insert_run(store, "20261121-101500-a9xyz", 2.0)
    with pytest.raises(AmbiguousRunId) as caught:
        store.find_run("20261121-1015")
    message = str(caught.value)
    assert "matches 2 runs" in message
    assert "20261121-101500-a1b2c" in message and "20261121-101500-a9xyz" in message
    with pytest.raises(AmbiguousRunId):
        store.find_run("a")
    with pytest.raises(RunNotFound):
        store.find_run("2027")
    with pytest.raises(RunNotFound):
        store.find_run("")


def test_listing_is_newest_first_and_filters_by_status_and_spec(store: RunStore) -> None:
    _insert_run(store, "20261121-100000-aaaaa", 100.0, "succeeded")
    _insert_run(store, "20261121-100001-bbbbb", 101.0, "failed")
    _insert_run(store, "20261121-100002-ccccc", 102.0, "running")
    _insert_run(store, "20261121-100003-ddddd", 103.0, "failed")
    other = store.create_run(spec_name="chat", spec_path="chat.md", spec_sha256="d" * 64)

    assert [r.id for r in store.list_runs()] == [
        other.id,
        "20261121-100003-ddddd",
        "20261121-100002-ccccc",
        "20261121-100001-bbbbb",
        "20261121-100000-aaaaa",
    ]
    assert [r.id for r in store.list_runs(status="failed")] == [
        "20261121-100003-ddddd",
        "20261121-100001-bbbbb",
    ]
    assert [r.id for r in store.list_runs(status=[RunStatus.RUNNING, RunStatus.SUCCEEDED])] == [
        "20261121-100002-ccccc",
        "20261121-100000-aaaaa",
    ]
    assert [r.id for r in store.list_runs(spec_name="chat")] == [other.id]
    assert len(store.list_runs(limit=2)) == 2
    with pytest.raises(ValueError):
        store.list_runs(status="bogus")


def test_a_final_status_sets_the_finish_time_and_error(store: RunStore) -> None:
    run = store.create_run(**SPEC)
    running = store.set_status(run.id, RunStatus.RUNNING)
    assert running.finished_at is None
    failed = store.set_status(run.id, "failed", error="budget exhausted")
    assert failed.status is RunStatus.FAILED
    assert failed.error == "budget exhausted"
    assert failed.finished_at is not None and failed.finished_at >= run.created_at
    with pytest.raises(RunNotFound):
        store.set_status("nope", RunStatus.RUNNING)


def test_transitions_are_numbered_and_move_the_run_state(store: RunStore) -> None:
    run = store.create_run(**SPEC)
    first = store.record_transition(run.id, "created", "plan", reason="start", payload={"n": 1})
    second = store.record_transition(run.id, "plan", "write_tests")
    assert (first.seq, second.seq) == (1, 2)
    assert store.get_run(run.id).state == "write_tests"
    assert [(t.from_state, t.to_state) for t in store.transitions(run.id)] == [
        ("created", "plan"),
        ("plan", "write_tests"),
    ]
    assert store.transitions(run.id)[0].payload == {"n": 1}
    assert [t.seq for t in store.transitions(run.id, since=1)] == [2]


def test_a_transition_from_a_state_the_run_left_is_refused(store: RunStore) -> None:
    run = store.create_run(**SPEC)
    store.record_transition(run.id, "created", "plan")
    with pytest.raises(StaleState, match="'plan', not 'created'"):
        store.record_transition(run.id, "created", "plan")
    assert len(store.transitions(run.id)) == 1


def test_a_failed_transaction_leaves_no_trace(store: RunStore) -> None:
    run = store.create_run(**SPEC)
    step = store.begin_step(run.id, "plan")
    with pytest.raises(RuntimeError), store.transaction():
        store.finish_step(run.id, step.seq)
        store.record_transition(run.id, "created", "plan", step_seq=step.seq)
        raise RuntimeError("crash before commit")
    assert store.open_step(run.id) == step
    assert store.transitions(run.id) == []
    assert store.get_run(run.id).state == "created"


def test_a_run_claimed_by_a_live_process_is_refused_and_a_dead_claim_is_taken_over(
    store: RunStore,
) -> None:
    run = store.create_run(**SPEC)
    assert store.claim_run(run.id).owner_pid == os.getpid()
    store.claim_run(run.id)  # claiming again from the same process is fine

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with store.transaction() as conn:
            conn.execute("UPDATE runs SET owner_pid = ? WHERE id = ?", (child.pid, run.id))
        with pytest.raises(RunBusy, match=f"process {child.pid}"):
            store.claim_run(run.id)
    finally:
        child.kill()
        child.wait()
    time.sleep(0.01)
    assert store.claim_run(run.id).owner_pid == os.getpid()
    store.release_run(run.id)
    assert store.get_run(run.id).owner_pid is None
