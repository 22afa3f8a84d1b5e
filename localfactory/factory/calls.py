"""The factory's one way to reach a model: every call recorded, recorded calls reused.

:class:`ModelGateway` sits between the stages and the router. Each call of a step gets a
number (1, 2, ...). Before asking a model it looks in the run store for that call:

- when a killed run resumes, the interrupted step runs again and gets its earlier answers
  from the store, so no model call is made twice;
- when a run is replayed, every answer comes from the original run and no model is called
  at all (a missing answer is an error, never a silent live call).

It also enforces the holdout: a prompt from a generating role that contains scenario text
is refused before it reaches a model (:class:`HoldoutLeak`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from localfactory.errors import UserError
from localfactory.llm.call import ChatResult, Message
from localfactory.store import RunStore, request_digest

GENERATING_ROLES = frozenset({"planner", "test_writer", "coder"})

ChatFn = Callable[..., ChatResult]
"""``chat(role, messages, *, json_schema=None, options=None) -> ChatResult`` (the router's signature)."""


AGAIN_TEMPERATURE = 0.7
"""How a generating role's repeated greedy request is sampled instead (see ``_not_again``)."""


class HoldoutLeak(UserError):
    """Scenario content was about to enter a generating role's prompt."""


class ReplayMissing(UserError):
    """A replayed run asked for a model answer the original run does not have."""


@dataclass(frozen=True)
class Answer:
    text: str
    prompt_tokens: int
    generated_tokens: int
    reused: bool
    """True when the answer came from the store (resume or replay), not a model."""
    runaway: str = ""
    """Why the answer was ended early as a loop (see :mod:`localfactory.llm.runaway`), if it was."""


class ModelGateway:
    def __init__(
        self,
        store: RunStore,
        run_id: str,
        chat: ChatFn | None,
        *,
        replay_of: str | None = None,
        holdout_fragments: Sequence[str] = (),
        allowed_text: str = "",
        greedy_by_default: bool = True,
    ) -> None:
        if chat is None and replay_of is None:
            raise ValueError("a gateway needs a model or a run to replay")
        self.store = store
        self.run_id = run_id
        self._chat = chat
        self.replay_of = replay_of
        # A fragment the spec itself states (a person wrote the same example there) is no leak.
        self._fragments = [
            f for f in holdout_fragments if len(f.strip()) >= 12 and f not in allowed_text
        ]
        self._produced: list[str] = []
        """What models answered in this run: text they wrote themselves is no leak either."""
        self._step: int | None = None
        self._nth = 0
        self._greedy_by_default = greedy_by_default
        """Whether a call that names no temperature decodes greedily (``llm.temperature`` 0)."""

    def at_step(self, step_seq: int, calls_made_before: int = 0) -> None:
        """Number the calls of ``step_seq`` from the start (or after ``calls_made_before``)."""
        self._step = step_seq
        self._nth = calls_made_before

    def check_holdout(self, role: str, messages: Sequence[Message]) -> None:
        if role not in GENERATING_ROLES:
            return
        for message in messages:
            for fragment in self._fragments:
                if fragment in message.content and not any(fragment in p for p in self._produced):
                    raise HoldoutLeak(
                        f"A {role} prompt contains holdout scenario text ({fragment[:40]!r}...); "
                        "the call was refused.",
                        hint="Scenario content must never reach a generating role: this is a bug in the stage that built the prompt.",
                    )

    def chat(
        self,
        role: str,
        messages: Sequence[Message],
        *,
        json_schema: dict[str, Any] | None = None,
        options: dict[str, Any] | None = None,
    ) -> Answer:
        if self._step is None:
            raise RuntimeError("ModelGateway.chat called outside a step")
        self.check_holdout(role, messages)
        self._nth += 1
        request: dict[str, Any] = {
            "role": role,
            "messages": [m.model_dump() for m in messages],
            "options": options or {},
            "json_schema": json_schema,
        }
        request, again = self._not_again(request)
        options = request["options"]
        source_run = self.replay_of or self.run_id
        recorded = self.store.model_call(source_run, self._step, self._nth)
        if recorded is not None and recorded.error is None:
            if self.replay_of is not None:
                self._copy(recorded, request)
            self._produced.append(recorded.response_text or "")
            return Answer(
                recorded.response_text or "",
                recorded.prompt_tokens,
                recorded.generated_tokens,
                True,
                str((recorded.details or {}).get("runaway", "")),
            )
        if self.replay_of is not None:
            raise ReplayMissing(
                f"Run {self.replay_of} has no answer for call {self._nth} of step {self._step}: "
                "the replay went a different way than the original run.",
                hint="A replay needs the same spec and the same tests results; check `localfactory runs show`.",
            )
        assert self._chat is not None
        if again:
            self.store.log(self.run_id, again, step_seq=self._step)
        result = self._chat(role, messages, json_schema=json_schema, options=options)
        self._record(request, result.role, result.backend, result.model, result.text, result.finish_reason,
                     result.prompt_tokens, result.cached_tokens, result.generated_tokens,
                     ttft_s=result.time_to_first_token_s, total_s=result.total_s, tokens_per_s=result.tokens_per_s,
                     fallback_reason=result.fallback_reason, details=result.details)  # fmt: skip
        self._produced.append(result.text)
        runaway = str(result.details.get("runaway", ""))
        return Answer(result.text, result.prompt_tokens, result.generated_tokens, False, runaway)

    def _not_again(self, request: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """``request``, sampled instead of greedy when this run already asked a generating
        role exactly this greedily, and a line for the log saying so (empty otherwise):
        greedy decoding would give the same answer again (a repair after the test writer stood
        by its tests asks what the repair before it asked; on a small machine that is minutes
        for nothing new). Decided from the calls before this one, so a resumed or replayed
        run varies the same calls the same way."""
        assert self._step is not None
        temperature = request["options"].get("temperature")
        greedy = temperature == 0 or (temperature is None and self._greedy_by_default)
        if request["role"] not in GENERATING_ROLES or not greedy:
            return request, ""
        same = self.store.answered_before(
            self.run_id, request_digest(request), step_seq=self._step, nth=self._nth
        )
        if same is None:
            return request, ""
        seed = 7919 * self._step + self._nth
        varied = {**request["options"], "temperature": AGAIN_TEMPERATURE, "seed": seed}
        return {**request, "options": varied}, (
            f"call {self._nth} of step {self._step} is the greedy call {same.nth} of step "
            f"{same.step_seq} again: sampled instead (seed {seed}) for a new answer"
        )

    def _record(
        self, request: dict[str, Any], role: str, backend: str, model: str, text: str | None,
        finish_reason: str | None, prompt_tokens: int, cached_tokens: int | None, generated_tokens: int,
        **timings: Any,
    ) -> None:  # fmt: skip
        assert self._step is not None
        self.store.record_model_call(
            self.run_id, self._step, role=role, backend=backend, model=model, request=request,
            response_text=text, finish_reason=finish_reason, prompt_tokens=prompt_tokens,
            cached_tokens=cached_tokens, generated_tokens=generated_tokens, **timings,
        )  # fmt: skip

    def _copy(self, recorded: Any, request: dict[str, Any]) -> None:
        """Keep the replayed answer in the replay run too, so it can be reported and audited."""
        assert self._step is not None
        if request_digest(request) != recorded.request_sha256:
            self.store.log(
                self.run_id,
                f"call {self._nth} of step {self._step}: the replayed prompt differs from the original",
                level="warning",
                step_seq=self._step,
            )
        self._record(request, recorded.role, "replay", recorded.model, recorded.response_text,
                     recorded.finish_reason, recorded.prompt_tokens, recorded.prompt_tokens,
                     recorded.generated_tokens, ttft_s=0.0, total_s=0.0, details={"replay_of": self.replay_of})  # fmt: skip
