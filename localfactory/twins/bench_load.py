"""The load generator of ``localfactory bench twin``: a separate process, kept cheap.

It keeps ``concurrency`` keep-alive HTTP/1.1 connections to one server on loopback and
sends each the next request of a fixed mix as soon as the previous answer is in. Requests
are pre-rendered bytes with one placeholder filled per request, and answers are only
read as far as their length and status (plus a marker of success): a generator that
parses JSON would measure itself. It reports its own CPU time so the bench can say what
the generator cost, and stops by itself after the warm-up and the measured seconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import resource
import statistics
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

_STATUS = re.compile(rb"HTTP/1\.[01] (\d{3})")
_LENGTH = re.compile(rb"\r\ncontent-length: *(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class Request:
    """One kind of call in the mix; ``{n}`` (a counter) and ``{ts}`` in the body are filled per request."""

    name: str
    head: str
    """Request line and headers, up to (not including) ``Content-Length``."""

    body: str = ""
    ok_marker: bytes = b""
    """Bytes a successful answer contains (Slack answers errors with status 200)."""

    takes_ts: bool = False
    """Fills ``{ts}`` with a message posted earlier in the run (each used once)."""

    gives_ts: bool = False
    """Its answer carries the ``ts`` of something later requests may act on."""

    def render(self, n: int, ts: str) -> bytes:
        body = self.body.replace("{n}", str(n)).replace("{ts}", ts).encode()
        return f"{self.head}Content-Length: {len(body)}\r\n\r\n".encode() + body


@dataclass(frozen=True)
class LoadPlan:
    host: str
    port: int
    mix: tuple[Request, ...]
    seeds: tuple[str, ...]
    concurrency: int
    warmup_s: float
    seconds: float
    server_pid: int = 0
    """The server's process, whose CPU time over the measured window is reported too."""
    result_path: str = ""
    """Where the result goes (JSON); standard output when empty. A file, because anything
    else that writes to standard output (a library's warning) would split the JSON."""


@dataclass
class LoadResult:
    latencies_ms: dict[str, list[float]] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    first_failure: str = ""
    elapsed_s: float = 0.0
    cpu_s: float = 0.0
    server_cpu_s: float = 0.0
    connection_errors: int = 0
    produced: int = 0
    """Answers that gave a ``ts`` (warm-up included): what the server must now keep."""
    unused: list[str] = field(default_factory=list)
    """Timestamps given but not yet acted on: the seeds of a further run on the same world."""

    @classmethod
    def merged(cls, results: list[LoadResult]) -> LoadResult:
        """Several runs against one server as one (the bench loads each side in rounds)."""
        total = cls(unused=results[-1].unused if results else [])
        for result in results:
            for name, values in result.latencies_ms.items():
                total.latencies_ms.setdefault(name, []).extend(values)
            for name, count in result.failures.items():
                total.failures[name] = total.failures.get(name, 0) + count
            total.first_failure = total.first_failure or result.first_failure
            total.elapsed_s += result.elapsed_s
            total.cpu_s += result.cpu_s
            total.server_cpu_s += result.server_cpu_s
            total.connection_errors += result.connection_errors
            total.produced += result.produced
        return total


_TS = re.compile(rb'"ts":"([0-9.]+)"')


class _Run:
    def __init__(self, plan: LoadPlan) -> None:
        self.plan = plan
        self.result = LoadResult(
            latencies_ms={r.name: [] for r in plan.mix}, failures={r.name: 0 for r in plan.mix}
        )
        self.recent: deque[str] = deque(plan.seeds, maxlen=4096)
        self.counter = 0
        self.measuring = False
        self.stopping = False

    def next_request(self) -> tuple[Request, bytes]:
        self.counter += 1
        request = self.plan.mix[self.counter % len(self.plan.mix)]
        ts = ""
        if request.takes_ts:
            ts = self.recent.popleft() if len(self.recent) > 1 else self.recent[0]
        return request, request.render(self.counter, ts)

    def answered(self, request: Request, status: int, body: bytes, took_ms: float) -> None:
        """Count one answer (``took_ms`` after its request was sent)."""
        if request.gives_ts and (found := _TS.search(body)):
            self.recent.append(found.group(1).decode())
            self.result.produced += 1
        if not self.measuring:
            return
        self.result.latencies_ms[request.name].append(took_ms)
        if status >= 300 or (request.ok_marker and request.ok_marker not in body):
            self.result.failures[request.name] += 1
            if not self.result.first_failure:
                self.result.first_failure = f"{request.name}: {status} {body[:200]!r}"

    async def run(self) -> LoadResult:
        loop = asyncio.get_running_loop()
        clients = [_Client(self, loop) for _ in range(self.plan.concurrency)]
        for client in clients:
            try:
                await loop.create_connection(client.itself, self.plan.host, self.plan.port)
            except OSError:
                self.result.connection_errors += 1
                client.done.set_result(None)
        await asyncio.sleep(self.plan.warmup_s)
        self.measuring = True
        began, cpu = time.perf_counter(), _cpu_seconds()
        server_cpu = process_cpu_seconds(self.plan.server_pid)
        await asyncio.sleep(self.plan.seconds)
        self.measuring = False
        self.result.elapsed_s = time.perf_counter() - began
        self.result.cpu_s = _cpu_seconds() - cpu
        self.result.server_cpu_s = process_cpu_seconds(self.plan.server_pid) - server_cpu
        self.stopping = True
        await asyncio.wait([c.done for c in clients], timeout=5)
        self.result.unused = list(self.recent)
        return self.result


