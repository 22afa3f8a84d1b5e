"""Seed data for the Ollama twin: the models it has and the scripted reply rules."""

from __future__ import annotations

from typing import Any

from localfactory.twins import Refusal
from localfactory.twins.schema import closed_list, compile_schema, strings

from .world import OllamaWorld

_TEXT: dict[str, Any] = {"type": "string"}
_COUNT: dict[str, Any] = {"type": "integer", "minimum": 0}

SEED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "models": closed_list(
            ("name",),
            name={
                "type": "string",
                "minLength": 1,
                "description": "family:tag (:latest if no tag)",
            },
            engine={
                "type": "string",
                "description": "An installed localfactory model to answer with.",
            },
            family=_TEXT,
            parameter_size=_TEXT,
            quantization_level=_TEXT,
            size=_COUNT,
            context_length={"type": "integer", "minimum": 1},
            template=_TEXT,
            system=_TEXT,
            capabilities=strings("completion, tools, vision, insert..."),
            parameters={"type": "object"},
        ),
        "replies": closed_list(
            (),
            model=_TEXT,
            endpoint={"type": "string", "enum": ["chat", "generate"]},
            contains={"type": "string", "description": "Text the last user message must hold."},
            reply={"type": "string", "description": "The answer's text."},
            json={"description": "Any value; the answer is its JSON text."},
            error={"type": "string", "description": "Answer with this error instead."},
            status={"type": "integer", "minimum": 400, "maximum": 599},
            times={"type": ["integer", "null"], "minimum": 0},
            prompt_eval_count=_COUNT,
            chunk_delay_ms={"type": "integer", "minimum": 0, "maximum": 10000},
        ),
    },
}
_check_seed = compile_schema(SEED_SCHEMA)


def issue_token(world: OllamaWorld, request: dict[str, Any]) -> dict[str, Any]:
    """Ollama takes no credentials; a token stands for nobody in particular."""
    return {"client": str(request.get("client") or "any")}


def _engine_defaults(engine: str) -> dict[str, Any]:
    """What an installed localfactory model says about itself (size, context, ChatML template)."""
    from localfactory.config import load_settings
    from localfactory.errors import UserError
    from localfactory.models import catalog
    from localfactory.models.ollama_import import CHATML_STOPS, CHATML_TEMPLATE

    try:
        manifest = catalog.get_manifest(engine, load_settings())
    except UserError as exc:
        raise Refusal("unknown_engine", detail=exc.message) from None
    defaults: dict[str, Any] = {
        "parameter_size": manifest.parameters,
        "quantization_level": manifest.quantization,
        "size": manifest.gguf.size if manifest.gguf else 0,
        "context_length": manifest.context_length,
    }
    if manifest.chat_template == "chatml":
        defaults["template"] = CHATML_TEMPLATE
        defaults["parameters"] = {"stop": list(CHATML_STOPS)}
    return defaults


def seed(world: OllamaWorld, request: dict[str, Any]) -> dict[str, Any]:
    """Adds models and reply rules; answers with the models' full names and the rules' numbers."""
    data = _check_seed(request, "")
    names = []
    for entry in data.get("models", []):
        given = dict(entry)
        if given.get("engine"):
            given = {**_engine_defaults(given["engine"]), **given}
        details = {
            key: given.pop(key)
            for key in ("family", "parameter_size", "quantization_level")
            if key in given
        }
        names.append(world.add_model(given.pop("name"), details=details, **given)["name"])
    rules = []
    for rule in data.get("replies", []):
        number = str(world.next_number("reply"))
        world.replies[number] = dict(rule)
        rules.append(number)
    return {"models": names, "replies": rules}
