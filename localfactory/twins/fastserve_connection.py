"""One client connection of the fast server: parsing requests, running them in order, writing.

httptools parses; the whole request (its body too, within limits) is gathered before the
app runs, and the app is driven synchronously until it first waits on something, so a
twin's ordinary request costs no task and no extra turn of the event loop. Answers
written while one chunk of input is handled leave in one write (pipelined requests).
See :mod:`localfactory.twins.fastserve` for the whole server.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import deque
from collections.abc import Coroutine, Generator
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import unquote

import httptools

from localfactory.twins.fastserve_exchange import STATUS_LINES, Exchange

if TYPE_CHECKING:
    from localfactory.twins.fastserve import TwinServer

log = logging.getLogger("localfactory.twins.fastserve")

_METHODS = {m.encode(): m for m in ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")}
_ASGI = {"version": "3.0", "spec_version": "2.3"}
_QUEUED_BEFORE_PAUSE = 16
"""Pipelined requests a connection holds before it stops reading from the client."""
_LINGER_S = 2.0
"""How long a refused client may go on sending (to be discarded) before the socket closes."""


class _Refused(Exception):
    """A request refused before it reaches the app (raised inside a parser callback)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _plain(status: int, text: str) -> bytes:
    """A whole plain-text response that also closes the connection."""
    body = text.encode()
    return b"".join(
        (
            STATUS_LINES.get(status, b"HTTP/1.1 %d \r\n" % status),
            b"content-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        )
    )


class _Resume:
    """Carries on, inside a task, a coroutine that already ran up to its first suspension.

    Driving the app synchronously saves a task per request; when the app does suspend,
    what it yielded (a future, or None for a bare yield) is handed to the task as if the
    task had run the coroutine from the start, and exceptions thrown into the task (a
    cancellation) are passed on to the coroutine.
    """

    __slots__ = ("coro", "pending")

    def __init__(self, coro: Coroutine[Any, Any, Any], pending: Any) -> None:
        self.coro = coro
        self.pending = pending

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, pending = self.coro, self.pending
        while True:
            try:
                sent = yield pending
            except BaseException as exc:
                try:
                    pending = coro.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    pending = coro.send(sent)
                except StopIteration as done:
                    return done.value


async def _carry_on(resume: _Resume) -> None:
    await resume


class HttpConnection(asyncio.Protocol):
    """One client connection: parses requests, runs them one at a time, writes the answers."""

    __slots__ = (
        "_active",
        "_body",
        "_body_bytes",
        "_chunk_bytes",
        "_discarding",
        "_drain",
        "_headers",
        "_in_head",
        "_local",
        "_out",
        "_peer",
        "_queue",
        "_raw_head",
        "_refused",
        "_url",
        "app",
        "closing_after_response",
        "last_seen",
        "limits",
        "loop",
        "parser",
        "paused_queue",
        "server",
        "transport",
        "write_paused",
    )

    def __init__(self, server: TwinServer) -> None:
        self.server = server
        self.app = server.app
        self.limits = server.limits
        self.loop = server.loop
        self.transport: asyncio.Transport = None  # type: ignore[assignment]
        self.parser = httptools.HttpRequestParser(self)
        self.write_paused = False
        self.paused_queue = False
        self.closing_after_response = server.stopping
        self.last_seen = self.loop.time()
        self._drain: asyncio.Future[None] | None = None
        self._queue: deque[Exchange] = deque()
        self._active: Exchange | None = None
        self._refused: _Refused | None = None
        self._discarding = False
        self._in_head = False
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._chunk_bytes = 0
        self._raw_head = 0
        self._body: list[bytes] = []
        self._body_bytes = 0
        self._peer: Any = None
        self._local: Any = None
        self._out: list[bytes] | None = None

    # -- the transport's side ----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self._peer = transport.get_extra_info("peername")
        self._local = transport.get_extra_info("sockname")
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.forget(self)
        for exchange in (self._active, *self._queue):
            if exchange is not None:
                exchange.disconnected = True
                exchange.ended()
        self._queue.clear()
        self._wake_writer()

    def pause_writing(self) -> None:
        self.write_paused = True

    def resume_writing(self) -> None:
        self.write_paused = False
        self._wake_writer()

    def _wake_writer(self) -> None:
        drain, self._drain = self._drain, None
        if drain is not None and not drain.done():
            drain.set_result(None)

    async def drained(self) -> None:
        """Wait until the client has read enough of what was written (or went away)."""
        if self.write_paused and not self.transport.is_closing():
            if self._drain is None:
                self._drain = self.loop.create_future()
            await self._drain

    def data_received(self, data: bytes) -> None:
        if self._discarding:
            return
        self.last_seen = self.loop.time()
        self._out = []  # answers written while this data is handled go out in one write
        continued_head = self._in_head
        self._chunk_bytes = len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserCallbackError as exc:
            refused = exc.__context__
            if isinstance(refused, _Refused):
                self._refuse(refused)
            else:
                log.error("The HTTP parser's callback failed", exc_info=refused or exc)
                self._refuse(_Refused(500, "Internal Server Error"))
        except httptools.HttpParserUpgrade:
            # No protocol switch here: answer what was asked over HTTP/1.1, then close.
            self.closing_after_response = True
            for exchange in self._queue:
                exchange.keep_alive = False
            if not self._queue and self._active is None:
                self._refuse(_Refused(400, "Bad Request: protocol upgrades are not supported."))
            self.transport.pause_reading()
        except httptools.HttpParserError:
            self._refuse(_Refused(400, "Bad Request: the request is not valid HTTP/1.1."))
        else:
            if continued_head and self._in_head:
                # All of it was head, and still no end: httptools buffers a header until it
                # is complete, so only this count bounds one that never ends.
                self._raw_head += len(data)
                if self._raw_head > self.limits.max_head_bytes:
                    self._refuse(_Refused(431, "Request Header Fields Too Large"))
        self._advance()
        self._flush()

    def close(self) -> None:
        """Close the connection once what was answered so far is written (the drop fault)."""
        self._flush()
        self.transport.close()

    def write(self, data: bytes) -> None:
        if self._out is not None:
            self._out.append(data)
        elif not self.transport.is_closing():
            self.transport.write(data)

    # -- parser callbacks --------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._in_head = True
        self._url = b""
        self._headers = []
        self._raw_head = 0
        self._body = []
        self._body_bytes = 0

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self._in_head = False
        limits = self.limits
        if len(self._headers) > limits.max_headers:
            raise _Refused(431, "Request Header Fields Too Large")
        if self._chunk_bytes + self._raw_head > limits.max_head_bytes:
            # Only data this large can hold a head over the limit: measure this one.
            if len(self._url) > limits.max_head_bytes:
                raise _Refused(414, "URI Too Long")
            size = len(self._url) + sum(len(n) + len(v) + 4 for n, v in self._headers)
            if size > limits.max_head_bytes:
                raise _Refused(431, "Request Header Fields Too Large")
        expect = False
        for name, value in self._headers:
            if name == b"content-length":
                if not value.isdigit():
                    raise _Refused(400, "Bad Request: the Content-Length is not a number.")
                if int(value) > self.limits.max_body_bytes:
                    raise _Refused(413, "Content Too Large")
            elif name == b"expect" and value.lower() == b"100-continue":
                expect = True
        if expect:
            self.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._body_bytes += len(body)
        if self._body_bytes > self.limits.max_body_bytes:
            raise _Refused(413, "Content Too Large")
        self._body.append(body)

    def on_message_complete(self) -> None:
        parser = self.parser
        url = self._url
        if url[:1] == b"/":
            if b"#" in url:  # a fragment is the client's business; some send it anyway
                url = url.partition(b"#")[0]
            raw_path, _, query = url.partition(b"?")
        else:  # absolute form (http://host/path) or *
            parsed = httptools.parse_url(url)
            raw_path, query = parsed.path or b"/", parsed.query or b""
        try:
            path = raw_path.decode("ascii")
        except UnicodeDecodeError:
            raise _Refused(400, "Bad Request: the path is not ASCII.") from None
        if "%" in path:
            path = unquote(path)
        method = parser.get_method()
        scope = {
            "type": "http",
            "asgi": _ASGI,
            "http_version": parser.get_http_version(),
            "method": _METHODS.get(method) or method.decode("ascii"),
            "scheme": "http",
            "path": path,
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": self._headers,
            "client": self._peer,
            "server": self._local,
        }
        chunks = self._body
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        keep_alive = parser.should_keep_alive() and not self.closing_after_response
        self._queue.append(Exchange(self, scope, body, keep_alive))
        if len(self._queue) >= _QUEUED_BEFORE_PAUSE and not self.paused_queue:
            self.paused_queue = True
            self.transport.pause_reading()

    # -- running the app ---------------------------------------------------------------

    def _advance(self) -> None:
        """Run queued requests in order while each one finishes without waiting."""
        while self._active is None:
            if not self._queue:
                if self._refused is not None:
                    self._linger(_plain(self._refused.status, self._refused.reason))
                return
            if self.transport.is_closing():
                self._queue.clear()
                return
            exchange = self._active = self._queue.popleft()
            if self.paused_queue and len(self._queue) < _QUEUED_BEFORE_PAUSE // 2:
                self.paused_queue = False
                if self._refused is None and not self.closing_after_response:
                    self.transport.resume_reading()
            coro = self.app(exchange.scope, exchange.receive, exchange.send)
            try:
                pending = coro.send(None)
            except StopIteration:
                self._finish(exchange, None)
                continue
            except Exception as exc:
                self._finish(exchange, exc)
                continue
            task = self.loop.create_task(_carry_on(_Resume(coro, pending)))
            self.server.tasks.add(task)
            task.add_done_callback(functools.partial(self._task_done, exchange))

    def _task_done(self, exchange: Exchange, task: asyncio.Task[None]) -> None:
        self.server.tasks.discard(task)
        self.last_seen = self.loop.time()  # a long answer is no idleness
        error = None if task.cancelled() else task.exception()
        self._finish(exchange, error)
        self._advance()

    def _finish(self, exchange: Exchange, error: BaseException | None) -> None:
        self._active = None
        if exchange.disconnected:
            return
        scope = exchange.scope
        if error is not None or not exchange.complete:
            if error is not None:
                log.error("The app failed on %s %s", scope["method"], scope["path"], exc_info=error)
            elif not exchange.started:
                log.error("The app sent no response to %s %s", scope["method"], scope["path"])
            if exchange.head_written:  # half an answer cannot be mended: cut the connection
                self.close()
            else:
                self._close_with(_plain(500, "Internal Server Error"))
            exchange.disconnected = True
            exchange.ended()
            return
        if not exchange.keep_alive:
            self._close_with(b"")

    def _refuse(self, refused: _Refused) -> None:
        """Answer ``refused`` once the requests before it are answered, then close."""
        if self._refused is None:
            self._refused = refused
            self.transport.pause_reading()

    def _flush(self) -> None:
        out, self._out = self._out, None
        if out and not self.transport.is_closing():
            self.transport.write(out[0] if len(out) == 1 else b"".join(out))

    def _linger(self, last: bytes) -> None:
        """Send ``last``, then read and drop what the client still sends before closing.

        Closing a socket with unread data makes the kernel reset the connection, and the
        reset can destroy the refusal before the client reads it (a client still sending
        an oversize body, say). So: half-close, discard, and close once the client does,
        or after a short while.
        """
        self.write(last)
        self._flush()
        transport = self.transport
        if transport.is_closing() or not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        self._discarding = True
        transport.resume_reading()
        self.loop.call_later(_LINGER_S, transport.close)

    def eof_received(self) -> bool | None:
        """The client will send no more: answer what it asked (half-open), then close."""
        if self._discarding or (self._active is None and not self._queue):
            return None  # the transport closes once what was written has gone out
        self.closing_after_response = True
        for exchange in (self._active, *self._queue):
            if exchange is not None:
                exchange.keep_alive = False
        return True

    def _close_with(self, last: bytes) -> None:
        if last:
            self.write(last)
        self.close()

    # -- the server's side -------------------------------------------------------------

    def shut_down(self) -> None:
        """Close now if idle; otherwise after the response in progress."""
        self.closing_after_response = True
        if self._active is None and not self._queue:
            self.transport.close()
        else:
            self.transport.pause_reading()
            for exchange in (self._active, *self._queue):
                if exchange is not None:
                    exchange.keep_alive = False

    def close_if_idle(self, now: float) -> None:
        timeout = self.limits.idle_timeout_s
        if self._active is None and not self._queue and now - self.last_seen > timeout:
            self.transport.close()
