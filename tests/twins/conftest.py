"""Fixtures for the twin tests: a real Slack twin served on a free loopback port."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from localfactory.twins.serve import RunningTwin, build_app, run_in_thread


def call_admin(base: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """One admin API call; returns the status and the decoded JSON body (errors included)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + path, data=data, method=method, headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@dataclass
class SlackTwin:
    """A served Slack twin, reset for this test, with a bot token for twinbot."""

    running: RunningTwin
    token: str

    @property
    def url(self) -> str:
        return self.running.url

    @property
    def api(self) -> str:
        return f"{self.running.url}/api/"

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        status, payload = call_admin(self.url, method, path, body)
        assert status < 300, (status, payload)
        return payload

    def client(self, token: str | None = None, **options: Any) -> Any:
        """A WebClient on this twin; with this test's bot token unless ``token`` is given ("" for none)."""
        from slack_sdk import WebClient

        chosen = self.token if token is None else token or None
        return WebClient(token=chosen, base_url=self.api, timeout=10, **options)

    def user_token(self, user: str) -> str:
        token: str = self.admin("POST", "/_twin/tokens", {"user": user})["token"]
        return token


@pytest.fixture(scope="session")
def slack_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningTwin]:
    snapshots: Path = tmp_path_factory.mktemp("slack-snapshots")
    app, _ = build_app("slack", snapshot_dir=snapshots)
    with run_in_thread(app) as running:
        yield running


@pytest.fixture
def slack(slack_server: RunningTwin) -> SlackTwin:
    base = slack_server.url
    for method, path in (("POST", "/_twin/reset"), ("DELETE", "/_twin/faults")):
        status, _ = call_admin(base, method, path)
        assert status == 200
    _, issued = call_admin(base, "POST", "/_twin/tokens", {})
    return SlackTwin(running=slack_server, token=issued["token"])
