"""`localfactory twin up/status/logs/down` with a real detached twin process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk import WebClient

from tests.twins.served import call_admin

pytestmark = pytest.mark.integration


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Cli:
    def __init__(self, data_home: Path) -> None:
        self.env = {**os.environ, "XDG_DATA_HOME": str(data_home)}

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "localfactory", "twin", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    runner = Cli(tmp_path)
    yield runner
    runner("down", "slack")  # never leave a twin behind, even when a test fails


def _pid_running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "State:\tZ" not in state


def test_up_serves_slack_until_down(cli: Cli) -> None:
    port = free_port()
    started = cli("up", "slack", "--local", "--port", str(port))
    assert started.returncode == 0, started.stderr
    assert f"http://127.0.0.1:{port}/api/" in started.stdout
    pid = int(started.stdout.split("(pid ")[1].split(")")[0])

    base = f"http://127.0.0.1:{port}"
    status, issued = call_admin(base, "POST", "/_twin/tokens")
    assert status == 201
    client = WebClient(token=issued["token"], base_url=f"{base}/api/", timeout=10)
    assert client.auth_test()["user"] == "twinbot"

    status_out = cli("status")
    assert status_out.returncode == 0
    assert (
        f"slack: {base}/api/" in status_out.stdout
        and "healthy, 1 requests served" in status_out.stdout
    )
    again = cli("up", "slack", "--local", "--port", str(free_port()))
    assert again.returncode == 2 and "already running" in again.stderr
    logs = cli("logs", "slack")
    assert f"slack twin: {base}/api/" in logs.stdout

    channel = client.conversations_create(name="survives")["channel"]["id"]
    call_admin(base, "POST", "/_twin/snapshot", {"name": "kept"})

    stopped = cli("down", "slack")
    assert stopped.returncode == 0 and f"pid {pid}" in stopped.stdout
    assert not _pid_running(pid)
    assert "No twins are running" in cli("status").stdout
    assert cli("down", "slack").returncode == 2

    missing = cli("up", "slack", "--local", "--port", str(port), "--restore", "nothing")
    assert missing.returncode == 2 and "Saved snapshots: kept" in missing.stderr
    restored = cli("up", "slack", "--local", "--port", str(port), "--restore", "kept")
    assert restored.returncode == 0, restored.stderr
    assert client.conversations_info(channel=channel)["channel"]["name"] == "survives"


def test_up_without_docker_runs_locally_and_refuses_busy_ports(cli: Cli) -> None:
    nowhere = "unix:///nonexistent/docker.sock"
    cli.env["LOCALFACTORY_TWINS__DOCKER_HOST"] = nowhere
    port = free_port()
    fallback = cli("up", "slack", "--port", str(port))
    assert fallback.returncode == 0, fallback.stderr
    assert (
        f"No Docker engine is reachable at {nowhere}; running the slack twin as a local process"
        in fallback.stdout
    )
    assert f"http://127.0.0.1:{port}/api/" in fallback.stdout
    assert cli("down", "slack").returncode == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = cli("up", "slack", "--local", "--port", str(taken.getsockname()[1]))
    assert busy.returncode == 2 and "already in use" in busy.stderr
    unknown = cli("up", "jira-cloud", "--local")
    assert unknown.returncode == 2 and "No twin named 'jira-cloud'" in unknown.stderr


def test_list_names_the_shipped_twins(cli: Cli) -> None:
    listed = cli("list")
    assert listed.returncode == 0
    names = [line.split()[0] for line in listed.stdout.splitlines() if line[:1].strip()]
    assert names == ["github", "jira", "ollama", "slack"]
    assert "verified with slack_sdk" in listed.stdout and "verified with PyGithub" in listed.stdout
