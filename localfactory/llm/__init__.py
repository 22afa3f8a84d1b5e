"""Model backends: one small interface for chat models, the built-in backends, and the router.

The factory asks the :class:`Router` (``router.chat(role, messages)``); the router picks
each role's backend and model from the settings. Importing this package imports neither
llama_cpp nor ollama: each backend loads its engine on its first call.
"""

from localfactory.llm.backend import ChatBackend, Response
from localfactory.llm.call import (
    ChatOptions,
    ChatRequest,
    ChatResult,
    Message,
    OptionsError,
)
from localfactory.llm.registry import backend_class, backends, register_backend
from localfactory.llm.router import RoutedResponse, Router

__all__ = [
    "ChatBackend",
    "ChatOptions",
    "ChatRequest",
    "ChatResult",
    "Message",
    "OptionsError",
    "Response",
    "RoutedResponse",
    "Router",
    "backend_class",
    "backends",
    "register_backend",
]
