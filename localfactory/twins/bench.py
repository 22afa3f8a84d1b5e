"""``localfactory bench twin NAME``: one twin process under load, beside uvicorn and Prism.

The twin runs as it does for ``twin up --local`` (``python -m localfactory.twins.serve``,
one process, one event loop, its own HTTP server), with a fresh world; the mix of calls a
real client makes is prepared against it (see :mod:`localfactory.twins.bench_mix`) and
sent by a load generator in a process of its own (:mod:`localfactory.twins.bench_load`),
which also reports what it cost. Then the same twin, served by uvicorn instead
(``--server uvicorn``), gets the same calls in a fresh world, so the server's gain is a
ratio measured in the same run; and Prism mocks the twin's own ``/openapi.json`` and gets
the very same calls. Targets: at least 5,000 requests/s with p99 under 10 ms for the one
twin process on a 2-core machine, and ahead of Prism while keeping state.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localfactory.errors import UserError
from localfactory.twins.bench_load import LoadPlan, LoadResult, plan_to_json, summary
from localfactory.twins.bench_mix import Prepared, mix_for
from localfactory.twins.bench_prism import PRISM_VERSION, prism_command, start_prism
from localfactory.twins.catalog import get_twin

TARGET_RPS = 5000.0
TARGET_P99_MS = 10.0
START_TIMEOUT_S = 60.0

Say = Callable[[str], None]


@dataclass
class TwinBench:
    """Both sides' figures and the twin's kept state; :meth:`lines` prints them with verdicts."""

    name: str
    seconds: float
    concurrency: int
    calls: str
    twin: dict[str, Any]
    rounds: int = 1
    """The twin sides took the load in this many alternating rounds."""
    kept: tuple[int, int] = (0, 0)
    seeded: int = 0
    uvicorn: dict[str, Any] | None = None
    """The same twin served by uvicorn (``--server uvicorn``), loaded the same way."""
    uvicorn_kept_everything: bool = True
    prism: dict[str, Any] | None = None
    prism_note: str = ""
    load: tuple[float, float] = (0.0, 0.0)
    """The machine's 1-minute load average when the bench began and when it ended."""
    notes: list[str] = field(default_factory=list)

    @property
    def meets_speed(self) -> bool:
        return self.twin["rps"] >= TARGET_RPS and self.twin["p99_ms"] < TARGET_P99_MS

    @property
    def kept_everything(self) -> bool:
        return self.kept[0] == self.seeded + self.twin["produced"]

    @property
    def ahead_of_prism(self) -> bool:
        prism = self.prism
        return (
            prism is not None
            and self.kept_everything
            and self.twin["rps"] > prism["rps"]
            and self.twin["p99_ms"] <= prism["p99_ms"]
        )

    def lines(self) -> list[str]:
        out = [
            f"Twin bench: {self.name}, {self.seconds:g} s per side ({self._turns()}), "
            f"{self.concurrency} connections, 127.0.0.1, {os.cpu_count()} cores, load average "
            f"{self.load[0]:.2f} at the start and {self.load[1]:.2f} at the end",
            f"Mix: {self.calls}",
            f"{'':<16}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'failed':>16}"
            f"{'server cores':>14}{'generator cores':>17}",
            _row(f"twin ({self.name})", self.twin),
        ]
        if self.uvicorn is not None:
            out.append(_row("twin on uvicorn", self.uvicorn))
        if self.prism is not None:
            out.append(_row(f"prism {PRISM_VERSION}", self.prism))
        else:
            out.append(f"prism {PRISM_VERSION}: not measured ({self.prism_note})")
        for name, call in self.twin["per_call"].items():
            out.append(
                f"  twin {name:<24} {call['count']:>8,} calls  p50 {call['p50_ms']:6.2f} ms  "
                f"p99 {call['p99_ms']:6.2f} ms  {call['failures']:,} failed"
            )
        for side, stats in self._sides():
            if stats is not None and stats["first_failure"]:
                out.append(f"  first {side} failure: {stats['first_failure']}")
        for side, stats in self._sides():
            if stats is not None and stats["server_cores"] > 0:
                per_core = stats["requests"] / (stats["server_cores"] * self.seconds)
                generator_us = stats["generator_cores"] * self.seconds / stats["requests"] * 1e6
                out.append(
                    f"{side}: {1e6 / per_core:,.0f} µs of server CPU per request, so one "
                    f"whole core would serve ~{per_core:,.0f} req/s; the load generator "
                    f"spent {generator_us:,.0f} µs per request"
                )
        if self.uvicorn is not None:
            out.append(
                f"twin / twin on uvicorn: {_ratio(self.twin, self.uvicorn, 'rps')} the requests "
                f"per second, p50 {_ratio(self.twin, self.uvicorn, 'p50_ms')}, p99 "
                f"{_ratio(self.twin, self.uvicorn, 'p99_ms')}, server CPU per request "
                f"{_ratio(self.uvicorn, self.twin, 'rps_per_core')}"
            )
        if self.prism is not None:
            out.append(
                f"twin / prism: {self.twin['rps'] / max(self.prism['rps'], 1e-9):.2f}x the "
                f"requests per second, p99 {self.twin['p99_ms'] / self.prism['p99_ms']:.2f}x"
            )
        messages, reacted = self.kept
        posted = self.twin["produced"]
        out.append(
            f"State: the twin keeps {messages:,} messages ({self.seeded} seeded + {posted:,} "
            f"posted under load{'' if self.kept_everything else ': SOME WERE LOST'}), "
            f"{reacted:,} with a reaction; Prism keeps nothing"
        )
        if not self.uvicorn_kept_everything:
            out.append("State: the twin on uvicorn LOST some of the messages posted to it")
        out += self.notes
        speed = "PASS" if self.meets_speed else "MISS"
        out.append(
            f"target: >= {TARGET_RPS:,.0f} req/s with p99 < {TARGET_P99_MS:g} ms for one twin "
            f"process: {speed} ({self.twin['rps']:,.0f} req/s, p99 {self.twin['p99_ms']:.2f} ms)"
        )
        ahead = "PASS" if self.ahead_of_prism else "MISS"
        out.append(f"target: ahead of Prism while keeping state: {ahead}")
        return out

    def _turns(self) -> str:
        if self.uvicorn is None or self.rounds < 2:
            return "in one run"
        return f"the twin sides in {self.rounds} alternating rounds"

    def _sides(self) -> list[tuple[str, dict[str, Any] | None]]:
        return [("twin", self.twin), ("twin on uvicorn", self.uvicorn), ("prism", self.prism)]


