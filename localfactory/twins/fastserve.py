"""A lean HTTP/1.1 server for one ASGI app: asyncio protocol + httptools, uvloop when present.

Why not uvicorn: a twin answers in tens of microseconds, so a server's own work per
request counts. uvicorn makes a task and an event per request and writes each answer
in two system calls; this server writes it in one, makes a task only for an app that
waits, and speaks only the part of ASGI's ``http`` scope a twin needs
(``localfactory bench twin`` measures the two side by side):

- the whole request body is read before the app runs (chunked or Content-Length), so
  the app's first ``receive()`` returns at once; later calls wait for the client to go
  away (or the response to end) and then say ``http.disconnect``;
- the app is driven synchronously until it first waits on something; only an app that
  really suspends (a fault's delay, a stream) gets a task of its own;
- a response's head and a single-piece body go out in one write, with a Content-Length
  added when the app gave none; a body in several pieces is sent chunked, pausing while
  the client is slow to read;
- keep-alive (HTTP/1.0 too, when asked), pipelined requests answered in order, HEAD,
  ``Expect: 100-continue``, limits on the head and body size (431, 413), 400 for a
  malformed request, an idle timeout, and a shutdown that lets running responses end.

The exchange's ``receive`` is a bound method of an object with ``transport`` and
``disconnected`` attributes, which is what the twin's dropped-connection fault uses
(:func:`localfactory.twins.wire.drop_connection`) under uvicorn too.

Parts: this module runs the server (:class:`TwinServer`, its limits, its threads);
:mod:`~localfactory.twins.fastserve_connection` is one client connection and
:mod:`~localfactory.twins.fastserve_exchange` one request and its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from localfactory.twins.fastserve_connection import HttpConnection

App = Callable[[dict[str, Any], Any, Any], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Limits:
    """What one connection may send and how long it may stay idle."""

    max_head_bytes: int = 64 * 1024
    """Request line and headers together (431 beyond)."""
    max_headers: int = 100
    max_body_bytes: int = 2 * 1024**3
    """A request body (413 beyond); an Ollama twin takes model files as uploads."""
    idle_timeout_s: float = 5.0
    """A connection with no request in progress and nothing received for this long is closed."""
    shutdown_grace_s: float = 5.0
    """How long a shutdown waits for responses in progress before cutting them off."""


class TwinServer:
    """Serves one ASGI app on ``host:port`` until :meth:`stop` is called (from any thread)."""

    def __init__(self, app: App, host: str, port: int, limits: Limits | None = None) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.limits = limits or Limits()
        self.connections: set[HttpConnection] = set()
        self.tasks: set[asyncio.Task[None]] = set()
        self.stopping = False
        self.started = False
        self.bound_port = 0
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self._stop: asyncio.Event | None = None
        self._all_closed: asyncio.Event | None = None

    def forget(self, connection: HttpConnection) -> None:
        self.connections.discard(connection)
        if not self.connections and self._all_closed is not None:
            self._all_closed.set()

    def stop(self) -> None:
        """Ask the server to stop; safe to call from any thread, and more than once."""
        loop, event = self.loop, self._stop
        if loop is None or event is None or loop.is_closed():
            self.stopping = True
            return
        with contextlib.suppress(RuntimeError):  # the loop has just closed
            loop.call_soon_threadsafe(event.set)

    async def serve(self, *, handle_signals: bool = False) -> None:
        """Listen, serve until stopped (or SIGINT/SIGTERM when asked to handle them), shut down."""
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if self.stopping:
            return
        server = await self.loop.create_server(
            lambda: HttpConnection(self), self.host, self.port, backlog=2048
        )
        self.bound_port = server.sockets[0].getsockname()[1]
        if handle_signals:
            for signum in (signal.SIGINT, signal.SIGTERM):
                self.loop.add_signal_handler(signum, self._stop.set)
        sweeper = self.loop.create_task(self._sweep())
        self.started = True
        try:
            await self._stop.wait()
        finally:
            sweeper.cancel()
            await self._shut_down(server)

    async def _sweep(self) -> None:
        """Close idle connections, once a second."""
        while True:
            await asyncio.sleep(1.0)
            now = self.loop.time()
            for connection in list(self.connections):
                connection.close_if_idle(now)

    async def _shut_down(self, server: asyncio.AbstractServer) -> None:
        self.stopping = True
        server.close()
        self._all_closed = asyncio.Event()
        for connection in list(self.connections):
            connection.shut_down()
        if self.connections:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._all_closed.wait(), self.limits.shutdown_grace_s)
        for connection in list(self.connections):
            connection.transport.abort()
        for task in list(self.tasks):
            task.cancel()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=1.0)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 1.0)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop's event loop when it is installed (it ships with uvicorn[standard]), else asyncio's."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency of uvicorn[standard]
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


def run(server: TwinServer, *, handle_signals: bool = True) -> None:
    """Serve in this thread, on a fresh event loop, until stopped."""
    loop = new_event_loop()
    try:
        loop.run_until_complete(server.serve(handle_signals=handle_signals))
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def start_in_thread(server: TwinServer, name: str = "twin-server") -> threading.Thread:
    """Serve from a daemon thread; returns once the server listens (``server.bound_port``)."""
    thread = threading.Thread(
        target=run, args=(server,), kwargs={"handle_signals": False}, name=name, daemon=True
    )
    thread.start()
    wait_until_started(lambda: server.started, thread, f"{server.host}:{server.port}")
    return thread


def wait_until_started(
    started: Callable[[], bool], thread: threading.Thread, where: str, timeout_s: float = 15.0
) -> None:
    """Wait for a server that ``thread`` runs to listen; RuntimeError if it dies or takes too long."""
    deadline = time.monotonic() + timeout_s
    while not started():
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"The twin server did not start on {where}.")
        time.sleep(0.005)
