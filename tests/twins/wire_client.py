"""A raw HTTP/1.1 client for the server tests: bytes on a socket, answers read exactly.

Library clients hide what these tests are about (how many answers came on one
connection, whether a body was chunked, whether the server closed the socket), so the
tests write requests by hand and read answers with this small reader.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    """Lower-case names; a repeated header keeps its last value."""
    body: bytes
    chunks: list[bytes]
    """The body's pieces as framed on the wire (empty unless it was chunked)."""


class Connection:
    """One client socket and a buffered reader over it."""

    def __init__(self, port: int, timeout_s: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout_s)
        self.reader = self.sock.makefile("rb")

    def send(self, raw: bytes) -> None:
        self.sock.sendall(raw)

    def head(self) -> tuple[int, dict[str, str]]:
        """The status line and headers of the next answer (1xx answers included)."""
        status_line = self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        headers: dict[str, str] = {}
        while (line := self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        return status, headers

    def chunk(self) -> bytes:
        """The next piece of a chunked body (b"" for the last one, trailers skipped)."""
        size = int(self.reader.readline().split(b";")[0], 16)
        if size == 0:
            while self.reader.readline() not in (b"\r\n", b""):
                pass
            return b""
        data = self.reader.read(size)
        assert self.reader.read(2) == b"\r\n"
        return data

    def answer(self, head_only: bool = False) -> Answer:
        status, headers = self.head()
        if head_only or status in (204, 304):
            return Answer(status, headers, b"", [])
        if headers.get("transfer-encoding") == "chunked":
            chunks = list(iter(self.chunk, b""))
            return Answer(status, headers, b"".join(chunks), chunks)
        body = self.reader.read(int(headers.get("content-length", "0")))
        return Answer(status, headers, body, [])

    def exchange(self, raw: bytes, head_only: bool = False) -> Answer:
        self.send(raw)
        return self.answer(head_only)

    def closed_by_server(self) -> bool:
        """True when the server has closed its end (nothing more to read)."""
        try:
            return self.reader.read(1) == b""
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.reader.close()
        self.sock.close()


@contextmanager
def connection(port: int, timeout_s: float = 10.0) -> Iterator[Connection]:
    opened = Connection(port, timeout_s)
    try:
        yield opened
    finally:
        opened.close()


def request(
    method: str, target: str, body: bytes = b"", *, headers: dict[str, str] | None = None
) -> bytes:
    """A request with ``Host`` and (for a body, unless chunked) ``Content-Length``."""
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    given = {k.lower() for k in headers or {}}
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if (body or method in ("POST", "PUT")) and "transfer-encoding" not in given:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def chunked(*pieces: bytes) -> bytes:
    """``pieces`` framed as a chunked body, with the closing empty chunk."""
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"
