"""The twin framework over real HTTP: OpenAPI, snapshots, faults, the journal, the admin API."""

from __future__ import annotations

import http.client
import json
import time
import urllib.error
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from localfactory.twins.catalog import get_twin, load_twin
from localfactory.twins.serve import build_app, run_in_thread
from tests.twins.served import SlackTwin, call_admin

pytestmark = pytest.mark.integration


def raw_call(url: str, method: str, path: str, body: bytes = b"", token: str = "") -> Any:
    """One plain HTTP request; returns (status, headers, decoded body)."""
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    headers = {"content-type": "application/x-www-form-urlencoded"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    connection.request(method, path, body=body, headers=headers)
    response = connection.getresponse()
    payload = json.loads(response.read())
    connection.close()
    return response.status, dict(response.getheaders()), payload


def test_health_and_unknown_methods(slack: SlackTwin) -> None:
    health = slack.admin("GET", "/_twin/health")
    assert health["status"] == "ok" and health["twin"] == "slack" and health["faults"] is False
    status, _, body = raw_call(slack.url, "POST", "/api/nope.nothing", token=slack.token)
    assert (status, body) == (404, {"ok": False, "error": "unknown_method"})
    assert call_admin(slack.url, "GET", "/_twin/nothing")[0] == 404


def test_openapi_document_lists_every_operation(slack: SlackTwin) -> None:
    status, _, document = raw_call(slack.url, "GET", "/openapi.json")
    assert status == 200
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] and document["info"]["version"]
    declared = load_twin(get_twin("slack")).operations
    operations = {
        entry["operationId"]: (path, method)
        for path, item in document["paths"].items()
        for method, entry in item.items()
    }
    assert len(operations) == sum(len(item) for item in document["paths"].values())
    for op in declared:
        path, method = operations[op.name]
        assert path == f"/api/{op.name}" and method == op.method.lower()
        entry = document["paths"][path][method]
        assert entry["security"] == [{"token": []}]
        assert entry["responses"]
    post = document["paths"]["/api/chat.postMessage"]["post"]["requestBody"]["content"]
    assert set(post) == {"application/json", "application/x-www-form-urlencoded"}
    assert "channel" in post["application/json"]["schema"]["required"]
    history = document["paths"]["/api/conversations.history"]["get"]["parameters"]
    assert {"channel", "cursor", "limit"} <= {p["name"] for p in history}
    assert all(p["in"] == "query" for p in history)
    for admin_call in ("twin.health", "twin.tokens.issue", "twin.snapshot", "twin.faults.put"):
        assert operations[admin_call][0].startswith("/_twin/")


def test_openapi_document_passes_a_validator(slack: SlackTwin) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    _, _, document = raw_call(slack.url, "GET", "/openapi.json")
    validator.validate(document)


def test_snapshot_reset_restore_brings_the_state_back(slack: SlackTwin) -> None:
    client = slack.client()
    channel = client.conversations_create(name="keep-me")["channel"]["id"]
    parent = client.chat_postMessage(channel=channel, text="before the snapshot")["ts"]
    client.chat_postMessage(channel=channel, text="a reply", thread_ts=parent)
    client.reactions_add(channel=channel, timestamp=parent, name="tada")
    before = client.conversations_replies(channel=channel, ts=parent)["messages"]

    saved = slack.admin("POST", "/_twin/snapshot", {"name": "before"})
    snapshot = json.loads(Path(saved["path"]).read_text())
    assert snapshot["twin"] == "slack" and saved["bytes"] > 0

    slack.admin("POST", "/_twin/reset")
    assert slack_error_code(client.auth_test) == "invalid_auth"  # tokens are state too
    fresh = slack.client(slack.admin("POST", "/_twin/tokens")["token"])
    names = [c["name"] for c in fresh.conversations_list()["channels"]]
    assert names == ["general"]

    slack.admin("POST", "/_twin/restore", {"name": "before"})
    assert client.conversations_replies(channel=channel, ts=parent)["messages"] == before
    again = client.conversations_create(name="after-restore")["channel"]["id"]
    assert again not in {c["id"] for c in client.conversations_list()["channels"][:-1]}
    later = client.chat_postMessage(channel=channel, text="after")["ts"]
    assert float(later) > float(parent)


def test_restore_refuses_missing_and_unsafe_snapshots(slack: SlackTwin) -> None:
    status, body = call_admin(slack.url, "POST", "/_twin/restore", {"name": "never-saved"})
    assert status == 404 and body["error"] == "bad_snapshot"
    status, body = call_admin(slack.url, "POST", "/_twin/snapshot", {"name": "../outside"})
    assert status == 400 and body["error"] == "bad_snapshot_request"
    status, body = call_admin(slack.url, "POST", "/_twin/restore", {"state": {"tables": 5}})
    assert status == 400 and body["error"] == "bad_snapshot"
    assert slack.client().auth_test()["ok"]  # the state in place was kept


