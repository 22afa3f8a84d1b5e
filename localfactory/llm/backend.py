"""The one interface every model backend implements.

A backend is a small class: what it can do is declared as class attributes
(``can_stream``, ``supports_json_schema``, ``supports_prefix_cache``), its options are a
pydantic model that refuses unknown keys, and its work is one generator method,
:meth:`ChatBackend.execute`, that yields text as it is generated and reports usage on the
:class:`Response` it is given. Timings are measured here, the same way for every backend.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from localfactory.llm.call import (
    ChatOptions,
    ChatRequest,
    ChatResult,
    FinishReason,
    MessagesLike,
    OptionsError,
    as_messages,
    build_options,
)
from localfactory.llm.runaway import RunawayGuard

if TYPE_CHECKING:
    from localfactory.config import Settings


class ChatBackend(ABC):
    """A chat model behind one backend: messages in, streamed text out."""

    name: ClassVar[str]
    """The backend's name in settings (``roles.<role>.backend``) and in call records."""

    can_stream: ClassVar[bool] = True
    """Text arrives in several chunks while it is generated."""

    supports_json_schema: ClassVar[bool] = False
    """Output can be constrained to a JSON schema."""

    supports_prefix_cache: ClassVar[bool] = False
    """Keeps evaluated prompt prefixes between calls and reports cached tokens."""

    Options: ClassVar[type[ChatOptions]] = ChatOptions
    """The options this backend accepts (a subclass may add its own fields)."""

    def __init__(self, model: str, settings: Settings) -> None:
        self.model = model
        self.settings = settings

    def options(self, given: ChatOptions | Mapping[str, Any] | None = None) -> ChatOptions:
        """Validated options; unset ones come from the ``[llm]`` settings."""
        llm = self.settings.llm
        defaults = {"max_tokens": llm.max_tokens, "temperature": llm.temperature, "seed": llm.seed}
        return build_options(self.Options, defaults, given)

    def chat(
        self,
        messages: MessagesLike,
        *,
        role: str = "coder",
        options: ChatOptions | Mapping[str, Any] | None = None,
        json_schema: Mapping[str, Any] | None = None,
    ) -> Response:
        """Start a call. Nothing runs until the response is iterated or its result asked for."""
        if json_schema is not None and not self.supports_json_schema:
            raise OptionsError(f"The {self.name} backend cannot constrain output to a JSON schema.")
        request = ChatRequest(
            role=role,
            messages=as_messages(messages),
            options=self.options(options),
            json_schema=dict(json_schema) if json_schema is not None else None,
        )
        return Response(self, request)

    @abstractmethod
    def execute(self, request: ChatRequest, response: Response) -> Iterator[str]:
        """Yield text as it is generated; call ``response.set_usage`` (and friends) before returning."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}:{self.model}>"


class Streamed(ABC):
    """A call whose text arrives in chunks: iterate it, or ask for the whole :meth:`result`."""

    _result: ChatResult | None = None

    @abstractmethod
    def __iter__(self) -> Iterator[str]: ...

    def text(self) -> str:
        """The whole answer (reads the stream to its end if nobody did)."""
        return self.result().text

    def result(self) -> ChatResult:
        """The record of the call (reads the stream to its end if nobody did)."""
        if self._result is None:
            for _ in self:
                pass
        assert self._result is not None
        return self._result


_stop_asked: ContextVar[Callable[[], bool] | None] = ContextVar("stop_asked", default=None)


class CallStopped(Exception):
    """Someone asked to stop while a model was answering (see :func:`stoppable`): the answer
    was abandoned half-way and is not recorded."""


@contextmanager
def stoppable(should_stop: Callable[[], bool] | None) -> Iterator[None]:
    """Within this block, a model answer in progress (of this thread) ends with
    :class:`CallStopped` as soon as ``should_stop()`` says yes (asked after each chunk): a
    stop need not wait minutes for a long answer on a small machine."""
    token = _stop_asked.set(should_stop)
    try:
        yield
    finally:
        _stop_asked.reset(token)


class Response(Streamed):
    """One call in flight. Iterate it for text chunks; :meth:`result` gives the record.

    Backends report what only they know (token counts, finish reason, details) through
    :meth:`set_usage`, :meth:`set_finish_reason` and :attr:`details`; the time to the first
    chunk and the total time are measured here.
    """

    def __init__(self, backend: ChatBackend, request: ChatRequest) -> None:
        self.backend = backend
        self.request = request
        self.details: dict[str, Any] = {}
        self._chunks: list[str] = []
        self._prompt_tokens = 0
        self._cached_tokens: int | None = None
        self._generated_tokens = 0
        self._finish_reason: FinishReason = "stop"
        self._started = False

    # -- reported by backends -------------------------------------------------------------
    def set_usage(
        self, *, prompt_tokens: int, generated_tokens: int, cached_tokens: int | None = None
    ) -> None:
        self._prompt_tokens = prompt_tokens
        self._generated_tokens = generated_tokens
        self._cached_tokens = cached_tokens

    def set_finish_reason(self, reason: FinishReason) -> None:
        self._finish_reason = reason

    # -- used by callers ------------------------------------------------------------------
    def __iter__(self) -> Iterator[str]:
        if self._result is not None:
            yield from self._chunks
            return
        if self._started:
            raise RuntimeError("This response is already being read.")
        self._started = True
        started_at = datetime.now(UTC)
        start = time.perf_counter()
        first: float | None = None
        limit = self.request.options.runaway_lines
        guard = RunawayGuard(limit) if limit >= 3 else None
        should_stop = _stop_asked.get()
        chunks = self.backend.execute(self.request, self)
        try:
            for chunk in chunks:
                if not chunk:
                    continue
                if first is None:
                    first = time.perf_counter()
                self._chunks.append(chunk)
                if should_stop is not None and should_stop():
                    raise CallStopped(f"stopped while {self.backend.model} was answering")
                yield chunk
                if guard is not None and guard.feed(chunk):
                    self.details["runaway"] = guard.describe()
                    self._finish_reason = "length"
                    break
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # the backend stops generating (and reports what it used)
        if "runaway" in self.details and not self._generated_tokens:
            self._generated_tokens = len(self._chunks)  # a backend that reports usage at the end
        end = time.perf_counter()
        first = end if first is None else first
        self._result = self._build(started_at, first - start, end - start, end - first)

    def _build(
        self, started_at: datetime, ttft: float, total: float, generating: float
    ) -> ChatResult:
        after_first = max(self._generated_tokens - 1, 0)
        rate = after_first / generating if generating > 0 and after_first else 0.0
        req = self.request
        return ChatResult(
            role=req.role,
            backend=self.backend.name,
            model=self.backend.model,
            messages=req.messages,
            options=req.options,
            json_schema=req.json_schema,
            text="".join(self._chunks),
            finish_reason=self._finish_reason,
            prompt_tokens=self._prompt_tokens,
            cached_tokens=self._cached_tokens,
            generated_tokens=self._generated_tokens,
            time_to_first_token_s=ttft,
            total_s=total,
            tokens_per_s=rate,
            started_at=started_at,
            details=self.details,
        )