def _ratio(ours: dict[str, Any], theirs: dict[str, Any], key: str) -> str:
    """``ours[key] / theirs[key]`` as ``2.10x``; ``rps_per_core`` is requests per server core."""

    def value(stats: dict[str, Any]) -> float:
        if key == "rps_per_core":
            return float(stats["rps"]) / max(float(stats["server_cores"]), 1e-9)
        return float(stats[key])

    return f"{value(ours) / max(value(theirs), 1e-9):.2f}x"


def _row(label: str, stats: dict[str, Any]) -> str:
    failed = f"{stats['failures']:,}/{stats['requests']:,}"
    return (
        f"{label:<16}{stats['rps']:>9,.0f}{stats['p50_ms']:>9.2f}{stats['p99_ms']:>9.2f}"
        f"{failed:>16}{stats['server_cores']:>14.2f}{stats['generator_cores']:>17.2f}"
    )


@dataclass
class _TwinSide:
    """One twin process (on one HTTP server) with its own fresh world, loaded in rounds."""

    server_kind: str
    process: subprocess.Popen[bytes]
    port: int
    prepared: Prepared | None = None
    results: list[LoadResult] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def label(self) -> str:
        return "" if self.server_kind == "fast" else f" on {self.server_kind}"

    def next_seeds(self) -> tuple[str, ...]:
        """What the next round acts on: the seeds, then what earlier rounds left unused."""
        assert self.prepared is not None
        return tuple(self.results[-1].unused) if self.results else self.prepared.seeds


def _start_twin(name: str, server_kind: str, work: Path) -> _TwinSide:
    port = _free_port()
    command = [sys.executable, "-m", "localfactory.twins.serve", name, "--host", "127.0.0.1"]
    command += ["--port", str(port), "--snapshot-dir", str(work / f"snapshots-{server_kind}")]
    command += ["--server", server_kind]
    log_path = work / f"twin-{server_kind}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    side = _TwinSide(server_kind, process, port)
    try:
        _wait_until_answering(side.url, process, log_path, f"the {name} twin ({server_kind})")
    except BaseException:
        _stop(process)
        raise
    return side


