"""The request mixes ``localfactory bench twin`` sends: what a real client of each service does.

A mix is prepared against a running twin (a token, a channel, a few messages to act on)
and then rendered for any server at any port, so the same calls go to the twin and to
Prism. After the run, the twin's state is checked: every message the load posted must
still be there, which is what a stateless mock cannot do.
"""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localfactory.errors import UserError
from localfactory.twins.bench_load import Request

SEED_MESSAGES = 32
OK = b'"ok":true'

# One cycle of the Slack mix: 6 posts, 5 history reads, 4 reactions, 3 auth.test, 2 info.
_SLACK_CYCLE = "PHARPIHPRHAPHRPIAHPR"


@dataclass(frozen=True)
class Prepared:
    """What a mix needs to address the world it prepared."""

    token: str
    channel: str
    seeds: tuple[str, ...]


def _call(url: str, path: str, token: str | None, fields: dict[str, str] | None) -> Any:
    data = urllib.parse.urlencode(fields or {}).encode() if fields is not None else None
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(url + path, data=data, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def prepare_slack(url: str) -> Prepared:
    """A bot token, a fresh channel, and messages posted to it for the reactions to land on."""
    token: str = _call(url, "/_twin/tokens", None, None)["token"]
    created = _call(url, "/api/conversations.create", token, {"name": "bench"})
    channel: str = created["channel"]["id"]
    seeds = tuple(
        _call(url, "/api/chat.postMessage", token, {"channel": channel, "text": f"seed {i}"})["ts"]
        for i in range(SEED_MESSAGES)
    )
    return Prepared(token=token, channel=channel, seeds=seeds)


def slack_mix(port: int, prepared: Prepared) -> tuple[Request, ...]:
    head = (
        "POST /api/{method} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: localfactory-bench\r\n"
        "Authorization: Bearer {token}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
    )

    def call(method: str, body: str, **flags: bool) -> Request:
        text = head.format(method=method, port=port, token=prepared.token)
        return Request(name=method, head=text, body=body, ok_marker=OK, **flags)

    channel = f"channel={prepared.channel}"
    kinds = {
        "A": call("auth.test", ""),
        "P": call("chat.postMessage", f"{channel}&text=bench+message+{{n}}", gives_ts=True),
        "H": call("conversations.history", f"{channel}&limit=20"),
        "R": call("reactions.add", f"{channel}&timestamp={{ts}}&name=thumbsup", takes_ts=True),
        "I": call("conversations.info", channel),
    }
    return tuple(kinds[letter] for letter in _SLACK_CYCLE)


def slack_state(url: str, prepared: Prepared) -> tuple[int, int]:
    """(messages, messages with a reaction) the twin keeps in the bench channel."""
    with urllib.request.urlopen(url + "/_twin/state", timeout=60) as response:
        state = json.loads(response.read())
    messages: dict[str, Any] = state["tables"]["messages"].get(prepared.channel, {})
    return len(messages), sum(1 for m in messages.values() if m.get("reactions"))


@dataclass(frozen=True)
class Mix:
    """How to load one twin: prepare its world, render the calls, read back what it kept."""

    prepare: Callable[[str], Prepared]
    render: Callable[[int, Prepared], tuple[Request, ...]]
    kept: Callable[[str, Prepared], tuple[int, int]]
    calls: str


MIXES = {
    "slack": Mix(
        prepare_slack,
        slack_mix,
        slack_state,
        "auth.test, chat.postMessage, conversations.history, reactions.add, conversations.info",
    )
}


def mix_for(name: str) -> Mix:
    try:
        return MIXES[name]
    except KeyError:
        raise UserError(
            f"There is no benchmark request mix for the {name} twin yet.",
            hint=f"Twins with one: {', '.join(sorted(MIXES))}.",
        ) from None
