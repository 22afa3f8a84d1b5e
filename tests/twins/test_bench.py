"""`localfactory bench twin`: the load generator's reading of answers, and short real runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from localfactory.twins import bench
from localfactory.twins.bench_load import LoadResult, Request, percentile, summary, take_reply


def test_answers_are_read_whole_across_partial_and_joined_packets() -> None:
    first = b'HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n{"ok":true}'
    second = b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}"
    buffer = bytearray(first[:20])  # a head cut in two
    assert take_reply(buffer) is None
    buffer += first[20:-3]  # the whole head, part of the body
    assert take_reply(buffer) is None
    buffer += first[-3:] + second  # the rest, with the next answer joined on
    assert take_reply(buffer) == (200, b'{"ok":true}')
    assert take_reply(buffer) == (404, b"{}")
    assert buffer == bytearray()


def test_something_that_is_not_http_is_a_connection_error() -> None:
    with pytest.raises(ConnectionError):
        take_reply(bytearray(b"SSH-2.0-OpenSSH\r\n\r\n"))


def test_requests_carry_their_own_length() -> None:
    request = Request("chat.postMessage", "POST /api/x HTTP/1.1\r\n", "text=é+{n}&ts={ts}")
    raw = request.render(12345, "17.5")
    head, body = raw.split(b"\r\n\r\n")
    assert body == "text=é+12345&ts=17.5".encode()
    assert head.endswith(f"Content-Length: {len(body)}".encode())


def test_rounds_against_one_server_add_up_to_one_run() -> None:
    first = LoadResult(
        latencies_ms={"a": [1.0, 2.0]},
        failures={"a": 0},
        elapsed_s=1.0,
        server_cpu_s=0.5,
        produced=3,
        unused=["1.1", "1.2"],
    )
    second = LoadResult(
        latencies_ms={"a": [3.0], "b": [4.0]},
        failures={"a": 1, "b": 0},
        first_failure="a: 200 b'{\"ok\":false}'",
        elapsed_s=2.0,
        server_cpu_s=1.0,
        produced=1,
        unused=["1.2"],
    )
    merged = summary(LoadResult.merged([first, second]))
    assert merged["requests"] == 4 and merged["rps"] == 4 / 3.0
    assert merged["failures"] == 1 and merged["first_failure"].startswith("a: 200")
    assert merged["server_cores"] == 0.5 and merged["produced"] == 4
    assert merged["per_call"]["a"]["count"] == 3 and merged["p99_ms"] == 4.0
    assert LoadResult.merged([first, second]).unused == ["1.2"]  # the next round starts there


def test_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 51.0 and percentile(values, 0.99) == 100.0


@pytest.mark.integration
def test_twin_bench_loads_slack_and_checks_what_it_kept() -> None:
    report = bench.run("slack", seconds=1.5, concurrency=4, warmup_s=0.3, prism=False)
    twin = report.twin
    assert twin["requests"] > 100 and twin["failures"] == 0, twin["first_failure"]
    assert set(twin["per_call"]) == {
        "auth.test",
        "chat.postMessage",
        "conversations.history",
        "reactions.add",
        "conversations.info",
    }
    assert 0 < twin["p50_ms"] <= twin["p99_ms"]
    assert 0 < twin["server_cores"] <= 1.1 and twin["generator_cores"] > 0
    assert report.kept_everything and report.kept[1] > 0  # every post kept, reactions landed
    on_uvicorn = report.uvicorn  # the same calls, the same twin, served by uvicorn
    assert on_uvicorn is not None and report.uvicorn_kept_everything
    assert on_uvicorn["requests"] > 100 and on_uvicorn["failures"] == 0
    text = "\n".join(report.lines())
    assert "\ntwin on uvicorn " in text and "twin / twin on uvicorn: " in text
    assert "target: >= 5,000 req/s with p99 < 10 ms for one twin process: " in text
    assert "prism 5.16.0: not measured (--no-prism)" in text
    assert "target: ahead of Prism while keeping state: MISS" in text  # nothing to be ahead of


def test_bench_of_a_twin_without_a_mix_says_which_have_one() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "localfactory", "bench", "twin", "github", "--seconds", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no benchmark request mix for the github twin" in done.stderr
    assert "Twins with one: slack" in done.stderr


@pytest.mark.integration
@pytest.mark.timeout(900)  # the first run installs Prism with npm
def test_prism_gets_the_same_calls_and_answers_without_state() -> None:
    report = bench.run("slack", seconds=1.0, concurrency=4, warmup_s=0.3)
    assert report.prism is not None, report.prism_note
    prism = report.prism
    assert prism["requests"] > 10 and prism["connection_errors"] == 0
    # Prism answers every call from the schema alone ({}), so no answer says "ok": true.
    assert prism["failures"] == prism["requests"]
    assert prism["first_failure"].endswith("200 b'{}'")
    assert "twin / prism: " in "\n".join(report.lines())
