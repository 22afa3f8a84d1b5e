"""Reference for examples/suite/hard/rate-limiter.md."""

from collections import deque


class RateLimiter:
    def __init__(self, limit: int, window: float) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if window <= 0:
            raise ValueError("window must be above 0")
        self.limit = limit
        self.window = window
        self._calls: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float) -> bool:
        calls = self._calls.setdefault(key, deque())
        while calls and calls[0] <= now - self.window:
            calls.popleft()
        if len(calls) >= self.limit:
            return False
        calls.append(now)
        return True
