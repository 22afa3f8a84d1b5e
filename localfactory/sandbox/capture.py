"""Capturing a stream under a size cap: keep the head and the tail, count what was cut.

Test runners print their summary last, so the tail matters as much as the head.
"""

from __future__ import annotations

import threading
from typing import IO


class CappedOutput:
    """Reads a pipe to its end in a thread, keeping at most ``cap`` bytes (half head, half tail)."""

    def __init__(
        self, stream: IO[bytes], cap: int, on_bytes: threading.Event | None = None
    ) -> None:
        self.cap = max(cap, 2)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0
        self._stream = stream
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        half = self.cap // 2
        try:
            while chunk := self._stream.read1(65536):  # type: ignore[attr-defined]
                self.total += len(chunk)
                room = half - len(self.head)
                if room > 0:
                    self.head += chunk[:room]
                    chunk = chunk[room:]
                if chunk:
                    self.tail += chunk
                    if len(self.tail) > 2 * half:
                        del self.tail[: len(self.tail) - half]
        except (OSError, ValueError):
            pass

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    @property
    def cut(self) -> int:
        kept = len(self.head) + min(len(self.tail), self.cap - len(self.head))
        return max(self.total - kept, 0)

    def text(self) -> str:
        tail = bytes(self.tail[-(self.cap - len(self.head)) :]) if self.tail else b""
        head = bytes(self.head).decode("utf-8", "replace")
        if not self.cut:
            return (bytes(self.head) + tail).decode("utf-8", "replace")
        note = f"\n[... {self.cut} bytes cut by the sandbox's output limit ...]\n"
        return head + note + tail.decode("utf-8", "replace")
