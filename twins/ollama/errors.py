"""Ollama's error bodies: ``{"error": "one sentence"}`` with the status Ollama uses.

Ollama has no rate limits of its own; a busy server (its request queue full) answers 503
``server busy``, which is what the twin's ``rate_limit`` fault produces.
"""

from __future__ import annotations

from localfactory.twins import Operation, Refusal, Reply, TokenScheme, core

TOKENS = TokenScheme(prefix="ollama-")
"""A local Ollama server takes no credentials; issued tokens are accepted and ignored."""

_FIXED: dict[str, tuple[int, str]] = {
    core.UNKNOWN_OPERATION: (404, "404 page not found"),
    core.METHOD_NOT_ALLOWED: (405, "405 method not allowed"),
    core.MISSING_TOKEN: (401, "unauthorized"),
    core.INVALID_TOKEN: (401, "unauthorized"),
    core.REVOKED_TOKEN: (401, "unauthorized"),
}
BUSY = "server busy, please try again.  maximum pending requests exceeded"


class OllamaErrors:
    """Renders refusals as ``{"error": ...}``."""

    def render(self, refusal: Refusal, operation: Operation | None) -> Reply:
        code = refusal.code
        if code in _FIXED:
            status, message = _FIXED[code]
            return Reply({"error": message}, status)
        if code == core.RATE_LIMITED:
            wait = refusal.retry_after if refusal.retry_after is not None else 1
            return Reply({"error": BUSY}, 503, (("Retry-After", str(wait)),))
        if code == core.SERVER_ERROR:
            status = refusal.status or 500
            return Reply({"error": refusal.detail or "internal server error"}, status)
        if code in (core.INVALID_ARGUMENTS, core.MALFORMED_BODY):
            return Reply({"error": refusal.detail or "invalid request"}, 400)
        return Reply({"error": refusal.detail or code}, refusal.status or 400)
