"""A factory process killed with SIGKILL at any moment leaves a consistent, resumable store.

A child process (the script below, using only the public store API) runs iterations of
"begin step → record model call → put artifact → finish step + record transition", the
way the factory loop does. It is killed at chosen points (inside the step, and inside the
transaction that closes it) and at random moments, the store is checked after every kill,
and the next child resumes where the last one stopped.
"""

from __future__ import annotations

import hashlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localfactory.store import RunStatus, RunStore, StepStatus

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TOTAL = 600
SEED = 20261121

CHILD = r"""
import os, signal, sys
from localfactory.store import RunStore

path, run_id, total, die_at = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
store = RunStore(path)
store.claim_run(run_id)
step = store.open_step(run_id)
if step is not None:
    i = step.input["i"]  # interrupted inside this step: continue it
else:
    last = store.last_step(run_id)
    i = 0 if last is None else last.input["i"] + 1
print("ready", i, flush=True)


def crash_point(name):
    if die_at == f"{i}:{name}":
        os.kill(os.getpid(), signal.SIGKILL)


while i < total:
    if step is None:
        step = store.begin_step(run_id, "iteration", input={"i": i})
    crash_point("begun")
    if store.model_call(run_id, step.seq, 1) is None:  # recorded before the kill: reuse it
        store.record_model_call(
            run_id, step.seq, role="coder", backend="scripted", model="fake",
            request={"messages": [{"role": "user", "content": f"iteration {i}"}]},
            response_text=f"answer {i}", generated_tokens=i,
        )
    crash_point("called")
    # 14 bytes to ~56 KB, so some writes span many pages
    content = (f"iteration {i}\n" * (1 + (i * 7919) % 4000)).encode()
    stored = store.put_artifact(run_id, f"out/{i}.txt", content, step_seq=step.seq)
    crash_point("stored")
    store.log(run_id, f"iteration {i} done", step_seq=step.seq)
    with store.transaction():
        store.finish_step(run_id, step.seq, output={"i": i, "sha256": stored.sha256})
        crash_point("finishing")
        store.record_transition(run_id, f"s{i}", f"s{i + 1}", step_seq=step.seq)
    step = None
    i += 1
store.set_status(run_id, "succeeded")
store.release_run(run_id)
print("done", flush=True)
"""


def _child(path: Path, script: Path, run_id: str, die_at: str = "-") -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(script), str(path), run_id, str(TOTAL), die_at],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _check(path: Path, run_id: str) -> int:
    """Assert the store is consistent; returns how many iterations are finished."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()
    with RunStore(path) as store:
        steps = store.steps(run_id)
        assert [s.seq for s in steps] == list(range(1, len(steps) + 1))
        still_open = [s for s in steps if s.status is StepStatus.STARTED]
        assert len(still_open) <= 1
        assert still_open in ([], steps[-1:])  # only the last step can be open
        finished = [s for s in steps if s.status is StepStatus.FINISHED]
        assert len(finished) + len(still_open) == len(steps)  # no step failed or got lost
        assert [s.input["i"] for s in finished] == list(range(len(finished)))
        for s in finished:
            i = s.input["i"]
            calls = store.model_calls(run_id, s.seq)
            assert [c.response_text for c in calls] == [f"answer {i}"]
            (artifact,) = store.list_artifacts(run_id, step_seq=s.seq)
            assert artifact.name == f"out/{i}.txt"
            assert artifact.sha256 == s.output["sha256"]
        calls = store.model_calls(run_id)
        assert [c.seq for c in calls] == list(range(1, len(calls) + 1))
        assert len(calls) - len(finished) in (0, 1)
        transitions = store.transitions(run_id)
        assert [t.seq for t in transitions] == list(range(1, len(finished) + 1))
        assert [t.step_seq for t in transitions] == [s.seq for s in finished]
        assert [(t.from_state, t.to_state) for t in transitions] == [
            (f"s{k}", f"s{k + 1}") for k in range(len(finished))
        ]
        assert store.get_run(run_id).state == f"s{len(finished)}"
        return len(finished)


def test_sigkill_at_any_moment_leaves_a_consistent_store_that_resumes(tmp_path: Path) -> None:
    started = time.monotonic()
    path = tmp_path / "runs.db"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    with RunStore(path) as store:
        run_id = store.create_run(
            spec_name="crash", spec_path="crash.md", spec_sha256="0" * 64, state="s0"
        ).id

    # Kills at chosen points: after begin, after the model call, after the artifact, and
    # inside the transaction that finishes the step (which must roll back entirely).
    for die_at, done_after in (
        ("3:begun", 3),
        ("5:called", 5),
        ("8:stored", 8),
        ("11:finishing", 11),
    ):
        child = _child(path, script, run_id, die_at)
        child.communicate(timeout=30)
        assert child.returncode == -signal.SIGKILL
        assert _check(path, run_id) == done_after
        with RunStore(path) as store:
            open_step = store.open_step(run_id)
            assert open_step is not None and open_step.input == {"i": done_after}

    # Kills at random moments, each after the child has opened the store.
    rng = random.Random(SEED)
    progress = 11
    for _ in range(8):
        child = _child(path, script, run_id)
        assert child.stdout is not None
        assert child.stdout.readline().startswith("ready")
        time.sleep(rng.uniform(0.0, 0.3))
        assert child.poll() is None, "the child finished before it could be killed"
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
        now_done = _check(path, run_id)
        assert now_done >= progress  # nothing finished is ever lost
        progress = now_done

    child = _child(path, script, run_id)
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0, out
    assert out.splitlines()[-1] == "done"
    assert _check(path, run_id) == TOTAL
    with RunStore(path) as store:
        run = store.get_run(run_id)
        assert run.status is RunStatus.SUCCEEDED and run.owner_pid is None
        assert len(store.steps(run_id)) == TOTAL  # every iteration exactly once
        for i in (0, 11, TOTAL - 1):
            artifact = store.get_artifact(run_id, f"out/{i}.txt")
            assert artifact is not None
            assert hashlib.sha256(artifact.content).hexdigest() == artifact.info.sha256
            assert set(artifact.text().splitlines()) == {f"iteration {i}"}
    assert time.monotonic() - started < 60
