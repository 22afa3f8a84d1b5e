"""Several processes share one run store: writers wait for each other, a reader follows along."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from localfactory.store import RunStore, StepStatus

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
LINES = 150

WRITER = r"""
import sys
from localfactory.store import RunStore

store = RunStore(sys.argv[1], busy_timeout_s=30)
run_id, lines = sys.argv[2], int(sys.argv[3])
for i in range(lines):
    with store.transaction():
        step = store.begin_step(run_id, "work", input={"i": i})
        store.log(run_id, f"{run_id} line {i}", step_seq=step.seq)
        store.finish_step(run_id, step.seq)
"""


def test_two_writer_processes_and_a_following_reader(tmp_path: Path) -> None:
    path = tmp_path / "runs.db"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    with RunStore(path) as store:
        runs = [
            store.create_run(spec_name=f"spec{k}", spec_path="s.md", spec_sha256="1" * 64).id
            for k in range(2)
        ]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        writers = [
            subprocess.Popen([sys.executable, str(script), str(path), run_id, str(LINES)], env=env)
            for run_id in runs
        ]
        followed: list[str] = []
        cursor = 0
        deadline = time.monotonic() + 60
        while len(followed) < LINES and time.monotonic() < deadline:
            for line in store.read_log(runs[0], since=cursor):
                followed.append(line.message)
                cursor = line.cursor
            time.sleep(0.005)
        for writer in writers:
            assert writer.wait(timeout=60) == 0
        # The reader saw the first run's lines live, in order, each once.
        assert followed == [f"{runs[0]} line {i}" for i in range(LINES)]
        for run_id in runs:
            steps = store.steps(run_id)
            assert [s.input["i"] for s in steps] == list(range(LINES))
            assert all(s.status is StepStatus.FINISHED for s in steps)
        assert store.integrity_problems() == []
