"""A digital twin of the Ollama server API (``http://127.0.0.1:11434``).

Serve it with ``localfactory twin up ollama --local`` and point the official client at it::

    ollama.Client(host="http://127.0.0.1:4714")

A fresh server has no models. Seed them (``POST /_twin/seed``)::

    {"models": [{"name": "qwen2.5-coder:0.5b-instruct-q4_K_M", "engine": "qwen2.5-coder-0.5b"},
                {"name": "scripted:latest"}],
     "replies": [{"model": "scripted", "contains": "add", "reply": "def add(a, b):\\n    return a + b"}]}

A model with an ``engine`` answers with that installed localfactory model (llama.cpp, in
the twin's process); the others answer from the scripted reply rules, deterministically.
Asking for a model the server does not have gets Ollama's own 404. No credentials are
needed (a local Ollama takes none).
"""

from __future__ import annotations

from localfactory.twins import Twin

from . import generate, models, seed
from .errors import TOKENS, OllamaErrors
from .world import OllamaWorld

VERSION = "0.1.0"


def build() -> Twin:
    twin = Twin(
        "ollama",
        title="Ollama API (localfactory twin)",
        version=VERSION,
        state=OllamaWorld,
        errors=OllamaErrors(),
        tokens=TOKENS,
        issue_token=seed.issue_token,
        seed=seed.seed,
        description=__doc__ or "",
    )
    generate.register(twin)
    models.register(twin)
    return twin
