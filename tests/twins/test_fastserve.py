"""The twins' HTTP server (localfactory.twins.fastserve) speaking HTTP/1.1 to raw sockets.

A small ASGI app stands in for a twin here, so each test can make the server face one
situation: pipelined requests, chunked bodies both ways, HEAD, limits, an app that fails,
an idle client, a shutdown with an answer under way.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from localfactory.twins.fastserve import Limits, TwinServer, start_in_thread
from tests.twins.wire_client import Connection, chunked, connection, request

BIG_PIECES, BIG_PIECE = 200, 64 * 1024
STREAM_GATE = threading.Event()
"""Set by a test once it has read the first piece of /stream; the app waits for it."""


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Says what it received; a few paths behave badly or slowly on purpose."""
    body = (await receive())["body"]
    path = scope["path"]
    if path == "/boom":
        raise RuntimeError("the app failed")
    if path == "/slow":
        await asyncio.sleep(0.5)
    headers = [(b"content-type", b"application/json")]
    if path == "/injected":
        headers.append((b"x-note", b"fine\r\nset-cookie: stolen=1"))
    if path == "/big":  # more than the socket takes at once: the server must wait to write
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        for n in range(BIG_PIECES):
            piece = bytes([65 + n % 26]) * BIG_PIECE
            await send({"type": "http.response.body", "body": piece, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    if path == "/endless":
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        while True:
            await send({"type": "http.response.body", "body": b"tick\n", "more_body": True})
            await asyncio.sleep(0.05)
    if path == "/stream":
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b"first\n", "more_body": True})
        for _ in range(500):  # until the client has read the first piece (5 s at most)
            if STREAM_GATE.is_set():
                break
            await asyncio.sleep(0.01)
        await send({"type": "http.response.body", "body": b"second\n", "more_body": True})
        await send({"type": "http.response.body", "body": b""})
        return
    said = {
        "method": scope["method"],
        "path": path,
        "query": scope["query_string"].decode(),
        "body": body.decode(),
        "version": scope["http_version"],
    }
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(said).encode()})


@contextmanager
def served(**limits: Any) -> Iterator[TwinServer]:
    server = TwinServer(echo, "127.0.0.1", 0, Limits(**limits))
    thread = start_in_thread(server)
    try:
        yield server
    finally:
        server.stop()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    with served() as server:
        yield server.bound_port


def said(answer_body: bytes) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(answer_body)
    return decoded


def test_keep_alive_answers_many_requests_on_one_connection(port: int) -> None:
    with connection(port) as client:
        for n in range(5):
            answer = client.exchange(request("POST", f"/call?n={n}", b"x" * n))
            assert answer.status == 200 and "connection" not in answer.headers
            assert said(answer.body) == {
                "method": "POST",
                "path": "/call",
                "query": f"n={n}",
                "body": "x" * n,
                "version": "1.1",
            }


def test_pipelined_requests_are_answered_in_order(port: int) -> None:
    with connection(port) as client:
        client.send(b"".join(request("GET", f"/{name}") for name in ("a", "b", "c")))
        assert [said(client.answer().body)["path"] for _ in range(3)] == ["/a", "/b", "/c"]


def test_a_chunked_request_body_reaches_the_app_whole(port: int) -> None:
    body = chunked(b"text=", b"in+three", b"+pieces")
    raw = request("POST", "/form", body, headers={"Transfer-Encoding": "chunked"})
    with connection(port) as client:
        assert said(client.exchange(raw).body)["body"] == "text=in+three+pieces"
        assert client.exchange(request("GET", "/next")).status == 200  # still usable


def test_a_streamed_answer_is_chunked_and_sent_as_it_is_produced(port: int) -> None:
    STREAM_GATE.clear()
    with connection(port) as client:
        client.send(request("GET", "/stream"))
        status, headers = client.head()
        assert status == 200 and headers["transfer-encoding"] == "chunked"
        assert client.chunk() == b"first\n"  # arrives while the app still waits
        STREAM_GATE.set()
        assert [client.chunk(), client.chunk()] == [b"second\n", b""]
        assert said(client.exchange(request("GET", "/after")).body)["path"] == "/after"


def test_a_slow_reader_gets_a_large_stream_whole_and_in_order(port: int) -> None:
    with connection(port) as client:
        client.send(request("GET", "/big"))
        time.sleep(0.3)  # not reading: the server's writes back up and it must wait
        answer = client.answer()
        assert len(answer.body) == BIG_PIECES * BIG_PIECE
        assert [c[:1] for c in answer.chunks] == [bytes([65 + n % 26]) for n in range(BIG_PIECES)]
        assert said(client.exchange(request("GET", "/after")).body)["path"] == "/after"


def test_head_gets_the_length_of_the_body_but_not_the_body(port: int) -> None:
    with connection(port) as client:
        full = client.exchange(request("GET", "/thing"))
        head = client.exchange(request("HEAD", "/thing"), head_only=True)
        assert head.status == 200
        expected = len(full.body.replace(b'"GET"', b'"HEAD"'))
        assert head.headers["content-length"] == str(expected)
        # Had the body been sent, it would be read here as the next answer's status line.
        assert said(client.exchange(request("GET", "/after")).body)["path"] == "/after"


