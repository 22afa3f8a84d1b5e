"""Steps, model calls, artifacts and log lines of a run."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from localfactory.store import LogLevel, RunStore, StepError, StepStatus, request_digest


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    with RunStore(tmp_path / "runs.db") as opened:
        yield opened


@pytest.fixture
def run_id(store: RunStore) -> str:
    return store.create_run(spec_name="todo", spec_path="todo.md", spec_sha256="e" * 64).id


def _call(store: RunStore, run_id: str, step_seq: int, text: str, **extra: object) -> None:
    request = {"messages": [{"role": "user", "content": text}], "options": {"temperature": 0}}
    store.record_model_call(
        run_id, step_seq, role="coder", backend="embedded", model="qwen2.5-coder-0.5b",
        request=request, response_text=f"reply to {text}", **extra,  # type: ignore[arg-type]
    )  # fmt: skip


def test_steps_open_and_close_one_at_a_time(store: RunStore, run_id: str) -> None:
    plan = store.begin_step(run_id, "plan", input={"spec": "todo"})
    assert (plan.seq, plan.attempt, plan.status) == (1, 1, StepStatus.STARTED)
    assert store.open_step(run_id) == plan
    with pytest.raises(StepError, match="still open"):
        store.begin_step(run_id, "code")
    done = store.finish_step(run_id, plan.seq, output={"tasks": 3})
    assert done.status is StepStatus.FINISHED and done.output == {"tasks": 3}
    assert done.finished_at is not None
    assert store.open_step(run_id) is None
    with pytest.raises(StepError, match="already finished"):
        store.fail_step(run_id, plan.seq, "late")

    code = store.begin_step(run_id, "code")
    failed = store.fail_step(run_id, code.seq, "tests failed", output={"failures": 2})
    assert (failed.status, failed.error) == (StepStatus.FAILED, "tests failed")
    retry = store.begin_step(run_id, "code")
    assert (retry.seq, retry.attempt) == (3, 2)
    assert store.last_step(run_id) == retry
    assert [s.name for s in store.steps(run_id)] == ["plan", "code", "code"]
    assert [s.seq for s in store.steps(run_id, since=1)] == [2, 3]


def test_model_calls_are_numbered_per_run_and_per_step(store: RunStore, run_id: str) -> None:
    first = store.begin_step(run_id, "plan")
    _call(store, run_id, first.seq, "a")
    _call(store, run_id, first.seq, "b")
    store.finish_step(run_id, first.seq)
    second = store.begin_step(run_id, "code")
    _call(store, run_id, second.seq, "c", prompt_tokens=120, cached_tokens=100,
          generated_tokens=40, ttft_s=0.5, total_s=2.5)  # fmt: skip

    calls = store.model_calls(run_id)
    assert [(c.seq, c.step_seq, c.nth) for c in calls] == [(1, 1, 1), (2, 1, 2), (3, 2, 1)]
    assert [c.response_text for c in store.model_calls(run_id, first.seq)] == [
        "reply to a",
        "reply to b",
    ]
    found = store.model_call(run_id, first.seq, 2)
    assert found is not None and found.request["messages"][0]["content"] == "b"
    assert found.request_sha256 == request_digest(found.request)
    assert store.model_call(run_id, first.seq, 3) is None
    last = calls[-1]
    assert last.tokens_per_s == pytest.approx(20.0)  # 40 tokens in the 2 s after the first one
    assert (last.prompt_tokens, last.cached_tokens, last.generated_tokens) == (120, 100, 40)
    assert calls[0].cached_tokens is None  # the backend could not tell


def test_a_failed_call_keeps_its_error_fallback_and_details(store: RunStore, run_id: str) -> None:
    step = store.begin_step(run_id, "plan")
    _call(store, run_id, step.seq, "a", error="connection refused", finish_reason=None,
          fallback_reason="ollama at 127.0.0.1:11434 unreachable",
          details={"load_duration_ns": 12})  # fmt: skip
    (call,) = store.model_calls(run_id, step.seq)
    assert call.error == "connection refused"
    assert call.fallback_reason == "ollama at 127.0.0.1:11434 unreachable"
    assert call.details == {"load_duration_ns": 12}
    assert call.tokens_per_s is None


def test_request_digest_ignores_key_order_but_not_content() -> None:
    a = {"messages": [{"role": "user", "content": "hi"}], "options": {"seed": 0, "top_k": 1}}
    b = {"options": {"top_k": 1, "seed": 0}, "messages": [{"content": "hi", "role": "user"}]}
    assert request_digest(a) == request_digest(b)
    assert request_digest(a) != request_digest({**a, "options": {"seed": 1, "top_k": 1}})


def test_a_model_call_needs_an_open_step(store: RunStore, run_id: str) -> None:
    step = store.begin_step(run_id, "plan")
    store.finish_step(run_id, step.seq)
    with pytest.raises(StepError, match="only be recorded for an open step"):
        _call(store, run_id, step.seq, "late")
    with pytest.raises(StepError, match="no step 9"):
        _call(store, run_id, 9, "nowhere")
    assert store.model_calls(run_id) == []


def test_usage_adds_up_calls_per_role(store: RunStore, run_id: str) -> None:
    step = store.begin_step(run_id, "code")
    _call(store, run_id, step.seq, "a", prompt_tokens=10, generated_tokens=5, total_s=1.0)
    _call(store, run_id, step.seq, "b", prompt_tokens=20, generated_tokens=7, total_s=2.0,
          error="timed out", fallback_reason="ollama unreachable")  # fmt: skip
    (coder,) = store.usage(run_id)
    assert (coder.role, coder.calls, coder.failed_calls) == ("coder", 2, 1)
    assert (coder.prompt_tokens, coder.generated_tokens) == (30, 12)
    assert coder.model_seconds == pytest.approx(3.0)


def test_same_content_is_stored_once(store: RunStore, run_id: str) -> None:
    step = store.begin_step(run_id, "code")
    a = store.put_artifact(run_id, "src/a.py", "print('hi')\n", step_seq=step.seq)
    b = store.put_artifact(run_id, "src/b.py", b"print('hi')\n", step_seq=step.seq)
    assert a.sha256 == b.sha256 and a.size == 12
    blobs = store._rows("SELECT count(*) FROM blobs")[0][0]
    assert blobs == 1
    assert store.read_blob(a.sha256) == b"print('hi')\n"


def test_an_artifact_written_again_by_its_step_is_replaced(store: RunStore, run_id: str) -> None:
    first = store.begin_step(run_id, "code")
    store.put_artifact(run_id, "app.py", "v1", step_seq=first.seq)
    store.put_artifact(run_id, "app.py", "v1 again", step_seq=first.seq)
    store.finish_step(run_id, first.seq)
    second = store.begin_step(run_id, "code")
    store.put_artifact(run_id, "app.py", "v2", step_seq=second.seq)
    store.put_artifact(run_id, "plan.json", "{}", kind="plan")

    latest = store.get_artifact(run_id, "app.py")
    assert latest is not None and latest.text() == "v2"
    older = store.get_artifact(run_id, "app.py", step_seq=first.seq)
    assert older is not None and older.text() == "v1 again"
    assert store.get_artifact(run_id, "app.py", kind="plan") is None
    assert store.get_artifact(run_id, "missing.py") is None
    listed = [(a.step_seq, a.kind, a.name) for a in store.list_artifacts(run_id)]
    assert listed == [(1, "file", "app.py"), (2, "file", "app.py"), (None, "plan", "plan.json")]
    assert [a.name for a in store.list_artifacts(run_id, step_seq=first.seq)] == ["app.py"]
    assert [a.name for a in store.list_artifacts(run_id, kind="plan")] == ["plan.json"]


def test_the_log_cursor_returns_only_newer_lines(store: RunStore, run_id: str) -> None:
    other = store.create_run(spec_name="x", spec_path="x.md", spec_sha256="f" * 64).id
    store.log(run_id, "planning")
    store.log(other, "someone else's line")
    store.log(run_id, "3 tasks", level=LogLevel.DEBUG)
    seen = store.read_log(run_id)
    assert [line.message for line in seen] == ["planning", "3 tasks"]
    assert seen[1].level is LogLevel.DEBUG
    assert store.read_log(run_id, since=seen[-1].cursor) == []
    store.log(run_id, "tests written", level="warning")
    newer = store.read_log(run_id, since=seen[-1].cursor)
    assert [line.message for line in newer] == ["tests written"]
    assert [line.message for line in store.read_log(run_id, limit=1)] == ["planning"]
    with pytest.raises(ValueError):
        store.log(run_id, "x", level="loud")


def test_a_reader_thread_follows_the_log_while_the_writer_writes(
    store: RunStore, run_id: str
) -> None:
    count = 200
    received: list[str] = []
    done = threading.Event()

    def follow() -> None:
        cursor = 0
        while len(received) < count:
            for line in store.read_log(run_id, since=cursor):
                received.append(line.message)
                cursor = line.cursor
            if done.is_set() and not store.read_log(run_id, since=cursor):
                break

    reader = threading.Thread(target=follow)
    reader.start()
    for i in range(count):
        store.log(run_id, f"line {i}")
    done.set()
    reader.join(timeout=30)
    assert not reader.is_alive()
    assert received == [f"line {i}" for i in range(count)]
