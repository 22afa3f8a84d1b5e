"""Which backends exist: one registry, the built-ins registered through it like any plugin.

A module (built in, or a plugin named by an entry point in the ``localfactory.backends``
group) offers a ``register_backends(register)`` function and calls ``register`` with each
:class:`ChatBackend` subclass it provides. Registering imports nothing heavy: backends
import their engines (llama_cpp, ollama) when they first run.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from importlib import metadata

from localfactory.errors import ConfigError
from localfactory.llm.backend import ChatBackend

ENTRY_POINT_GROUP = "localfactory.backends"

BUILTIN_PROVIDERS = (
    "localfactory.llm.embedded",
    "localfactory.llm.ollama_backend",
    "localfactory.llm.scripted",
)

Register = Callable[[type[ChatBackend]], None]

_backends: dict[str, type[ChatBackend]] = {}
_loaded = False
_lock = threading.Lock()


def register_backend(cls: type[ChatBackend]) -> None:
    """Make ``cls`` available under ``cls.name``; a second backend with the same name is refused."""
    existing = _backends.get(cls.name)
    if existing is not None and existing is not cls:
        raise ConfigError(
            f"Two model backends are named {cls.name!r}: {existing.__module__} and {cls.__module__}.",
            hint="Uninstall one of the plugins, or rename its backend.",
        )
    _backends[cls.name] = cls


def _load() -> None:
    global _loaded
    with _lock:
        if _loaded:
            return
        for module_name in BUILTIN_PROVIDERS:
            importlib.import_module(module_name).register_backends(register_backend)
        for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
            entry_point.load()(register_backend)
        _loaded = True


def backends() -> dict[str, type[ChatBackend]]:
    """Every registered backend by name."""
    _load()
    return dict(_backends)


def backend_class(name: str) -> type[ChatBackend]:
    """The backend registered as ``name``; a clear error listing the known ones otherwise."""
    known = backends()
    try:
        return known[name]
    except KeyError:
        raise ConfigError(
            f"No model backend is named {name!r}.",
            hint=f"Known backends: {', '.join(sorted(known))}.",
        ) from None
