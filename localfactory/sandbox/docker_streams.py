"""The container's attached stream, split for :class:`CappedOutput`, and stdin fed to it.

The engine multiplexes stdout and stderr on one socket (stdin goes the other way on it).
:class:`Streams` splits the frames into two pipes that :class:`CappedOutput` reads as it
reads a local process's, and holds back the end of stderr, where the container's init
writes its report (see :mod:`localfactory.sandbox.container_init`), to take it off.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
from typing import Any

from localfactory.sandbox.capture import CappedOutput

_HOLD = 8192
"""Bytes of stderr held back until the end, where the init's report is taken off."""


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


class Streams(threading.Thread):
    """Splits the container's attached stream into two pipes (read by :class:`CappedOutput`),
    and takes the init's report off the end of stderr."""

    def __init__(self, attached: Any, marker: str, cap: int) -> None:
        super().__init__(daemon=True)
        self.attached = attached
        self.status: dict[str, Any] | None = None
        self._marker = f"\n{marker}".encode()
        out_r, self._out_w = os.pipe()
        err_r, self._err_w = os.pipe()
        self.out = CappedOutput(os.fdopen(out_r, "rb"), cap)
        self.err = CappedOutput(os.fdopen(err_r, "rb"), cap)

    def run(self) -> None:
        from docker.utils.socket import STDOUT, frames_iter

        held = b""
        try:
            for stream, data in frames_iter(self.attached, False):
                if stream == STDOUT:
                    write_all(self._out_w, data)
                    continue
                held += data
                if len(held) > _HOLD:
                    write_all(self._err_w, held[:-_HOLD])
                    held = held[-_HOLD:]
        except (OSError, ValueError):
            pass  # the engine closed the stream: the container is gone
        finally:
            found = held.rfind(self._marker)
            if found >= 0:
                line = held[found + len(self._marker) :].split(b"\n", 1)[0]
                with contextlib.suppress(ValueError):
                    self.status = json.loads(line)
                held = held[:found]
            with contextlib.suppress(OSError):
                write_all(self._err_w, held)
            os.close(self._out_w)
            os.close(self._err_w)

    @property
    def total(self) -> int:
        return self.out.total + self.err.total


def feed(attached: Any, data: bytes) -> None:
    """Write stdin in a thread (the command may not read it), then end it with a half-close."""
    raw: socket.socket = getattr(attached, "_sock", attached)

    def write() -> None:
        with contextlib.suppress(OSError):
            raw.sendall(data)
            raw.shutdown(socket.SHUT_WR)

    threading.Thread(target=write, daemon=True).start()