def run(
    name: str,
    *,
    seconds: float = 10.0,
    concurrency: int = 16,
    warmup_s: float = 1.0,
    rounds: int = 2,
    prism: bool = True,
    uvicorn: bool = True,
    say: Say = print,
) -> TwinBench:
    """Load the twin and the twin on uvicorn in turns, then Prism, with the same calls.

    The two twin processes run side by side, each with its own world, and take the load
    in alternating rounds (``seconds / rounds`` each): work elsewhere on the machine then
    weighs on both alike, and their ratio means something even on a busy machine.
    """
    get_twin(name)
    mix = mix_for(name)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-twin-") as folder:
        work = Path(folder)
        sides: list[_TwinSide] = []
        try:
            for kind in ("fast", "uvicorn") if uvicorn else ("fast",):
                sides.append(_start_twin(name, kind, work))
            for side in sides:
                side.prepared = mix.prepare(side.url)
            for round_number in range(1, rounds + 1):
                for side in sides:
                    say(
                        f"Loading the {name} twin{side.label} (pid {side.process.pid}) for "
                        f"{seconds / rounds:g} s (round {round_number} of {rounds}) ..."
                    )
                    assert side.prepared is not None
                    plan = _plan(
                        side.port,
                        mix.render(side.port, side.prepared),
                        side.next_seeds(),
                        concurrency,
                        warmup_s,
                        seconds / rounds,
                    )
                    side.results.append(_load(plan, side.process.pid))
            fast, *others = sides
            assert fast.prepared is not None
            merged = LoadResult.merged(fast.results)
            report = TwinBench(
                name, seconds, concurrency, mix.calls, summary(merged), rounds=rounds
            )
            report.seeded = len(fast.prepared.seeds)
            report.kept = mix.kept(fast.url, fast.prepared)
            for other in others:
                assert other.prepared is not None
                merged_other = LoadResult.merged(other.results)
                report.uvicorn = summary(merged_other)
                kept = mix.kept(other.url, other.prepared)[0]
                expected = len(other.prepared.seeds) + merged_other.produced
                report.uvicorn_kept_everything = kept == expected
            document = work / "openapi.json"
            with urllib.request.urlopen(fast.url + "/openapi.json", timeout=10) as response:
                document.write_bytes(response.read())
        finally:
            for side in sides:
                _stop(side.process)
        if prism:
            _run_prism(report, document, mix.render, fast.prepared, work, warmup_s, say)
        else:
            report.prism_note = "--no-prism"
    load = os.getloadavg()[0]
    report.load = (load_before, load)
    if report.twin["server_cores"] < 0.8:
        report.notes.append(
            f"note: the twin process got only {report.twin['server_cores']:.2f} of a core "
            f"(load average {load:.1f} on {os.cpu_count()} cores): other work on this machine "
            "held it back, so its req/s and latency understate it"
        )
    for side_name, stats in report._sides():
        if stats is not None and stats["generator_cores"] > 0.9:
            report.notes.append(
                f"note: the load generator used {stats['generator_cores']:.2f} cores on the "
                f"{side_name} side; it may be what limits that figure"
            )
    return report


def _run_prism(
    report: TwinBench,
    document: Path,
    render: Callable[[int, Prepared], Any],
    prepared: Prepared,
    work: Path,
    warmup_s: float,
    say: Say,
) -> None:
    try:
        binary = prism_command(say)
    except UserError as exc:
        report.prism_note = exc.message
        return
    port = _free_port()
    server = start_prism(binary, document, port, work / "prism.log")
    try:
        _wait_until_answering(f"http://127.0.0.1:{port}", server, work / "prism.log", "Prism")
        say(f"Loading Prism (pid {server.pid}) with the same calls for {report.seconds:g} s ...")
        plan = _plan(
            port,
            render(port, prepared),
            prepared.seeds,
            report.concurrency,
            warmup_s,
            report.seconds,
        )
        report.prism = summary(_load(plan, server.pid))
    finally:
        _stop(server)


def _plan(
    port: int,
    mix: Any,
    seeds: tuple[str, ...],
    concurrency: int,
    warmup_s: float,
    seconds: float,
) -> LoadPlan:
    return LoadPlan(
        host="127.0.0.1",
        port=port,
        mix=mix,
        seeds=seeds,
        concurrency=concurrency,
        warmup_s=warmup_s,
        seconds=seconds,
    )


def _load(plan: LoadPlan, server_pid: int) -> LoadResult:
    """Run the load generator in its own process; what it measured (every latency)."""
    with tempfile.TemporaryDirectory(prefix="twin-load-") as folder:
        result = Path(folder) / "result.json"
        plan = LoadPlan(**{**plan.__dict__, "server_pid": server_pid, "result_path": str(result)})
        done = subprocess.run(
            [sys.executable, "-m", "localfactory.twins.bench_load"],
            input=plan_to_json(plan),
            capture_output=True,
            text=True,
            timeout=plan.warmup_s + plan.seconds + 60,
        )
        if done.returncode != 0 or not result.is_file():
            last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise UserError(f"The load generator failed: {last}")
        return LoadResult(**json.loads(result.read_text()))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_answering(url: str, server: subprocess.Popen[bytes], log: Path, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
            raise UserError(f"{what} exited as it started: {tail[0]}")
        try:
            with urllib.request.urlopen(url + "/", timeout=1):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it listens
        except OSError:
            time.sleep(0.1)
    raise UserError(f"{what} did not answer on {url} within {START_TIMEOUT_S:.0f} s.")


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            server.kill()
        server.wait()