class _Client(asyncio.Protocol):
    """One keep-alive connection: sends a request, reads its answer, sends the next.

    A protocol rather than a coroutine per connection: the generator shares the machine
    with the server it measures, so each answer costs it one callback and no futures.
    """

    def __init__(self, run: _Run, loop: asyncio.AbstractEventLoop) -> None:
        self.run = run
        self.done: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.request: Request | None = None
        self.sent = 0.0

    def itself(self) -> _Client:
        """The protocol factory ``create_connection`` asks for: this very client."""
        return self

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.send_next()

    def send_next(self) -> None:
        assert self.transport is not None
        if self.run.stopping:
            self.transport.close()
            return
        self.request, raw = self.run.next_request()
        self.sent = time.perf_counter()
        self.transport.write(raw)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        try:
            reply = take_reply(self.buffer)
        except ConnectionError:
            self.run.result.connection_errors += 1
            assert self.transport is not None
            self.transport.close()
            return
        if reply is None:
            return
        took = (time.perf_counter() - self.sent) * 1000.0
        assert self.request is not None
        self.run.answered(self.request, reply[0], reply[1], took)
        self.send_next()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.run.stopping:
            self.run.result.connection_errors += 1
        if not self.done.done():
            self.done.set_result(None)


def take_reply(buffer: bytearray) -> tuple[int, bytes] | None:
    """The first whole answer (status, body) in ``buffer``, removed from it; None until whole."""
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buffer[: end + 2])
    status_match, length_match = _STATUS.match(head), _LENGTH.search(head)
    if status_match is None:
        raise ConnectionError(f"not an HTTP answer: {head[:80]!r}")
    length = int(length_match.group(1)) if length_match else 0
    total = end + 4 + length
    if len(buffer) < total:
        return None
    body = bytes(buffer[end + 4 : total])
    del buffer[:total]
    return int(status_match.group(1)), body


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user and system) of a process and its children so far; 0 when it is unknown."""
    if pid <= 0:
        return 0.0
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except (OSError, IndexError, ValueError):
        return total
    return total + sum(process_cpu_seconds(int(child)) for child in children)


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def generate(plan: LoadPlan) -> LoadResult:
    """Run the plan to its end (in this process; the bench runs it in a child process)."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        return asyncio.run(_Run(plan).run())
    return uvloop.run(_Run(plan).run())


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def summary(result: LoadResult) -> dict[str, Any]:
    """What the bench reports, per kind of call and overall (latencies are not sent back)."""
    every = [ms for values in result.latencies_ms.values() for ms in values]
    per_call = {
        name: {
            "count": len(values),
            "failures": result.failures[name],
            "p50_ms": statistics.median(values) if values else float("nan"),
            "p99_ms": percentile(values, 0.99),
        }
        for name, values in result.latencies_ms.items()
    }
    return {
        "requests": len(every),
        "failures": sum(result.failures.values()),
        "first_failure": result.first_failure,
        "rps": len(every) / result.elapsed_s if result.elapsed_s else 0.0,
        "p50_ms": percentile(every, 0.50),
        "p99_ms": percentile(every, 0.99),
        "generator_cores": result.cpu_s / result.elapsed_s if result.elapsed_s else 0.0,
        "server_cores": result.server_cpu_s / result.elapsed_s if result.elapsed_s else 0.0,
        "connection_errors": result.connection_errors,
        "produced": result.produced,
        "per_call": per_call,
    }


def plan_to_json(plan: LoadPlan) -> str:
    return json.dumps(asdict(plan), default=lambda b: b.decode("latin-1"))


def _plan_from_json(text: str) -> LoadPlan:
    raw = json.loads(text)
    mix = tuple(
        Request(**{**r, "ok_marker": r["ok_marker"].encode("latin-1")}) for r in raw.pop("mix")
    )
    return LoadPlan(**{**raw, "mix": mix, "seeds": tuple(raw["seeds"])})


def main() -> None:
    """``python -m localfactory.twins.bench_load``: a plan (JSON) on stdin, the result (JSON) out.

    The result is raw (every latency), so that runs in rounds can be merged before the
    percentiles are taken (see :func:`summary`).
    """
    plan = _plan_from_json(sys.stdin.read())
    text = json.dumps(asdict(generate(plan)))
    if plan.result_path:
        Path(plan.result_path).write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
