"""The embedded backend: a verified GGUF run in this process by llama-cpp-python.

The model loads on the first call and stays loaded (one ``Llama`` per model file per
process), with one thread per core. A call renders the chat with the model's own template
and tokenizes it first: when the prompt plus ``max_tokens`` does not fit the context, it
raises :class:`PromptTooLong` instead of letting llama-cpp-python shorten the answer.
Roles that alternate on one model keep their KV state (see ``role_states``), and each
result says how many prompt tokens came from that cache.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, cast

from localfactory.errors import BackendUnavailable, PromptTooLong
from localfactory.llm.backend import ChatBackend, Response
from localfactory.llm.call import ChatRequest, OptionsError
from localfactory.llm.registry import Register

if TYPE_CHECKING:
    from llama_cpp.llama_types import CreateCompletionStreamResponse

    from localfactory.config import Settings
    from localfactory.llm.engine import Engine


class EmbeddedBackend(ChatBackend):
    name: ClassVar[str] = "embedded"
    supports_json_schema: ClassVar[bool] = True
    supports_prefix_cache: ClassVar[bool] = True

    def __init__(self, model: str, settings: Settings, *, manage_prefix_cache: bool = True) -> None:
        super().__init__(model, settings)
        self.manage_prefix_cache = manage_prefix_cache
        """Keep each role's KV state across other roles' calls (off only to measure what it saves)."""

    def gguf(self) -> Path:
        from localfactory.models import catalog

        return catalog.installed_gguf(self.model, self.settings)

    def context_length(self) -> int:
        """``llm.context_length`` when set, else the manifest's default context."""
        from localfactory.models import catalog

        if self.settings.llm.context_length:
            return self.settings.llm.context_length
        return catalog.get_manifest(self.model, self.settings).default_context

    def engine(self) -> Engine:
        from localfactory.llm.engine import load_engine

        path = self.gguf()
        try:
            return load_engine(
                path,
                n_ctx=self.context_length(),
                threads=self.settings.threads(),
                prefix_cache_mb=self.settings.llm.prefix_cache_mb,
            )
        except (ValueError, RuntimeError) as exc:
            raise BackendUnavailable(
                f"llama.cpp could not load {path}: {exc}.",
                hint=f"Reinstall the model: `localfactory models install {self.model}`.",
            ) from None

    def execute(self, request: ChatRequest, response: Response) -> Iterator[str]:
        started = time.perf_counter()
        engine = self.engine()
        response.details["load_s"] = time.perf_counter() - started  # ~0 once loaded
        opts = request.options
        with engine.lock:
            if opts.max_tokens >= engine.n_ctx:
                raise OptionsError(
                    f"max_tokens ({opts.max_tokens}) leaves no room for a prompt in the "
                    f"{engine.n_ctx}-token context of {self.model}.",
                    hint="Lower max_tokens, or raise llm.context_length in localfactory.toml.",
                )
            prompt = engine.render(request.messages)
            room = engine.n_ctx - opts.max_tokens
            if len(prompt.tokens) > room:
                raise PromptTooLong(len(prompt.tokens), room, model=self.model)
            grammar = engine.grammar(request.json_schema) if request.json_schema else None
            restores = engine.restores
            manage = self.manage_prefix_cache and self.settings.llm.prefix_cache_mb > 0
            cached = engine.prepare(request.role, prompt.tokens, manage_states=manage)
            n_prompt = len(prompt.tokens)
            response.set_usage(prompt_tokens=n_prompt, generated_tokens=0, cached_tokens=cached)
            response.details.update(
                n_ctx=engine.n_ctx,
                threads=self.settings.threads(),
                role_state_restored=engine.restores > restores,
            )
            chunks = cast(
                "Iterator[CreateCompletionStreamResponse]",
                engine.llama.create_completion(
                    prompt=prompt.tokens,
                    max_tokens=opts.max_tokens,
                    temperature=opts.temperature,
                    seed=opts.seed,
                    repeat_penalty=opts.repeat_penalty,
                    stop=[*opts.stop, *prompt.stop],
                    stopping_criteria=prompt.stopping_criteria,
                    grammar=grammar,
                    stream=True,
                ),
            )
            try:
                for chunk in chunks:
                    choice = chunk["choices"][0]
                    if choice["text"]:
                        yield choice["text"]
                    if choice["finish_reason"] == "length":
                        response.set_finish_reason("length")
            finally:  # also when the reader stops early (a runaway answer)
                close = getattr(chunks, "close", None)
                if close is not None:
                    close()  # llama.cpp stops generating
                # Every sampled token but the last one (end of turn, a stop string's last
                # token, or the max_tokens-th) was decoded after the prompt.
                generated = engine.llama.n_tokens - n_prompt + 1
                response.set_usage(
                    prompt_tokens=n_prompt, generated_tokens=generated, cached_tokens=cached
                )


def register_backends(register: Register) -> None:
    register(EmbeddedBackend)
