"""Real twins on the fast server, spoken to over raw sockets: what a client sees on the wire."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlencode

import pytest
from slack_sdk import WebClient

from localfactory.twins.serve import build_app, run_in_thread
from tests.twins.served import OllamaTwin, SlackTwin, call_admin
from tests.twins.wire_client import chunked, connection, request

pytestmark = pytest.mark.integration


def _form(token: str, method: str, **fields: str) -> bytes:
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/x-www-form-urlencoded",
    }
    return request("POST", f"/api/{method}", urlencode(fields).encode(), headers=headers)


def test_slack_calls_share_one_kept_alive_connection(slack: SlackTwin) -> None:
    channel = slack.client().conversations_create(name="wire")["channel"]["id"]
    with connection(slack.running.port) as client:
        assert json.loads(client.exchange(_form(slack.token, "auth.test")).body)["ok"] is True
        for n in range(3):
            posted = client.exchange(
                _form(slack.token, "chat.postMessage", channel=channel, text=f"n{n}")
            )
            assert json.loads(posted.body)["ok"] is True
        history = client.exchange(_form(slack.token, "conversations.history", channel=channel))
    assert [m["text"] for m in json.loads(history.body)["messages"]] == ["n2", "n1", "n0"]


def test_a_chunked_form_body_posts_a_slack_message(slack: SlackTwin) -> None:
    channel = slack.client().conversations_create(name="chunks")["channel"]["id"]
    body = chunked(f"channel={channel}&".encode(), b"text=sent+in", b"+pieces")
    headers = {
        "Authorization": f"Bearer {slack.token}",
        "Content-Type": "application/x-www-form-urlencoded",
        "Transfer-Encoding": "chunked",
    }
    with connection(slack.running.port) as client:
        answer = client.exchange(request("POST", "/api/chat.postMessage", body, headers=headers))
    assert json.loads(answer.body)["message"]["text"] == "sent in pieces"


def test_a_dropped_connection_fault_closes_without_a_byte(slack: SlackTwin) -> None:
    rule = {"operation": "auth.test", "kind": "drop", "times": 1}
    slack.admin("PUT", "/_twin/faults", {"rules": [rule]})
    with connection(slack.running.port) as client:
        client.send(_form(slack.token, "auth.test"))
        assert client.closed_by_server()  # no status line, nothing at all
    with connection(slack.running.port) as client:  # the fault fired once; the twin is fine
        assert json.loads(client.exchange(_form(slack.token, "auth.test")).body)["ok"] is True
    entries = slack.admin("GET", "/_twin/requests?operation=auth.test")["requests"]
    assert [e["fault"] for e in entries] == ["drop", None]


def test_an_ollama_stream_arrives_as_one_json_line_per_chunk(ollama_twin: OllamaTwin) -> None:
    ollama_twin.seed(models=[{"name": "tiny:1b"}], replies=[{"reply": "one two three"}])
    asked = json.dumps({"model": "tiny:1b", "prompt": "count"}).encode()
    with connection(ollama_twin.running.port) as client:
        answer = client.exchange(request("POST", "/api/generate", asked))
    assert answer.headers["transfer-encoding"] == "chunked"
    assert answer.headers["content-type"].startswith("application/x-ndjson")
    pieces = [json.loads(chunk) for chunk in answer.chunks]
    assert len(pieces) > 2 and all(chunk.endswith(b"\n") for chunk in answer.chunks)
    assert "".join(p["response"] for p in pieces) == "one two three"
    assert [p["done"] for p in pieces] == [False] * (len(pieces) - 1) + [True]


def test_uvicorn_still_serves_a_twin_when_asked(tmp_path: Path) -> None:
    app, _ = build_app("slack", snapshot_dir=tmp_path)
    with run_in_thread(app, server="uvicorn") as running:
        assert type(running.server).__module__.startswith("uvicorn")
        status, issued = call_admin(running.url, "POST", "/_twin/tokens")
        assert status == 201
        client = WebClient(token=issued["token"], base_url=running.url + "/api/", timeout=10)
        assert client.auth_test()["user"] == "twinbot"
    assert not running.thread.is_alive()
