"""Model calls: every request and response of a run, in order, so a run can be replayed."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from localfactory.store.database import digest, fetch_one, insert, next_seq, to_json
from localfactory.store.errors import StepError
from localfactory.store.records import ModelCall, RoleUsage, StepStatus
from localfactory.store.steps import StepsMixin


class CallsMixin(StepsMixin):
    def record_model_call(
        self,
        run_id: str,
        step_seq: int,
        *,
        role: str,
        backend: str,
        model: str,
        request: Mapping[str, Any] | Any,
        response_text: str | None,
        finish_reason: str | None = None,
        prompt_tokens: int = 0,
        cached_tokens: int | None = None,
        generated_tokens: int = 0,
        ttft_s: float | None = None,
        total_s: float | None = None,
        tokens_per_s: float | None = None,
        fallback_reason: str | None = None,
        error: str | None = None,
        details: Any = None,
    ) -> ModelCall:
        """Record one model call of the open step ``step_seq``; it becomes that step's next ``nth``.

        ``request`` is what was sent (messages, options, schema) as JSON-able data. When
        ``tokens_per_s`` is not given it is worked out from the generated tokens and the time
        after the first token.
        """
        if tokens_per_s is None and generated_tokens and total_s:
            decode_s = total_s - (ttft_s or 0.0)
            tokens_per_s = generated_tokens / decode_s if decode_s > 0 else None
        now = time.time()
        with self.transaction() as conn:
            step = self.get_step(run_id, step_seq)
            if step.status is not StepStatus.STARTED:
                raise StepError(
                    f"Step {step_seq} ({step.name}) of run {run_id} is {step.status.value}; "
                    "a model call can only be recorded for an open step."
                )
            nth = conn.execute(
                "SELECT count(*) + 1 FROM model_calls WHERE run_id = ? AND step_seq = ?",
                (run_id, step_seq),
            ).fetchone()[0]
            seq = next_seq(conn, "model_calls", run_id)
            insert(conn, "model_calls", {
                "run_id": run_id, "seq": seq, "step_seq": step_seq, "nth": nth,
                "role": role, "backend": backend, "model": model,
                "request": to_json(request), "request_sha256": digest(request),
                "response_text": response_text, "finish_reason": finish_reason,
                "prompt_tokens": prompt_tokens, "cached_tokens": cached_tokens,
                "generated_tokens": generated_tokens, "ttft_s": ttft_s, "total_s": total_s,
                "tokens_per_s": tokens_per_s, "fallback_reason": fallback_reason,
                "error": error, "details": to_json(details), "at": now,
            })  # fmt: skip
            row = fetch_one(
                conn, "SELECT * FROM model_calls WHERE run_id = ? AND seq = ?", (run_id, seq)
            )
        return ModelCall.from_row(row)

    def model_calls(self, run_id: str, step_seq: int | None = None) -> list[ModelCall]:
        """The run's model calls in the order they were made (only one step's, if given)."""
        if step_seq is None:
            rows = self._rows("SELECT * FROM model_calls WHERE run_id = ? ORDER BY seq", (run_id,))
        else:
            rows = self._rows(
                "SELECT * FROM model_calls WHERE run_id = ? AND step_seq = ? ORDER BY nth",
                (run_id, step_seq),
            )
        return [ModelCall.from_row(r) for r in rows]

    def model_call(self, run_id: str, step_seq: int, nth: int) -> ModelCall | None:
        """Call ``nth`` (from 1) of step ``step_seq``, or None if the step made fewer calls."""
        row = self._row(
            "SELECT * FROM model_calls WHERE run_id = ? AND step_seq = ? AND nth = ?",
            (run_id, step_seq, nth),
        )
        return None if row is None else ModelCall.from_row(row)

    def answered_before(
        self, run_id: str, request_sha256: str, *, step_seq: int, nth: int
    ) -> ModelCall | None:
        """The run's first call with this very request that got an answer, among the calls
        before call ``nth`` of step ``step_seq``; None if there is none."""
        row = self._row(
            "SELECT * FROM model_calls WHERE run_id = ? AND request_sha256 = ?"
            " AND error IS NULL AND response_text IS NOT NULL"
            " AND (step_seq < ? OR (step_seq = ? AND nth < ?)) ORDER BY seq LIMIT 1",
            (run_id, request_sha256, step_seq, step_seq, nth),
        )
        return None if row is None else ModelCall.from_row(row)

    def usage(self, run_id: str) -> list[RoleUsage]:
        """Model use of the run per role (calls, tokens, seconds), roles in alphabetical order."""
        rows = self._rows(
            "SELECT role, count(*) AS calls, count(error) AS failed_calls,"
            " sum(prompt_tokens) AS prompt_tokens, ifnull(sum(cached_tokens), 0) AS cached_tokens,"
            " sum(generated_tokens) AS generated_tokens, ifnull(sum(total_s), 0.0) AS model_seconds"
            " FROM model_calls WHERE run_id = ? GROUP BY role ORDER BY role",
            (run_id,),
        )
        return [RoleUsage(**dict(r)) for r in rows]
