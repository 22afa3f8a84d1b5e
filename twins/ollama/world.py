"""The Ollama server a twin holds: its models, uploaded blobs, loaded models and scripted replies.

Tables: ``models`` (full name ``family:tag`` -> model record), ``blobs`` (``sha256:...`` ->
size; the bytes themselves are not kept), ``loaded`` (name -> when it unloads and with
which context, what ``/api/ps`` shows) and ``replies`` (rule number -> scripted reply
rule, tried in order; see :mod:`.responder`).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from datetime import UTC, datetime
from typing import Any

from localfactory.twins import Refusal, TwinState

DEFAULT_CONTEXT = 4096
"""The context Ollama opens when a request does not say ``num_ctx``."""

DEFAULT_KEEP_ALIVE_S = 300.0
"""How long Ollama keeps a model loaded after a call, unless ``keep_alive`` says otherwise."""

FOREVER = 2**40
"""A negative ``keep_alive`` keeps the model loaded for good: far enough in the future."""

_DURATION = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def iso(at: float | None = None) -> str:
    """A timestamp the way Ollama writes them (RFC 3339, UTC, fractional seconds)."""
    moment = datetime.fromtimestamp(time.time() if at is None else at, UTC)
    return moment.isoformat().replace("+00:00", "Z")


def full_name(name: str) -> str:
    """``llama3`` is ``llama3:latest`` to Ollama."""
    return name if ":" in name else f"{name}:latest"


def keep_alive_seconds(value: Any) -> float:
    """Seconds from a ``keep_alive`` value: a number of seconds or a duration like ``"30m"``."""
    if value is None or value == "":
        return DEFAULT_KEEP_ALIVE_S
    if isinstance(value, bool):
        raise bad_request("keep_alive must be a duration")
    if isinstance(value, int | float):
        return float(value)
    found = _DURATION.match(str(value))
    if found is None:
        raise bad_request(f'time: invalid duration "{value}"')
    return float(found.group(1)) * _UNITS[found.group(2)]


def bad_request(message: str) -> Refusal:
    return Refusal("bad_request", status=400, detail=message)


def model_missing(name: str) -> Refusal:
    """Ollama's 404 for a model it does not have, as chat and generate phrase it."""
    return Refusal(
        "not_found", status=404, detail=f'model "{name}" not found, try pulling it first'
    )


class OllamaWorld(TwinState):
    """An Ollama server with no models until they are seeded or created."""

    @property
    def models(self) -> dict[str, Any]:
        return self.table("models")

    @property
    def blobs(self) -> dict[str, Any]:
        return self.table("blobs")

    @property
    def loaded(self) -> dict[str, Any]:
        return self.table("loaded")

    @property
    def replies(self) -> dict[str, Any]:
        return self.table("replies")

    def find(self, name: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.models.get(full_name(name))
        return found

    def model(self, name: str) -> dict[str, Any]:
        found = self.find(name)
        if found is None:
            raise model_missing(name)
        return found

    def add_model(self, name: str, **fields: Any) -> dict[str, Any]:
        """Add (or replace) a model; its digest is derived from what it is, so it is stable."""
        record: dict[str, Any] = {
            "name": full_name(name),
            "size": 0,
            "modified_at": iso(),
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": "",
                "families": [],
                "parameter_size": "",
                "quantization_level": "",
            },
            "context_length": DEFAULT_CONTEXT,
            "template": "{{ .Prompt }}",
            "system": None,
            "parameters": {},
            "license": "",
            "capabilities": ["completion"],
            "engine": None,
            "files": {},
        }
        details = fields.pop("details", {})
        record.update(fields)
        record["details"].update(details)
        if record["details"]["family"] and not record["details"]["families"]:
            record["details"]["families"] = [record["details"]["family"]]
        identity = json.dumps(
            {k: v for k, v in record.items() if k != "modified_at"}, sort_keys=True
        )
        record["digest"] = hashlib.sha256(identity.encode()).hexdigest()
        self.models[record["name"]] = record
        return record

    def mark_loaded(self, record: dict[str, Any], keep_alive: float, context_length: int) -> None:
        """Mark ``record`` loaded (``/api/ps``) until ``keep_alive`` seconds from now; 0 unloads it."""
        if keep_alive == 0:
            self.loaded.pop(record["name"], None)
            return
        now = time.time()
        until = now + keep_alive if keep_alive > 0 else now + FOREVER
        earlier = self.loaded.get(record["name"], {})
        self.loaded[record["name"]] = {
            "expires_at": until,
            "context_length": context_length,
            "since": earlier.get("since", now),
        }

    def is_loaded(self, name: str, context_length: int) -> bool:
        """Loaded with this context (another context means a reload, as in Ollama)."""
        entry = self.loaded.get(name)
        return (
            entry is not None
            and entry["expires_at"] > time.time()
            and entry["context_length"] == context_length
        )

    def running(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """Loaded models that have not expired, with their load entries."""
        now = time.time()
        return [
            (self.models[name], entry)
            for name, entry in self.loaded.items()
            if entry["expires_at"] > now and name in self.models
        ]
