"""One request and its answer on the fast server: the ASGI ``receive`` and ``send`` of a call.

The answer's head waits for the first piece of the body, so that a head and a
single-piece body leave in one write; framing (Content-Length, or chunked for an answer
in pieces) is decided then. See :mod:`localfactory.twins.fastserve` for the whole server.
"""

from __future__ import annotations

import asyncio
import http
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from localfactory.twins.fastserve_connection import HttpConnection

STATUS_LINES = {
    int(s): f"HTTP/1.1 {int(s)} {s.phrase}\r\n".encode("latin-1") for s in http.HTTPStatus
}
_NO_BODY_STATUSES = frozenset({204, 304})
_FRAMING = frozenset({b"content-length", b"transfer-encoding", b"connection"})


class Exchange:
    """One request and its response: the ASGI ``receive`` and ``send`` of a single call."""

    __slots__ = (
        "_gone",
        "body",
        "body_given",
        "chunked",
        "complete",
        "connection",
        "disconnected",
        "head_only",
        "head_written",
        "headers",
        "keep_alive",
        "remaining",
        "scope",
        "started",
        "status",
        "transport",
    )

    def __init__(
        self,
        connection: HttpConnection,
        scope: dict[str, Any],
        body: bytes,
        keep_alive: bool,
    ) -> None:
        self.connection = connection
        self.transport = connection  # what the dropped-connection fault closes
        self.scope = scope
        self.body = body
        self.head_only = scope["method"] == "HEAD"
        self.keep_alive = keep_alive
        self.disconnected = False
        self.body_given = False
        self.started = False
        self.head_written = False
        self.complete = False
        self.status = 0
        self.headers: Any = ()
        self.chunked = False
        self.remaining = -1  # body bytes still owed under the app's own Content-Length
        self._gone: asyncio.Future[None] | None = None

    async def receive(self) -> dict[str, Any]:
        if not self.body_given:
            self.body_given = True
            return {"type": "http.request", "body": self.body, "more_body": False}
        if not (self.disconnected or self.complete):
            if self._gone is None:
                self._gone = self.connection.loop.create_future()
            await self._gone
        return {"type": "http.disconnect"}

    def ended(self) -> None:
        """The client went away or the response ended: wake a ``receive`` waiting for that."""
        gone = self._gone
        if gone is not None and not gone.done():
            gone.set_result(None)

    async def send(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self.started:
                raise RuntimeError("The response was already started.")
            self.started = True
            self.status = message["status"]
            self.headers = message.get("headers", ())
            return  # written together with the first piece of the body
        if kind != "http.response.body":
            raise RuntimeError(f"Unexpected ASGI message {kind!r}.")
        if not self.started:
            raise RuntimeError("The body was sent before http.response.start.")
        if self.complete:
            raise RuntimeError("The response was already complete.")
        if self.disconnected:
            return
        body: bytes = message.get("body", b"")
        more: bool = message.get("more_body", False)
        connection = self.connection
        if not self.head_written:
            head = self._head(None if more else len(body))
            self.head_written = True
            if self.head_only or (not body and more):
                connection.write(head)
            elif self.chunked:
                connection.write(b"%s%x\r\n%s\r\n" % (head, len(body), body))
            else:
                self._count(body)
                connection.write(head + body)
        elif body and not self.head_only:
            if self.chunked:
                connection.write(b"%x\r\n%s\r\n" % (len(body), body))
            else:
                self._count(body)
                connection.write(body)
        if more:
            if connection.write_paused:
                await connection.drained()
            return
        if self.chunked and not self.head_only:
            connection.write(b"0\r\n\r\n")
        if self.remaining > 0 and not self.head_only:
            raise RuntimeError("The response body is shorter than its Content-Length.")
        self.complete = True
        self.ended()

    def _count(self, body: bytes) -> None:
        if self.remaining >= 0:
            self.remaining -= len(body)
            if self.remaining < 0:
                raise RuntimeError("The response body is longer than its Content-Length.")

    def _head(self, whole_length: int | None) -> bytes:
        """Status line and headers; ``whole_length`` is the body's size when sent in one piece."""
        status = self.status
        parts = [STATUS_LINES.get(status) or b"HTTP/1.1 %d \r\n" % status]
        framed = False
        for name, value in self.headers:
            parts += (name, b": ", value, b"\r\n")
            lowered = name.lower()
            if lowered not in _FRAMING:
                continue
            if lowered == b"content-length":
                self.remaining = int(value)
                framed = True
            elif lowered == b"transfer-encoding":
                self.chunked = b"chunked" in value.lower()
                framed = True
            elif b"close" in value.lower():  # connection: close
                self.keep_alive = False
        given = (len(parts) - 1) // 4  # headers the app gave, four parts each
        if status in _NO_BODY_STATUSES:
            self.head_only = True  # such a response has no body, whatever the app sends
        elif not framed:
            if whole_length is not None:
                parts.append(b"content-length: %d\r\n" % whole_length)
            else:
                self.chunked = True
                parts.append(b"transfer-encoding: chunked\r\n")
        if not self.keep_alive or self.connection.closing_after_response:
            self.keep_alive = False
            parts.append(b"connection: close\r\n")
        parts.append(b"\r\n")
        head = b"".join(parts)
        # Every line ends in one CRLF: a header carrying CR, LF or NUL would split the head
        # (header injection). Counting them checks the whole head in three passes of C.
        lines = len(parts) - 3 * given
        if head.count(b"\n") != lines or head.count(b"\r") != lines or b"\0" in head:
            raise RuntimeError("A response header holds CR, LF or NUL.")
        return head
