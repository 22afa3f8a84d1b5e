"""HTTP plumbing for the twin app: reading bodies, parsing forms and JSON, answering, dropping."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote_plus

from localfactory.twins.core import MALFORMED_BODY, Refusal, Stream

_JSON_HEADERS = [(b"content-type", b"application/json; charset=utf-8")]
_JSON_BODY = {"body": "json"}
_FORM_BODY = {"body": "form"}


# One encoder for every reply: json.dumps with options would build a new one per call.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def encode(body: Any) -> bytes:
    """The JSON text of a reply body; ``None`` (a 204's body) is no text at all."""
    if body is None:
        return b""
    return _ENCODER.encode(body).encode()


async def read_body(receive: Any) -> bytes:
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body"):
        return body
    chunks = [body]
    while message.get("more_body"):
        message = await receive()
        chunks.append(message.get("body", b""))
    return b"".join(chunks)


def parse_fields(body: bytes, content_type: str) -> dict[str, Any]:
    """The arguments in a form or JSON body (Slack accepts both for most methods)."""
    if content_type.startswith("application/json"):
        parsed = parse_json(body)
        if not isinstance(parsed, dict):
            raise Refusal(
                MALFORMED_BODY, detail="The JSON body must be an object.", extra=_JSON_BODY
            )
        return parsed
    try:
        return parse_form(body.decode())
    except UnicodeDecodeError:
        raise Refusal(
            MALFORMED_BODY, detail="The form body is not UTF-8.", extra=_FORM_BODY
        ) from None


def parse_form(text: str) -> dict[str, str]:
    """``a=1&b=x+y`` as a dictionary (the last value wins); decodes only pairs that need it."""
    fields: dict[str, str] = {}
    for pair in text.split("&"):
        if not pair:
            continue
        key, _, value = pair.partition("=")
        if "%" in pair or "+" in pair:
            key, value = unquote_plus(key), unquote_plus(value)
        fields[key] = value
    return fields


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise Refusal(
            MALFORMED_BODY, detail="The body is not valid JSON.", extra=_JSON_BODY
        ) from None


async def send_json(
    send: Any, status: int, payload: bytes, extra: tuple[tuple[str, str], ...]
) -> None:
    if status == 204:  # No Content: no body, and no headers describing one
        headers: list[tuple[bytes, bytes]] = []
        payload = b""
    else:
        headers = [*_JSON_HEADERS, (b"content-length", str(len(payload)).encode())]
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


async def send_stream(
    receive: Any, send: Any, stream: Stream, on_error: Callable[[BaseException], None]
) -> int:
    """Send ``stream``'s items as they are produced, one JSON line each; returns the status sent.

    No content-length, so the server frames the body in chunks. The items are produced by
    one thread of their own (a generator holding a lock keeps it in the thread that took
    it), keeping the event loop free for other requests. When the client goes away the
    producer is stopped at its next item (``receive`` tells, once the body has been read).
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
    stop = threading.Event()

    def hand_over(kind: str, value: Any) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed: nobody is listening
            loop.call_soon_threadsafe(queue.put_nowait, (kind, value))

    def produce() -> None:
        items = iter(stream.chunks)
        try:
            for item in items:
                hand_over("item", item)
                if stop.is_set():
                    break
        except Exception as exc:
            hand_over("error", exc)
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
            hand_over("end", None)

    headers = [(b"content-type", stream.media_type.encode("latin-1"))]
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in stream.headers]
    newline = b"" if stream.media_type.startswith("application/json") else b"\n"

    async def watch() -> None:
        while (await receive()).get("type") != "http.disconnect":
            pass
        stop.set()

    threading.Thread(target=produce, name="twin-stream", daemon=True).start()
    watcher = asyncio.create_task(watch())
    try:
        await send({"type": "http.response.start", "status": stream.status, "headers": headers})
        while (message := await queue.get())[0] != "end":
            kind, value = message
            if kind == "error":
                on_error(value)
                continue
            chunk = encode(value) + newline
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
    finally:
        stop.set()
        watcher.cancel()
    await send({"type": "http.response.body", "body": b""})
    return stream.status


async def drop_connection(receive: Any, send: Any) -> None:
    """Close the connection without answering, as a crashed upstream or a flaky proxy would.

    Under uvicorn, ``receive`` is a method of the connection's request cycle, which holds
    the transport: closing it sends no response at all, and marking the cycle as
    disconnected keeps uvicorn from writing its own 500 afterwards. Under any other
    server the fallback promises a body and never sends it.
    """
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if cycle is not None and transport is not None:
        cycle.disconnected = True
        transport.close()
        return
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1")]}
    )
    raise ConnectionAbortedError("fault: dropped connection")