def test_expect_100_continue_is_answered_before_the_body_is_sent(port: int) -> None:
    head = b"POST /upload HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"
    with connection(port) as client:
        client.send(head)
        assert client.head()[0] == 100  # the client may now send the body
        client.send(b"hello")
        assert said(client.answer().body)["body"] == "hello"


@pytest.mark.parametrize(
    "raw",
    [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nno colon in this header\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_a_malformed_request_gets_400_and_the_connection_closes(port: int, raw: bytes) -> None:
    with connection(port) as client:
        answer = client.exchange(raw)
        assert answer.status == 400 and answer.headers["connection"] == "close"
        assert client.closed_by_server()


def test_bodies_over_the_limit_are_refused_with_413() -> None:
    with served(max_body_bytes=1000) as server:
        with connection(server.bound_port) as client:  # refused on its Content-Length alone
            answer = client.exchange(b"POST /x HTTP/1.1\r\nContent-Length: 1001\r\n\r\n")
            assert answer.status == 413 and client.closed_by_server()
        big = chunked(*[b"y" * 400] * 3)
        raw = request("POST", "/x", big, headers={"Transfer-Encoding": "chunked"})
        with connection(server.bound_port) as client:  # refused as the chunks add up
            assert client.exchange(raw).status == 413 and client.closed_by_server()
        with connection(server.bound_port) as client:  # at the limit: served
            assert (
                len(said(client.exchange(request("POST", "/x", b"z" * 1000)).body)["body"]) == 1000
            )


def test_heads_over_the_limit_are_refused_with_431() -> None:
    with served(max_head_bytes=4096, max_headers=20) as server:
        cases = [
            {"X-Big": "v" * 5000},  # one header too large, arriving in one piece
            {f"X-{n}": "v" for n in range(21)},  # too many headers
        ]
        for headers in cases:
            with connection(server.bound_port) as client:
                answer = client.exchange(request("GET", "/", headers=headers))
                assert answer.status == 431 and client.closed_by_server()
        with connection(server.bound_port) as client:  # a header that never ends
            client.send(b"GET / HTTP/1.1\r\nX-Endless: ")
            for _ in range(10):
                client.send(b"v" * 1000)
                time.sleep(0.01)
            assert client.answer().status == 431
        with connection(server.bound_port) as client:
            assert (
                client.exchange(request("GET", "/", headers={"X-Fine": "v" * 3000})).status == 200
            )


def test_an_app_that_fails_gets_a_500_and_the_connection_closes(port: int) -> None:
    with connection(port) as client:
        answer = client.exchange(request("GET", "/boom"))
        assert (answer.status, answer.body) == (500, b"Internal Server Error")
        assert client.closed_by_server()


def test_a_header_that_would_split_the_answer_is_never_sent(port: int) -> None:
    with connection(port) as client:
        client.send(request("GET", "/injected"))
        status, headers = client.head()
        assert status == 500 and "set-cookie" not in headers


def test_http_1_0_without_keep_alive_closes_after_the_answer(port: int) -> None:
    with connection(port) as client:
        answer = client.exchange(b"GET /old HTTP/1.0\r\n\r\n")
        assert said(answer.body)["version"] == "1.0" and answer.headers["connection"] == "close"
        assert client.closed_by_server()


def test_a_client_that_stops_sending_still_gets_its_answer(port: int) -> None:
    with connection(port) as client:
        client.send(request("GET", "/slow"))
        client.sock.shutdown(socket.SHUT_WR)  # half-closed: done asking, still listening
        assert said(client.answer().body)["path"] == "/slow"
        assert client.closed_by_server()


def test_idle_connections_are_closed() -> None:
    with served(idle_timeout_s=0.2) as server, connection(server.bound_port) as client:
        assert client.exchange(request("GET", "/")).status == 200
        started = time.monotonic()
        assert client.closed_by_server()  # the sweep runs once a second
        assert time.monotonic() - started < 3


def test_shutdown_cuts_off_an_answer_that_outlasts_the_grace_period() -> None:
    with served(shutdown_grace_s=0.3) as server, connection(server.bound_port) as client:
        client.send(request("GET", "/endless"))
        assert client.head()[0] == 200 and client.chunk() == b"tick\n"
        stopped = time.monotonic()
        server.stop()
        with pytest.raises((ConnectionError, ValueError)):  # cut off: no closing chunk
            while True:  # ticks until the server gives up on the answer
                assert client.chunk() == b"tick\n"
        assert time.monotonic() - stopped < 5


def test_shutdown_lets_an_answer_under_way_finish_then_stops_listening() -> None:
    with served() as server:
        port = server.bound_port
        slow = Connection(port)
        idle = Connection(port)
        try:
            slow.send(request("GET", "/slow"))
            time.sleep(0.1)  # the app is now sleeping
            server.stop()
            answer = slow.answer()
            assert said(answer.body)["path"] == "/slow"
            assert answer.headers["connection"] == "close" and slow.closed_by_server()
            assert idle.closed_by_server()
        finally:
            slow.close()
            idle.close()
        with pytest.raises(OSError):
            Connection(port, timeout_s=2).exchange(request("GET", "/"))
