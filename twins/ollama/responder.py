"""Scripted answers: reply rules seeded through the admin API, tried in order, deterministic.

A rule (``POST /_twin/seed`` with ``{"replies": [...]}``) says when it applies (``model``,
``endpoint``: ``chat`` or ``generate``, ``contains``: text in the last user message or the
prompt) and what to answer: ``reply`` (text), ``json`` (any value, sent as its JSON text)
or ``error`` (a message, with ``status``, default 500). ``times`` caps how often it
applies; ``prompt_eval_count`` overrides the counted prompt tokens; ``chunk_delay_ms``
spaces the streamed pieces out. The first rule that applies wins. Without one, the answer
is made from the request: an example of the ``format`` schema, ``{}`` for ``"json"``, else
a sentence naming the model and quoting the last message.

Text is cut into pieces at word boundaries (each piece one "token" in the counts). Prompt
tokens are counted the same way over the rendered messages, plus four per message; a
prompt longer than ``num_ctx`` is counted as ``num_ctx``, as Ollama truncates it.
``num_predict`` and ``stop`` end the answer early, as they do in Ollama.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from localfactory.twins import Refusal

from . import jsonformat
from .world import OllamaWorld, full_name

_PIECES = re.compile(r"\s*\S+|\s+")
_WORDS = re.compile(r"\w+|[^\w\s]")


@dataclass(frozen=True)
class Answer:
    """What the model says, already cut into the pieces that will be streamed."""

    pieces: list[str]
    done_reason: str
    prompt_tokens: int
    delay_s: float = 0.0

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def count_tokens(text: str) -> int:
    return len(_WORDS.findall(text))


def prompt_tokens(messages: list[dict[str, Any]]) -> int:
    return sum(count_tokens(str(m.get("content") or "")) + 4 for m in messages) + 3


def _applies(rule: dict[str, Any], model: str, endpoint: str, last: str) -> bool:
    if rule.get("times") == 0:
        return False
    if rule.get("model") and full_name(rule["model"]) != model:
        return False
    if rule.get("endpoint") and rule["endpoint"] != endpoint:
        return False
    return not rule.get("contains") or rule["contains"] in last


def _default_text(model: str, last: str, fmt: Any) -> str:
    if isinstance(fmt, dict):
        return json.dumps(jsonformat.example(fmt))
    if fmt == "json":
        return "{}"
    quoted = last.strip().replace("\n", " ")
    quoted = quoted[:80] + ("..." if len(quoted) > 80 else "")
    return f"This is {model} on the Ollama twin, with no scripted reply for: {quoted}"


def _cut(text: str, options: dict[str, Any]) -> tuple[list[str], str]:
    """Pieces of ``text`` up to the first stop string and at most ``num_predict`` of them."""
    reason = "stop"
    for stop in options.get("stop") or []:
        if stop and stop in text:
            text = text[: text.index(stop)]
    pieces = _PIECES.findall(text)
    limit = options.get("num_predict")
    if isinstance(limit, int) and 0 <= limit < len(pieces):
        pieces, reason = pieces[:limit], "length"
    return pieces, reason


def scripted_answer(
    world: OllamaWorld,
    model: str,
    endpoint: str,
    messages: list[dict[str, Any]],
    fmt: Any,
    options: dict[str, Any],
    num_ctx: int,
) -> Answer:
    """The answer to one chat or generate request; raises the scripted error, if one applies."""
    last = next(
        (str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"), ""
    )
    rule = next((r for r in world.replies.values() if _applies(r, model, endpoint, last)), None)
    if rule is None:
        text = _default_text(model, last, fmt)
    else:
        if isinstance(rule.get("times"), int):
            rule["times"] -= 1
        if "error" in rule:
            raise Refusal("scripted", status=rule.get("status", 500), detail=rule["error"])
        text = json.dumps(rule["json"]) if "json" in rule else str(rule.get("reply", ""))
        if fmt:
            _, wrong = jsonformat.parse(text, fmt)
            if wrong:
                raise Refusal(
                    "script_breaks_format",
                    status=500,
                    detail=f"The twin's scripted reply does not follow the requested format: {wrong}.",
                )
    counted = (rule or {}).get("prompt_eval_count") or prompt_tokens(messages)
    pieces, reason = _cut(text, options)
    delay = (rule or {}).get("chunk_delay_ms", 0) / 1000
    return Answer(pieces, reason, min(counted, num_ctx), delay)
