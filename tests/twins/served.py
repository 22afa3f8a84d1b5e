"""Twins served for tests, and the clients that drive them (imported by the test modules)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from localfactory.twins.serve import RunningTwin


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
class ServedTwin:
    """A twin served for the tests, reset for this test, with a token from its admin API."""

    running: RunningTwin
    token: str

    @property
    def url(self) -> str:
        return self.running.url

    def admin(self, method: str, path: str, body: Any = None) -> Any:
        status, payload = call_admin(self.url, method, path, body)
        assert status < 300, (status, payload)
        return payload

    def token_for(self, user: str) -> str:
        token: str = self.admin("POST", "/_twin/tokens", {"user": user})["token"]
        return token


class SlackTwin(ServedTwin):
    """The Slack twin; the token is a bot token for twinbot."""

    @property
    def api(self) -> str:
        return f"{self.running.url}/api/"

    def client(self, token: str | None = None, **options: Any) -> Any:
        """A WebClient on this twin; with this test's bot token unless ``token`` is given ("" for none)."""
        from slack_sdk import WebClient

        chosen = self.token if token is None else token or None
        return WebClient(token=chosen, base_url=self.api, timeout=10, **options)

    def user_token(self, user: str) -> str:
        return self.token_for(user)


class GitHubTwin(ServedTwin):
    """The GitHub twin; the token is octocat's."""

    def client(self, token: str | None = None, **options: Any) -> Any:
        """A PyGithub client on this twin, without retries; ``token=""`` makes it anonymous."""
        from github import Auth, Github

        chosen = self.token if token is None else token
        auth = Auth.Token(chosen) if chosen else None
        return Github(
            base_url=self.url,
            auth=auth,
            retry=None,
            timeout=10,
            # PyGithub spaces calls out (0.25 s, 1 s for writes) to spare github.com; a twin needs no such care.
            seconds_between_requests=None,
            seconds_between_writes=None,
            **options,
        )


class JiraTwin(ServedTwin):
    """The Jira twin; the token is Ada's (the site admin, ada@example.com)."""

    email = "ada@example.com"

    def client(self, email: str | None = None, token: str | None = None, **options: Any) -> Any:
        """A ``jira.JIRA`` client with Basic credentials (Ada's unless given), without retries."""
        from jira import JIRA

        chosen = self.token if token is None else token
        return JIRA(
            server=self.url,
            basic_auth=(email or self.email, chosen),
            max_retries=0,
            timeout=10,
            **options,
        )

    def seed(self, **data: Any) -> Any:
        return self.admin("POST", "/_twin/seed", data)


class OllamaTwin(ServedTwin):
    """The Ollama twin (it takes no credentials)."""

    def client(self) -> Any:
        import ollama

        return ollama.Client(host=self.url, timeout=10)

    def seed(self, **data: Any) -> Any:
        return self.admin("POST", "/_twin/seed", data)

    def journal(self, operation: str) -> list[dict[str, Any]]:
        """The requests the twin served for ``operation``, oldest first, with their bodies."""
        entries: list[dict[str, Any]] = self.admin("GET", f"/_twin/requests?operation={operation}")[
            "requests"
        ]
        return entries
