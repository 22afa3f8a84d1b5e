"""Answers from a real model: the embedded engine (llama.cpp) on an installed localfactory model.

A twin model seeded with ``"engine": "<manifest name>"`` (``qwen2.5-coder-0.5b``) answers
with that GGUF, in this process, with the request's ``num_ctx`` as its context, its
``format`` as a grammar, and ``num_predict``, ``temperature``, ``seed`` and ``stop`` as
the call's options (temperature defaults to the ``[llm]`` setting, 0: greedy, where Ollama
would sample at 0.8). Settings (the model cache, threads) are the user's, as the CLI reads
them. It runs in the stream's own thread, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Usage:
    """The end of an answer: token counts and why it stopped."""

    prompt_tokens: int
    eval_count: int
    done_reason: str


def engine_answer(
    engine_model: str,
    messages: list[dict[str, Any]],
    fmt: Any,
    options: dict[str, Any],
    num_ctx: int,
) -> Iterator[str | Usage]:
    """Text pieces from the embedded engine, then the :class:`Usage`."""
    from localfactory.config import load_settings
    from localfactory.llm.call import Message
    from localfactory.llm.embedded import EmbeddedBackend

    settings = load_settings()
    settings = settings.model_copy(
        update={"llm": settings.llm.model_copy(update={"context_length": num_ctx})}
    )
    schema = fmt if isinstance(fmt, dict) else {"type": "object"} if fmt == "json" else None
    predict = options.get("num_predict")
    chat_options: dict[str, Any] = {
        "max_tokens": predict
        if isinstance(predict, int) and predict > 0
        else settings.llm.max_tokens,
        "stop": [str(s) for s in options.get("stop") or []],
    }
    for key in ("temperature", "seed"):
        if options.get(key) is not None:
            chat_options[key] = options[key]
    backend = EmbeddedBackend(engine_model, settings)
    response = backend.chat(
        [Message(role=m["role"], content=str(m.get("content") or "")) for m in messages],
        role="ollama-twin",
        options=chat_options,
        json_schema=schema,
    )
    yield from response
    result = response.result()
    yield Usage(result.prompt_tokens, result.generated_tokens, result.finish_reason)
