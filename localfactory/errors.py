"""Errors a user can cause, and how they reach the terminal.

Anything a user can get wrong (a bad config key, a missing model, an unreachable
server, a checksum mismatch) is raised as a :class:`UserError` whose message is one
clear sentence saying what happened and what to do. The CLI prints it without a
traceback and exits with ``exit_code``.
"""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix; the message says how."""

    exit_code: int = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  → {self.hint}"
        return self.message


class ConfigError(UserError):
    """A configuration file or environment variable is invalid."""


class ModelNotFound(UserError):
    """No manifest, or no installed GGUF, for the model asked for."""


class ChecksumMismatch(UserError):
    """An assembled or unpacked model does not match its manifest's sha256."""


class BackendUnavailable(UserError):
    """A model backend (Ollama server, llama.cpp) cannot serve the request."""


class PromptTooLong(UserError):
    """A prompt does not fit the model's context window. Never truncated silently."""

    def __init__(self, prompt_tokens: int, limit: int, *, model: str) -> None:
        over = prompt_tokens - limit
        super().__init__(
            f"The prompt for {model} is {prompt_tokens} tokens, {over} more than the "
            f"{limit} its context allows (prompt plus room for the reply).",
            hint="Shorten the prompt, lower max_tokens, or raise the model's context length "
            "(llm.context_length in localfactory.toml).",
        )
        self.prompt_tokens = prompt_tokens
        self.limit = limit
        self.over = over
