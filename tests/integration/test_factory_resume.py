"""A factory run killed with SIGKILL at arbitrary moments resumes and completes: no step lost or repeated.

The child process runs the real engine (real sandbox, git, SQLite) on a scripted model;
the parent kills it at seeded random moments, resuming each time, until the run ends.
The resumed run must end exactly like an uninterrupted one: the same transitions, one
step per transition, and the same model answers recorded once each.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localfactory.store import RunStore
from tests.factory_helpers import make_project, settings_for

pytestmark = pytest.mark.integration

CHILD = r"""
import sys
from pathlib import Path
sys.path.insert(0, {repo!r})
from tests.factory_helpers import PLAN, TESTS, WRONG, RIGHT, ScriptedModels, settings_for
from localfactory.factory.engine import Factory
from localfactory.store import RunStore

root = Path({root!r})
settings = settings_for(root)
store = RunStore(settings.store_path())
models = ScriptedModels({{"planner": [PLAN], "test_writer": [TESTS], "coder": lambda n: WRONG if n == 0 else RIGHT}})
def chat(role, messages, **kw):
    # a coder that has already failed once in this run answers right: count from the store
    done = [c for c in store.model_calls(run_id) if c.role == "coder"]
    models.counts["coder"] = len(done)
    with open(root / "calls.log", "a") as fh:
        fh.write(role + "\n")
    return models.chat(role, messages, **kw)
factory = Factory(settings, store, chat=chat, emit=lambda line: None)
run_id = sys.argv[1]
factory.run(run_id)
"""


def _start_run(root: Path) -> str:
    from localfactory.factory.engine import Factory

    settings = settings_for(root)
    store = RunStore(settings.store_path())
    return Factory(settings, store, chat=None, emit=lambda _: None).start(root / "adder.md").id


def test_killed_runs_resume_to_the_same_end(tmp_path: Path) -> None:
    repo = str(Path(__file__).resolve().parents[2])
    clean_root, killed_root = tmp_path / "clean", tmp_path / "killed"
    for root in (clean_root, killed_root):
        make_project(root)
        (root / "child.py").write_text(CHILD.format(repo=repo, root=str(root)))

    def child(root: Path, run_id: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, str(root / "child.py"), run_id], cwd=root, start_new_session=True
        )

    clean_id = _start_run(clean_root)
    began = time.monotonic()
    assert child(clean_root, clean_id).wait(timeout=300) == 0
    whole = time.monotonic() - began  # kill times are fractions of this, so any machine speed works

    killed_id = _start_run(killed_root)
    rng = random.Random(20261121)
    killed_in: list[str] = []
    store = RunStore(settings_for(killed_root).store_path())
    for _ in range(4):
        proc = child(killed_root, killed_id)
        try:
            proc.wait(timeout=rng.uniform(0.15, 0.5) * whole)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            killed_in.append(store.get_run(killed_id).state)
    assert child(killed_root, killed_id).wait(timeout=300) == 0
    assert len(killed_in) >= 2, (
        f"the run should have been killed a few times on the way ({killed_in})"
    )

    clean = RunStore(settings_for(clean_root).store_path())
    killed = RunStore(settings_for(killed_root).store_path())
    assert killed.integrity_problems() == []
    assert killed.get_run(killed_id).status.value == "succeeded"
    want = [(t.from_state, t.to_state) for t in clean.transitions(clean_id)]
    got = [(t.from_state, t.to_state) for t in killed.transitions(killed_id)]
    assert got == want
    # one finished step per transition, numbered without gaps or repeats
    steps = killed.steps(killed_id)
    assert (
        [s.seq for s in steps]
        == list(range(1, len(steps) + 1))
        == [t.step_seq for t in killed.transitions(killed_id)]
    )
    assert all(s.status.value == "finished" for s in steps)
    # the same answers, each recorded once
    assert [(c.step_seq, c.nth, c.role) for c in killed.model_calls(killed_id)] == [
        (c.step_seq, c.nth, c.role) for c in clean.model_calls(clean_id)
    ]
    assert "return a + b" in (killed_root / "build" / "adder" / "adder.py").read_text()