def slack_error_code(call: Any, **kwargs: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        call(**kwargs)
    code: str = caught.value.response["error"]
    return code


def _statuses(slack: SlackTwin, plan: dict[str, Any], count: int) -> list[tuple[int, str | None]]:
    slack.admin("PUT", "/_twin/faults", plan)
    seen = []
    for _ in range(count):
        status, headers, body = raw_call(slack.url, "POST", "/api/auth.test", token=slack.token)
        seen.append((status, headers.get("Retry-After") or headers.get("retry-after")))
        if status == 429:
            assert body == {"ok": False, "error": "ratelimited"}
    return seen


def test_seeded_rate_limits_are_reproducible(slack: SlackTwin) -> None:
    rule = {"operation": "auth.test", "kind": "rate_limit", "probability": 0.5, "retry_after_s": 3}
    first = _statuses(slack, {"seed": 7, "rules": [rule]}, 24)
    second = _statuses(slack, {"seed": 7, "rules": [rule]}, 24)
    other = _statuses(slack, {"seed": 8, "rules": [rule]}, 24)
    assert first == second
    assert first != other
    assert {s for s, _ in first} == {200, 429}
    assert all(after == "3" for status, after in first if status == 429)
    journal = slack.admin("GET", "/_twin/requests?operation=auth.test&limit=24")["requests"]
    assert [e["status"] for e in journal] == [s for s, _ in other]
    assert all((e["fault"] == "rate_limit") == (e["status"] == 429) for e in journal)


def test_rate_limit_retry_handler_recovers(slack: SlackTwin) -> None:
    rule = {"kind": "rate_limit", "times": 1, "retry_after_s": 0}
    slack.admin("PUT", "/_twin/faults", {"seed": 1, "rules": [rule]})
    client = slack.client(retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)])
    assert client.auth_test()["ok"] is True
    journal = slack.admin("GET", "/_twin/requests")["requests"]
    assert [(e["status"], e["fault"]) for e in journal] == [(429, "rate_limit"), (200, None)]
    assert slack.admin("GET", "/_twin/faults")["rules"][0]["fired"] == 1


def test_dropped_connection_and_server_errors(slack: SlackTwin) -> None:
    slack.admin("PUT", "/_twin/faults", {"rules": [{"kind": "drop", "times": 1}]})
    with pytest.raises((ConnectionError, urllib.error.URLError)):  # closed, no response at all
        slack.client(retry_handlers=[]).auth_test()
    assert slack.client(retry_handlers=[]).auth_test()["ok"] is True
    slack.admin("PUT", "/_twin/faults", {"rules": [{"kind": "drop", "times": 1}]})
    assert slack.client().auth_test()["ok"] is True  # slack_sdk's default handler retries
    slack.admin("PUT", "/_twin/faults", {"rules": [{"kind": "server_error", "status": 503}]})
    with pytest.raises(SlackApiError) as failed:
        slack.client(retry_handlers=[]).auth_test()
    assert failed.value.response.status_code == 503
    assert failed.value.response["error"] == "internal_error"


def test_latency_fault_delays_only_its_operation(slack: SlackTwin) -> None:
    rule = {"operation": "users.list", "kind": "latency", "latency_ms": 500}
    slack.admin("PUT", "/_twin/faults", {"rules": [rule]})
    client = slack.client()
    started = time.perf_counter()
    client.auth_test()
    quick = time.perf_counter() - started
    started = time.perf_counter()
    client.users_list()
    slow = time.perf_counter() - started
    assert slow >= 0.5 > quick


def test_bad_fault_plans_are_refused(slack: SlackTwin) -> None:
    status, body = call_admin(slack.url, "PUT", "/_twin/faults", {"rules": [{"kind": "explode"}]})
    assert status == 400 and body["error"] == "bad_faults"
    assert slack.admin("GET", "/_twin/faults")["rules"] == []


def test_journal_is_bounded(tmp_path: Path) -> None:
    app, _ = build_app("slack", snapshot_dir=tmp_path, journal=5)
    with run_in_thread(app) as running:
        token = call_admin(running.url, "POST", "/_twin/tokens")[1]["token"]
        for _ in range(12):
            raw_call(running.url, "POST", "/api/auth.test", token=token)
        status, journal = call_admin(running.url, "GET", "/_twin/requests")
    assert status == 200
    assert (journal["capacity"], journal["total"], journal["kept"]) == (5, 12, 5)
    assert [e["seq"] for e in journal["requests"]] == [8, 9, 10, 11, 12]
    assert all(e["operation"] == "auth.test" and e["status"] == 200 for e in journal["requests"])
