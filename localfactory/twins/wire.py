"""HTTP plumbing for the twin app: reading bodies, parsing forms and JSON, answering, dropping."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote_plus

from localfactory.twins.core import MALFORMED_BODY, Refusal

_JSON_HEADERS = [(b"content-type", b"application/json; charset=utf-8")]
_JSON_BODY = {"body": "json"}
_FORM_BODY = {"body": "form"}


def encode(body: Any) -> bytes:
    """The JSON text of a reply body; ``None`` (a 204's body) is no text at all."""
    if body is None:
        return b""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


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
