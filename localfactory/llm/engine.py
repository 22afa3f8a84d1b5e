"""Loaded llama.cpp models: one ``Llama`` per model file per process, loaded on first use.

An :class:`Engine` wraps one ``Llama`` with what every call on it needs: the model's own
chat template (from the GGUF), a lock (one call at a time), JSON-schema grammars, and the
role bookkeeping that keeps each role's KV state across calls of other roles
(:mod:`localfactory.llm.role_states`).
"""

from __future__ import annotations

import atexit
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from localfactory.llm.call import Message, OptionsError
from localfactory.llm.role_states import RoleStates, common_prefix, restore, snapshot

if TYPE_CHECKING:
    from llama_cpp import Llama, LlamaGrammar, StoppingCriteriaList

MB = 1024 * 1024


@dataclass(frozen=True)
class ChatPrompt:
    """A chat rendered with the model's template and tokenized, as it will be evaluated."""

    tokens: list[int]
    stop: list[str]
    stopping_criteria: StoppingCriteriaList | None


class Engine:
    """One loaded model and the state kept around it."""

    def __init__(self, llama: Llama, *, states: RoleStates) -> None:
        from llama_cpp import llama_chat_format

        self.llama = llama
        self.states = states
        self.lock = threading.RLock()
        self.live_role: str | None = None
        """The role whose prompt the live KV cache holds (None: unknown or unmanaged)."""
        self.restores = 0
        self._grammars: dict[str, LlamaGrammar] = {}
        template = llama.metadata.get("tokenizer.chat_template")
        if template:
            eos = llama.token_eos()
            bos = llama.token_bos()
            self._format: Any = llama_chat_format.Jinja2ChatFormatter(
                template=template,
                eos_token=llama._model.token_get_text(eos) if eos != -1 else "",
                bos_token=llama._model.token_get_text(bos) if bos != -1 else "",
                stop_token_ids=[eos],
            )
        else:
            self._format = llama_chat_format.format_chatml

    @property
    def n_ctx(self) -> int:
        return int(self.llama.n_ctx())

    def render(self, messages: Sequence[Message]) -> ChatPrompt:
        """The prompt tokens exactly as ``create_chat_completion`` would build them."""
        formatted = self._format(messages=[m.model_dump() for m in messages])
        tokens = self.llama.tokenize(
            formatted.prompt.encode("utf-8"), add_bos=not formatted.added_special, special=True
        )
        stop = formatted.stop
        stops = [] if stop is None else [stop] if isinstance(stop, str) else list(stop)
        return ChatPrompt(tokens, stops, formatted.stopping_criteria)

    def grammar(self, schema: dict[str, Any]) -> LlamaGrammar:
        """The GBNF grammar for a JSON schema (what ``response_format={"type": "json_object", "schema": ...}`` builds)."""
        from llama_cpp import LlamaGrammar

        key = json.dumps(schema, sort_keys=True)
        if key not in self._grammars:
            try:
                self._grammars[key] = LlamaGrammar.from_json_schema(
                    json.dumps(schema), verbose=False
                )
            except Exception as exc:
                raise OptionsError(
                    f"The JSON schema cannot be turned into a grammar: {exc}.",
                    hint="Use the JSON-schema subset llama.cpp supports (objects, arrays, strings, numbers, enums).",
                ) from None
        return self._grammars[key]

    def prepare(self, role: str, tokens: Sequence[int], *, manage_states: bool) -> int:
        """Get the KV cache ready for ``role``'s prompt; returns how many prompt tokens it already holds.

        With ``manage_states``, the live state of another role is saved before it is
        overwritten, and this role's saved state is restored when it shares more of the
        prompt than the live one. Without, the cache is left as llama-cpp-python has it.
        """
        llama = self.llama
        if manage_states:
            if self.live_role is not None and self.live_role != role:
                state = snapshot(llama)
                if state is not None:
                    self.states.put((id(self), self.live_role), state)
            saved = self.states.get((id(self), role))
            live_match = common_prefix(llama.input_ids[: llama.n_tokens], tokens)
            if (
                saved is not None
                and common_prefix(saved.tokens, tokens) > live_match
                and restore(llama, saved)
            ):
                self.restores += 1
        self.live_role = role if manage_states else None
        return self._reusable(tokens)

    def _reusable(self, tokens: Sequence[int]) -> int:
        """How many prompt tokens ``Llama.generate`` will take from the cache (it mirrors its rule)."""
        llama = self.llama
        match = common_prefix(llama.input_ids[: llama.n_tokens], tokens)
        if match == len(tokens):
            if llama.n_tokens == len(tokens) and not llama._requires_eval:
                return match
            return match - 1  # the last prompt token is decoded again to get fresh logits
        return match


_engines: dict[tuple[str, int, int], Engine] = {}
_engines_lock = threading.Lock()
_states = RoleStates(budget_bytes=1024 * MB)


def load_engine(path: Path, *, n_ctx: int, threads: int, prefix_cache_mb: int) -> Engine:
    """The engine for ``path`` (loaded once per process and context size)."""
    key = (str(path), n_ctx, threads)
    with _engines_lock:
        _states.budget_bytes = prefix_cache_mb * MB
        engine = _engines.get(key)
        if engine is None:
            if not _engines:
                # Free the models while the interpreter is whole: llama-cpp-python's own
                # __del__ fails noisily when it runs during interpreter shutdown.
                atexit.register(unload_all)
            engine = Engine(_load_llama(path, n_ctx=n_ctx, threads=threads), states=_states)
            _engines[key] = engine
        return engine


def _load_llama(path: Path, *, n_ctx: int, threads: int) -> Llama:
    quiet_llama_cpp()
    from llama_cpp import Llama

    return Llama(
        model_path=str(path),
        n_ctx=n_ctx,
        n_threads=threads,
        n_threads_batch=threads,
        verbose=False,
    )


def quiet_llama_cpp() -> None:
    """Keep llama.cpp's own log lines (model loading, warnings) off the terminal; errors still show."""
    import logging

    from llama_cpp import _logger

    _logger.logger.setLevel(logging.ERROR)


def unload_all() -> None:
    """Drop every loaded model and saved state (tests and benchmarks use it)."""
    with _engines_lock:
        _states.clear()
        for engine in _engines.values():
            engine.llama.close()
        _engines.clear()
