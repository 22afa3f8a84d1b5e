"""The one object the factory asks for model calls: ``router.chat(role, messages, ...)``.

The router picks the model and backend of each role from ``settings.roles`` and fails over:
when Ollama is unreachable or fails before any text arrived, the call is answered by the
embedded engine instead (the role's ``fallback`` model, else the role's model when it has a
GGUF, else the default coder) and the result says why in ``fallback_reason``. A failure
after text has been streamed is raised, never papered over with a second answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypedDict, Unpack

from localfactory.config import DEFAULT_CODER
from localfactory.errors import BackendUnavailable, ModelNotFound, UserError
from localfactory.llm.backend import ChatBackend, Response, Streamed
from localfactory.llm.call import ChatOptions, ChatResult, MessagesLike

if TYPE_CHECKING:
    from localfactory.config import Settings

BackendFactory = Callable[[str, str, "Settings"], ChatBackend]
"""Builds a backend from its name, a model name and the settings."""


class CallArgs(TypedDict, total=False):
    """What a call may set besides the role and the messages."""

    options: ChatOptions | Mapping[str, Any] | None
    json_schema: Mapping[str, Any] | None
    model: str | None
    """Another model than the role's."""
    backend: str | None
    """Another backend than the role's."""


EMBEDDED = "embedded"
OLLAMA = "ollama"


def registered_backend(backend: str, model: str, settings: Settings) -> ChatBackend:
    from localfactory.llm.registry import backend_class

    return backend_class(backend)(model, settings)


class RoutedResponse(Streamed):
    """A call that may move to a fallback backend if the first one fails before any text."""

    def __init__(
        self,
        first: Response,
        fallback: Callable[[BackendUnavailable], tuple[Response, str]] | None = None,
        *,
        fell_back_because: BackendUnavailable | None = None,
        fallback_reason: str | None = None,
    ) -> None:
        self.first = first
        self._fallback = fallback
        self._cause = fell_back_because
        self._reason = fallback_reason
        self._chunks: list[str] = []

    def __iter__(self) -> Iterator[str]:
        if self._result is not None:
            yield from self._chunks
            return
        active = self.first
        try:
            yield from self._read(active)
        except BackendUnavailable as exc:
            if self._chunks or self._fallback is None or self._cause is not None:
                raise
            active, self._reason = self._fallback(exc)
            self._cause = exc
            yield from self._read(active)
        result = active.result()
        if self._reason:
            result = result.model_copy(update={"fallback_reason": self._reason})
        self._result = result

    def _read(self, response: Response) -> Iterator[str]:
        try:
            for chunk in response:
                self._chunks.append(chunk)
                yield chunk
        except UserError as err:
            cause = self._cause
            if cause is None or self._chunks:
                raise
            raise BackendUnavailable(
                f"{cause.message} The embedded fallback {response.backend.model} cannot answer "
                f"either: {err.message}",
                hint=err.hint or cause.hint,
            ) from None


class Router:
    """Routes each role's calls to its model and backend, with failover to the embedded engine."""

    def __init__(
        self,
        settings: Settings,
        *,
        make_backend: BackendFactory = registered_backend,
        retry_ollama_after_s: float = 60.0,
    ) -> None:
        self.settings = settings
        self._make_backend = make_backend
        self._backends: dict[tuple[str, str], ChatBackend] = {}
        self.retry_ollama_after_s = retry_ollama_after_s
        self._failed: dict[str, tuple[float, str]] = {}
        """Models Ollama failed for: when, and why. They are not retried for a while."""

    def backend(self, backend: str, model: str) -> ChatBackend:
        """The (cached) backend object serving ``model`` through ``backend``."""
        key = (backend, model)
        if key not in self._backends:
            self._backends[key] = self._make_backend(backend, model, self.settings)
        return self._backends[key]

    def route(
        self, role: str, *, model: str | None = None, backend: str | None = None
    ) -> tuple[str, str]:
        """(backend, model) for ``role``, with optional overrides."""
        configured = self.settings.role(role)
        return backend or configured.backend, model or configured.model

    def fallback_model(self, role: str, model: str) -> str:
        """The embedded model answering when Ollama fails."""
        configured = self.settings.role(role).fallback
        if configured:
            return configured
        from localfactory.models import catalog

        try:
            if catalog.get_manifest(model, self.settings).embeddable:
                return model
        except ModelNotFound:
            pass
        return DEFAULT_CODER

    def stream(self, role: str, messages: MessagesLike, **call: Unpack[CallArgs]) -> RoutedResponse:
        """Start a call for ``role``; iterate the response for text as it is generated."""
        backend_name, model_name = self.route(
            role, model=call.get("model"), backend=call.get("backend")
        )

        def start(name: str, model_id: str) -> Response:
            return self.backend(name, model_id).chat(
                messages,
                role=role,
                options=call.get("options"),
                json_schema=call.get("json_schema"),
            )

        if backend_name != OLLAMA:
            return RoutedResponse(start(backend_name, model_name))
        fallback_to = self.fallback_model(role, model_name)

        def fallback(exc: BackendUnavailable) -> tuple[Response, str]:
            self._failed.setdefault(model_name, (time.monotonic(), exc.message))
            reason = (
                f"The ollama backend failed for {model_name}: {exc.message} "
                f"The embedded {fallback_to} answered instead."
            )
            return start(EMBEDDED, fallback_to), reason

        failed = self._failed.get(model_name)
        if failed is not None and time.monotonic() - failed[0] < self.retry_ollama_after_s:
            ago = time.monotonic() - failed[0]
            earlier = BackendUnavailable(f"{failed[1]} (seen {ago:.0f} s ago; not retried yet)")
            second, reason = fallback(earlier)
            return RoutedResponse(second, fell_back_because=earlier, fallback_reason=reason)
        self._failed.pop(model_name, None)
        return RoutedResponse(start(OLLAMA, model_name), fallback)

    def chat(
        self,
        role: str,
        messages: MessagesLike,
        *,
        on_text: Callable[[str], None] | None = None,
        **call: Unpack[CallArgs],
    ) -> ChatResult:
        """Make a call for ``role`` and return its record; ``on_text`` sees each chunk as it arrives."""
        response = self.stream(role, messages, **call)
        for chunk in response:
            if on_text is not None:
                on_text(chunk)
        return response.result()
