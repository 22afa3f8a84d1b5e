"""What goes into a model call and the record that comes out of it.

A call is a list of chat messages made by one role of the factory (planner, test_writer,
coder, judge), with options and an optional JSON schema. Its :class:`ChatResult` is a
plain pydantic record (``result.to_record()`` gives a JSON-ready dict) holding the text,
why generation stopped, token usage and timings, so the run store can keep every call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from localfactory.errors import UserError

ROLES = ("planner", "test_writer", "coder", "judge")
"""The roles that call models; settings may add more."""


class OptionsError(UserError):
    """Options given to a model call are unknown or out of range."""


class Message(BaseModel):
    """One chat message."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: Literal["system", "user", "assistant"]
    content: str


class ChatOptions(BaseModel):
    """How to generate. Unknown keys are refused, so a typo never goes unnoticed.

    Defaults for ``max_tokens``, ``temperature`` and ``seed`` come from the ``[llm]``
    settings when a backend builds the options (see :meth:`ChatBackend.options`).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_tokens: int = Field(default=1024, ge=1)
    """Most tokens to generate. The prompt plus this must fit the context; nothing is cut silently."""

    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    """0 is greedy decoding: the same prompt gives the same answer."""

    seed: int = 0
    """Sampling seed (matters only when temperature is above 0)."""

    stop: list[str] = Field(default_factory=list)
    """Strings that end generation when produced; they are not part of the text."""

    repeat_penalty: float = Field(default=1.0, ge=1.0, le=2.0)
    """Above 1, tokens seen in the last 64 are made less likely: breaks the loops small models
    fall into (the same line again and again until ``max_tokens``). 1 is off."""

    runaway_lines: int = Field(default=12, ge=0)
    """End the answer once this many lines in a row are one loop: the same line again, or a
    line counting up (see :mod:`localfactory.llm.runaway`). The finish reason is then
    ``length``, as if cut off. 0 is off."""


class ChatRequest(BaseModel):
    """A validated call: who asks, what, and how."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str
    messages: list[Message]
    options: ChatOptions
    json_schema: dict[str, Any] | None = None


FinishReason = Literal["stop", "length"]


class ChatResult(BaseModel):
    """The record of one model call, ready for the run store (``to_record()``)."""

    model_config = ConfigDict(extra="forbid")

    role: str
    backend: str
    model: str
    messages: list[Message]
    options: ChatOptions
    json_schema: dict[str, Any] | None = None
    text: str
    finish_reason: FinishReason
    prompt_tokens: int
    cached_tokens: int | None
    """Prompt tokens served from a kept KV cache instead of evaluated; None when the backend cannot tell."""
    generated_tokens: int
    time_to_first_token_s: float
    """From the start of the call to the first text; includes loading the model on a first call (``details["load_s"]``)."""
    total_s: float
    tokens_per_s: float
    """Generation speed: generated tokens over the time after the first token."""
    started_at: datetime
    fallback_reason: str | None = None
    """Set by the router when the configured backend failed and another one answered."""
    details: dict[str, Any] = Field(default_factory=dict)
    """Backend-specific figures (Ollama's own durations, the embedded engine's state restores)."""

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready dict of everything in the call."""
        return self.model_dump(mode="json")

    def summary(self) -> str:
        """One line for a terminal: model, backend, usage and speed."""
        cached = "?" if self.cached_tokens is None else str(self.cached_tokens)
        line = (
            f"{self.model} via {self.backend} ({self.role}): {self.prompt_tokens} prompt tokens "
            f"({cached} cached), {self.generated_tokens} generated, "
            f"first token {self.time_to_first_token_s:.2f}s, {self.tokens_per_s:.1f} tokens/s, "
            f"{self.total_s:.2f}s total, finish: {self.finish_reason}"
        )
        if self.fallback_reason:
            line += f" [fallback: {self.fallback_reason}]"
        return line


MessagesLike = str | Iterable[Message | Mapping[str, Any]]


def as_messages(messages: MessagesLike) -> list[Message]:
    """Messages from a plain prompt (one user message), dicts or :class:`Message` objects."""
    if isinstance(messages, str):
        return [Message(role="user", content=messages)]
    out: list[Message] = []
    for m in messages:
        try:
            out.append(m if isinstance(m, Message) else Message.model_validate(dict(m)))
        except ValidationError as exc:
            raise OptionsError(f"A chat message is invalid: {exc.errors()[0]['msg']}.") from None
    if not out:
        raise OptionsError("A model call needs at least one message.")
    return out


def build_options(
    options_cls: type[ChatOptions],
    defaults: Mapping[str, Any],
    given: ChatOptions | Mapping[str, Any] | None,
) -> ChatOptions:
    """Validate ``given`` over ``defaults``; unknown keys and bad values are an :class:`OptionsError`."""
    if isinstance(given, options_cls):
        return given
    values = dict(defaults)
    if isinstance(given, ChatOptions):
        values.update(given.model_dump(exclude_unset=True))
    elif given is not None:
        values.update(given)
    try:
        return options_cls.model_validate(values)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "options"
        known = ", ".join(options_cls.model_fields)
        if first["type"] == "extra_forbidden":
            raise OptionsError(
                f"Unknown model option {key!r}.", hint=f"Known options: {known}."
            ) from None
        raise OptionsError(f"Invalid model option {key!r}: {first['msg']}.") from None
