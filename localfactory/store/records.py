"""What the run store hands out: frozen records, never raw rows.

Times are timezone-aware UTC datetimes; JSON columns come back as plain Python values.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

_R = TypeVar("_R")


class RunStatus(StrEnum):
    """Where a run is in its life (its *state* is where the factory loop is)."""

    CREATED = "created"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED)


class StepStatus(StrEnum):
    STARTED = "started"
    FINISHED = "finished"
    FAILED = "failed"


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


def when(seconds: float | None) -> datetime | None:
    """A stored time (seconds since the epoch) as an aware UTC datetime."""
    return None if seconds is None else datetime.fromtimestamp(seconds, tz=UTC)


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def _json(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _build(cls: type[_R], row: sqlite3.Row, **converted: Any) -> _R:
    """A record from a row: fields named like columns are copied, ``converted`` ones given."""
    plain = {f.name: row[f.name] for f in fields(cls) if f.name not in converted}  # type: ignore[arg-type]
    return cls(**plain, **converted)


@dataclass(frozen=True, slots=True)
class Run:
    id: str
    spec_name: str
    spec_path: str
    spec_sha256: str
    status: RunStatus
    state: str
    """The factory loop's current state: the ``to_state`` of the last transition."""
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    settings: Any
    budget: Any
    error: str | None
    replay_of: str | None
    """The run this one replays, if it is a replay."""
    owner_pid: int | None
    """The process working on the run (see ``claim_run``), or None."""
    owner_host: str | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Run:
        return _build(
            cls, row, status=RunStatus(row["status"]), created_at=_at(row["created_at"]),
            updated_at=_at(row["updated_at"]), finished_at=when(row["finished_at"]),
            settings=_json(row["settings"]), budget=_json(row["budget"]),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Transition:
    run_id: str
    seq: int
    from_state: str
    to_state: str
    reason: str
    payload: Any
    step_seq: int | None
    at: datetime

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Transition:
        return _build(cls, row, payload=_json(row["payload"]), at=_at(row["at"]))


@dataclass(frozen=True, slots=True)
class Step:
    run_id: str
    seq: int
    name: str
    attempt: int
    """1 for the first step of this name in the run, 2 for the next, and so on (unless given)."""
    status: StepStatus
    input: Any
    output: Any
    error: str | None
    started_at: datetime
    finished_at: datetime | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Step:
        return _build(
            cls, row, status=StepStatus(row["status"]), input=_json(row["input"]),
            output=_json(row["output"]), started_at=_at(row["started_at"]),
            finished_at=when(row["finished_at"]),
        )  # fmt: skip


@dataclass(frozen=True, slots=True)
class ModelCall:
    run_id: str
    seq: int
    """Position among all model calls of the run, from 1."""
    step_seq: int
    nth: int
    """Position among the model calls of its step, from 1: replay asks for "call ``nth`` of step ``step_seq``"."""
    role: str
    backend: str
    model: str
    request: Any
    """What was sent: messages, options, schema."""
    request_sha256: str
    """sha256 of the request as canonical JSON, so replay can tell when a run diverges."""
    response_text: str | None
    finish_reason: str | None
    prompt_tokens: int
    cached_tokens: int | None
    """Prompt tokens served from a kept KV cache; None when the backend cannot tell."""
    generated_tokens: int
    ttft_s: float | None
    total_s: float | None
    tokens_per_s: float | None
    fallback_reason: str | None
    error: str | None
    details: Any
    """Backend-specific figures (JSON), e.g. Ollama's own durations."""
    at: datetime

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ModelCall:
        return _build(
            cls,
            row,
            request=_json(row["request"]),
            details=_json(row["details"]),
            at=_at(row["at"]),
        )


@dataclass(frozen=True, slots=True)
class ArtifactInfo:
    """An artifact without its content (cheap to list)."""

    run_id: str
    step_seq: int | None
    kind: str
    name: str
    sha256: str
    size: int
    at: datetime

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> ArtifactInfo:
        return _build(cls, row, at=_at(row["at"]))


@dataclass(frozen=True, slots=True)
class Artifact:
    """An artifact with its content."""

    info: ArtifactInfo
    content: bytes

    def text(self) -> str:
        return self.content.decode("utf-8")


@dataclass(frozen=True, slots=True)
class LogLine:
    cursor: int
    """Pass the last line's cursor as ``since`` to read only newer lines."""
    run_id: str
    step_seq: int | None
    level: LogLevel
    message: str
    at: datetime

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> LogLine:
        return _build(cls, row, cursor=row["id"], level=LogLevel(row["level"]), at=_at(row["at"]))


@dataclass(frozen=True, slots=True)
class RoleUsage:
    """Model use of one role in a run, for reports."""

    role: str
    calls: int
    failed_calls: int
    prompt_tokens: int
    cached_tokens: int
    generated_tokens: int
    model_seconds: float
