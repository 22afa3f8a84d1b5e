"""Fixtures for the twin tests: real twins served on free loopback ports, reset for each test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from localfactory.twins.serve import RunningTwin, build_app, run_in_thread
from tests.twins.served import GitHubTwin, JiraTwin, OllamaTwin, SlackTwin, call_admin


def _serve(name: str, folder: Path) -> Iterator[RunningTwin]:
    app, _ = build_app(name, snapshot_dir=folder)
    with run_in_thread(app) as running:
        yield running


def _fresh(running: RunningTwin) -> str:
    """Reset the twin, turn faults off, and issue the default token."""
    for method, path in (("POST", "/_twin/reset"), ("DELETE", "/_twin/faults")):
        status, _ = call_admin(running.url, method, path)
        assert status == 200
    _, issued = call_admin(running.url, "POST", "/_twin/tokens", {})
    token: str = issued["token"]
    return token


@pytest.fixture(scope="session")
def slack_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningTwin]:
    yield from _serve("slack", tmp_path_factory.mktemp("slack-snapshots"))


@pytest.fixture
def slack(slack_server: RunningTwin) -> SlackTwin:
    return SlackTwin(running=slack_server, token=_fresh(slack_server))


@pytest.fixture(scope="session")
def github_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningTwin]:
    yield from _serve("github", tmp_path_factory.mktemp("github-snapshots"))


@pytest.fixture
def github(github_server: RunningTwin) -> GitHubTwin:
    return GitHubTwin(running=github_server, token=_fresh(github_server))


@pytest.fixture(scope="session")
def jira_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningTwin]:
    yield from _serve("jira", tmp_path_factory.mktemp("jira-snapshots"))


@pytest.fixture
def jira_twin(jira_server: RunningTwin) -> JiraTwin:
    return JiraTwin(running=jira_server, token=_fresh(jira_server))


@pytest.fixture(scope="session")
def ollama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningTwin]:
    yield from _serve("ollama", tmp_path_factory.mktemp("ollama-snapshots"))


@pytest.fixture
def ollama_twin(ollama_server: RunningTwin) -> OllamaTwin:
    return OllamaTwin(running=ollama_server, token=_fresh(ollama_server))
