"""``/api/chat`` and ``/api/generate``: answers streamed as NDJSON (the default) or whole.

Each request is answered by the model's engine when it has one (:mod:`.engine`), else by
the scripted responder (:mod:`.responder`). Streaming sends one JSON object per piece of
text and a final one with ``done: true``, ``done_reason`` and the counts and durations
(nanoseconds) clients read usage from. A request with nothing to say (no messages, no
prompt) loads the model, or unloads it with ``keep_alive: 0``, as in Ollama. Every call
marks its model loaded with its ``num_ctx`` (``/api/ps``); the request itself, options
included, is in the twin's journal (``GET /_twin/requests?operation=chat``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from localfactory.twins import Call, Reply, Stream, Twin

from .engine import Usage, engine_answer
from .responder import Answer, scripted_answer
from .world import DEFAULT_CONTEXT, OllamaWorld, bad_request, iso, keep_alive_seconds

_NS = 1_000_000_000
WHOLE = "application/json; charset=utf-8"


def _scripted(answer: Answer) -> Iterator[str | Usage]:
    for piece in answer.pieces:
        if answer.delay_s:
            time.sleep(answer.delay_s)
        yield piece
    yield Usage(answer.prompt_tokens, len(answer.pieces), answer.done_reason)


def _head(model: str, endpoint: str, text: str) -> dict[str, Any]:
    head: dict[str, Any] = {"model": model, "created_at": iso()}
    if endpoint == "chat":
        head["message"] = {"role": "assistant", "content": text}
    else:
        head["response"] = text
    return head


def _frames(
    model: str, endpoint: str, events: Iterator[str | Usage], started: float, was_loaded: bool
) -> Iterator[dict[str, Any]]:
    """The NDJSON objects of one answer; a failure on the way ends it with ``{"error": ...}``."""
    usage = Usage(0, 0, "stop")
    first: float | None = None
    try:
        for event in events:
            if isinstance(event, Usage):
                usage = event
                continue
            if first is None:
                first = time.perf_counter()
            yield {**_head(model, endpoint, event), "done": False}
    except Exception as exc:
        yield {"error": str(exc).splitlines()[0] if str(exc) else type(exc).__name__}
        return
    end = time.perf_counter()
    first = end if first is None else first
    load = 0.0 if was_loaded else (first - started) / 2
    final = {
        **_head(model, endpoint, ""),
        "done": True,
        "done_reason": usage.done_reason,
        "total_duration": int((end - started) * _NS),
        "load_duration": int(load * _NS),
        "prompt_eval_count": usage.prompt_tokens,
        "prompt_eval_duration": int((first - started - load) * _NS),
        "eval_count": usage.eval_count,
        "eval_duration": int((end - first) * _NS),
    }
    if endpoint == "generate":
        final["context"] = list(range(1, usage.prompt_tokens + usage.eval_count + 1))
    yield final


def _whole(frames: Iterator[dict[str, Any]], endpoint: str) -> Iterator[dict[str, Any]]:
    """The streamed objects folded into the one a non-streaming request gets."""
    text: list[str] = []
    for frame in frames:
        if "error" in frame:
            yield frame
            return
        if not frame["done"]:
            text.append(frame["message"]["content"] if endpoint == "chat" else frame["response"])
            continue
        if endpoint == "chat":
            frame["message"]["content"] = "".join(text)
        else:
            frame["response"] = "".join(text)
        yield frame


def _answer(call: Call, endpoint: str, messages: list[dict[str, Any]]) -> Reply | Stream:
    world: OllamaWorld = call.state
    body = call.body
    if not body.get("model"):
        raise bad_request("model is required")
    record = world.model(body["model"])
    options: dict[str, Any] = body.get("options") or {}
    num_ctx = int(options.get("num_ctx") or DEFAULT_CONTEXT)
    keep_alive = keep_alive_seconds(body.get("keep_alive"))
    fmt = body.get("format") or None
    if fmt is not None and fmt != "json" and not isinstance(fmt, dict):
        raise bad_request(f'invalid format: {fmt!r}; expected "json" or a JSON schema')
    if body.get("tools") and "tools" not in record["capabilities"]:
        raise bad_request(f"{record['name']} does not support tools")
    started = time.perf_counter()
    was_loaded = world.is_loaded(record["name"], num_ctx)
    if not messages:
        world.mark_loaded(record, keep_alive, num_ctx)
        reason = "unload" if keep_alive == 0 else "load"
        return Reply({**_head(record["name"], endpoint, ""), "done_reason": reason, "done": True})
    events: Iterator[str | Usage]
    if record["engine"]:
        events = engine_answer(record["engine"], messages, fmt, options, num_ctx)
    else:
        answer = scripted_answer(world, record["name"], endpoint, messages, fmt, options, num_ctx)
        events = _scripted(answer)
    world.mark_loaded(record, keep_alive, num_ctx)
    frames = _frames(body["model"], endpoint, events, started, was_loaded)
    if body.get("stream", True):
        return Stream(frames)
    return Stream(_whole(frames, endpoint), media_type=WHOLE)


def chat(call: Call) -> Reply | Stream:
    """Generate the next message in a chat."""
    return _answer(call, "chat", list(call.body.get("messages") or []))


def generate(call: Call) -> Reply | Stream:
    """Generate a completion for a prompt."""
    body = call.body
    messages: list[dict[str, Any]] = []
    if body.get("prompt"):
        if body.get("system"):
            messages.append({"role": "system", "content": body["system"]})
        messages.append({"role": "user", "content": body["prompt"]})
    return _answer(call, "generate", messages)


_MESSAGE = {
    "type": "object",
    "required": ["role"],
    "properties": {
        "role": {"type": "string", "enum": ["system", "user", "assistant", "tool"]},
        "content": {"type": "string"},
    },
}
_COMMON: dict[str, Any] = {
    "model": {"type": "string", "description": "The model's name (``family:tag``)."},
    "stream": {"type": "boolean", "description": "NDJSON pieces (default) or one object."},
    "format": {"description": '"json", or a JSON schema the answer follows.'},
    "options": {
        "type": "object",
        "description": "num_ctx, num_predict, temperature, seed, stop...",
    },
    "keep_alive": {"description": "How long the model stays loaded: seconds or a duration."},
}


def register(twin: Twin) -> None:
    op = twin.operation
    chat_body = {
        "type": "object",
        "properties": {
            **_COMMON,
            "messages": {"type": "array", "items": _MESSAGE},
            "tools": {"type": "array"},
            "think": {},
        },
    }
    generate_body = {
        "type": "object",
        "properties": {
            **_COMMON,
            "prompt": {"type": "string"},
            "system": {"type": "string"},
            "suffix": {"type": "string"},
            "raw": {"type": "boolean"},
        },
    }
    op("POST", "/api/chat", name="chat", auth=False, body=chat_body, tags=("generate",))(chat)
    op(
        "POST", "/api/generate", name="generate", auth=False, body=generate_body, tags=("generate",)
    )(generate)
