"""A scripted backend for unit tests of logic that calls models (never for integration tests).

Answers come from a script, in order, or from a function of the request. A scripted answer
may be an exception (raised before any text) or a list of chunks in which an exception
stands for a failure part-way through the stream. Every request is recorded.

"Tokens" here are whitespace-separated words of the prompt and the chunks of the answer,
so ``max_tokens`` truncates to that many chunks with finish reason ``length``. A scripted
string is cut at the first ``stop`` string in it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, ClassVar

from localfactory.llm.backend import ChatBackend, Response
from localfactory.llm.call import ChatRequest
from localfactory.llm.registry import Register

if TYPE_CHECKING:
    from localfactory.config import Settings

Chunks = Sequence[str | BaseException]
Answer = str | BaseException | Chunks
Script = Sequence[Answer] | Callable[[ChatRequest], Answer]


class ScriptExhausted(AssertionError):
    """A test asked the scripted backend for more answers than it was given."""


class ScriptedBackend(ChatBackend):
    name: ClassVar[str] = "scripted"
    supports_json_schema: ClassVar[bool] = True

    def __init__(
        self,
        model: str = "scripted",
        settings: Settings | None = None,
        *,
        script: Script = (),
        chunk_size: int = 4,
    ) -> None:
        if settings is None:
            from localfactory.config import Settings

            settings = Settings()
        super().__init__(model, settings)
        self.script = script
        self.chunk_size = chunk_size
        self.requests: list[ChatRequest] = []

    def _next_answer(self, request: ChatRequest) -> Answer:
        if callable(self.script):
            return self.script(request)
        index = len(self.requests) - 1
        if index >= len(self.script):
            raise ScriptExhausted(
                f"The scripted backend was called {index + 1} times but has {len(self.script)} answers."
            )
        return self.script[index]

    def _chunks(self, answer: Answer, stop: list[str]) -> list[str | BaseException]:
        if isinstance(answer, BaseException):
            return [answer]
        if isinstance(answer, str):
            cuts = [answer.index(s) for s in stop if s in answer]
            text = answer[: min(cuts)] if cuts else answer
            n = self.chunk_size
            return [text[i : i + n] for i in range(0, len(text), n)]
        return list(answer)

    def execute(self, request: ChatRequest, response: Response) -> Iterator[str]:
        self.requests.append(request)
        chunks = self._chunks(self._next_answer(request), request.options.stop)
        prompt_tokens = sum(len(m.content.split()) for m in request.messages)
        response.set_usage(prompt_tokens=prompt_tokens, generated_tokens=0)
        for i, chunk in enumerate(chunks):
            if isinstance(chunk, BaseException):
                raise chunk
            if i >= request.options.max_tokens:
                response.set_finish_reason("length")
                return
            response.set_usage(prompt_tokens=prompt_tokens, generated_tokens=i + 1)
            yield chunk


def register_backends(register: Register) -> None:
    register(ScriptedBackend)
