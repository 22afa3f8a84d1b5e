"""The request journal: the last N requests a twin served, for tests that ask "what was called?"."""

from __future__ import annotations

import time
from collections import deque
from typing import Any

DEFAULT_CAPACITY = 1000


class Journal:
    """A bounded record of requests; the oldest entries fall off once it is full.

    Entries are stored as tuples (cheap on the hot path) and turned into dictionaries
    only when someone reads them.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = max(1, capacity)
        self.total = 0
        self._entries: deque[tuple[Any, ...]] = deque(maxlen=self.capacity)

    def record(
        self,
        method: str,
        path: str,
        operation: str | None,
        status: int,
        started: float,
        fault: str | None,
        args: Any,
    ) -> None:
        self.total += 1
        elapsed_ms = (time.perf_counter() - started) * 1000
        self._entries.append(
            (self.total, time.time(), method, path, operation, status, elapsed_ms, fault, args)
        )

    def clear(self) -> None:
        self._entries.clear()
        self.total = 0

    def entries(
        self, limit: int | None = None, operation: str | None = None
    ) -> list[dict[str, Any]]:
        """Recorded requests, oldest first; at most ``limit`` of the newest ones."""
        rows = [e for e in self._entries if operation is None or e[4] == operation]
        if limit is not None:
            rows = rows[-limit:] if limit > 0 else []
        return [
            {
                "seq": seq,
                "at": at,
                "method": method,
                "path": path,
                "operation": op,
                "status": status,
                "duration_ms": round(ms, 3),
                "fault": fault,
                "args": args,
            }
            for seq, at, method, path, op, status, ms, fault, args in rows
        ]

    def summary(self) -> dict[str, Any]:
        return {"capacity": self.capacity, "total": self.total, "kept": len(self._entries)}
