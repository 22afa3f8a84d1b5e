"""Unit tests of the twin framework's parts: schema checks, fault plans, cursors and links."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest

from localfactory.twins.faults import FaultPlan
from localfactory.twins.pages import (
    BadCursor,
    decode_cursor,
    encode_cursor,
    link_header,
    page_after,
)
from localfactory.twins.schema import SchemaError, SchemaViolation, compile_schema
from localfactory.twins.wire import parse_form

ARGS: dict[str, Any] = {
    "type": "object",
    "required": ["channel"],
    "properties": {
        "channel": {"type": "string", "minLength": 2},
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000},
        "inclusive": {"type": "boolean"},
        "blocks": {"type": "array", "items": {"type": "object"}},
        "kind": {"type": "string", "enum": ["public", "private"]},
        "ratio": {"type": ["number", "null"]},
    },
}


def test_form_strings_are_coerced_to_their_declared_types() -> None:
    check = compile_schema(ARGS)
    got = check(
        {"channel": "C1", "limit": "20", "inclusive": "true", "blocks": '[{"type": "divider"}]'}, ""
    )
    assert got == {"channel": "C1", "limit": 20, "inclusive": True, "blocks": [{"type": "divider"}]}
    assert check({"channel": "C1", "inclusive": "0", "ratio": None}, "")["inclusive"] is False


@pytest.mark.parametrize(
    ("args", "where", "reason"),
    [
        ({}, "channel", "missing"),
        ({"channel": ""}, "channel", "missing"),
        ({"channel": "C"}, "channel", "min_length"),
        ({"channel": "C1", "limit": "many"}, "limit", "type"),
        ({"channel": "C1", "limit": 0}, "limit", "minimum"),
        ({"channel": "C1", "limit": 2.5}, "limit", "type"),
        ({"channel": "C1", "inclusive": "maybe"}, "inclusive", "type"),
        ({"channel": "C1", "blocks": "[not json"}, "blocks", "json"),
        ({"channel": "C1", "blocks": [1]}, "blocks[0]", "type"),
        ({"channel": "C1", "kind": "secret"}, "kind", "enum"),
        ({"channel": ["C1"]}, "channel", "type"),
    ],
)
def test_violations_name_the_argument_and_the_reason(
    args: dict[str, Any], where: str, reason: str
) -> None:
    with pytest.raises(SchemaViolation) as caught:
        compile_schema(ARGS)(args, "")
    assert (caught.value.where, caught.value.reason) == (where, reason)


def test_closed_objects_refuse_unknown_arguments() -> None:
    check = compile_schema({"type": "object", "additionalProperties": False, "properties": {}})
    with pytest.raises(SchemaViolation) as caught:
        check({"surprise": 1}, "")
    assert caught.value.reason == "unknown"


def test_unsupported_keywords_are_refused_when_declared() -> None:
    with pytest.raises(SchemaError, match="oneOf"):
        compile_schema({"oneOf": [{"type": "string"}, {"type": "integer"}]})


def _fired(plan: FaultPlan, requests: int) -> list[str | None]:
    out = []
    for _ in range(requests):
        fault = plan.draw("chat.postMessage")
        out.append(fault.kind if fault else None)
    return out


def test_same_seed_same_faults() -> None:
    plan = {
        "seed": 42,
        "rules": [
            {"operation": "chat.postMessage", "kind": "rate_limit", "probability": 0.3},
            {"kind": "server_error", "probability": 0.2},
        ],
    }
    first = _fired(FaultPlan.from_json(plan), 50)
    assert first == _fired(FaultPlan.from_json(plan), 50)
    assert {"rate_limit", "server_error", None} == set(first)
    assert first != _fired(FaultPlan.from_json({**plan, "seed": 43}), 50)


def test_rules_match_their_operation_and_respect_times() -> None:
    plan = FaultPlan.from_json(
        {"rules": [{"kind": "drop", "times": 2, "operation": "chat.postMessage"}]}
    )
    assert plan.draw("users.list") is None
    assert _fired(plan, 4) == ["drop", "drop", None, None]
    assert FaultPlan().draw("chat.postMessage") is None


def test_latency_adds_up_and_lets_the_request_through() -> None:
    plan = FaultPlan.from_json(
        {"rules": [{"kind": "latency", "latency_ms": 40}, {"kind": "latency", "latency_ms": 10}]}
    )
    fault = plan.draw("auth.test")
    assert fault is not None and fault.kind is None and fault.delay_s == pytest.approx(0.05)


def test_cursors_round_trip_and_foreign_ones_are_refused() -> None:
    cursor = encode_cursor("channel", "C0001")
    assert decode_cursor(cursor, "channel") == "C0001"
    for bad in ("not base64!", encode_cursor("user", "U1"), "bm9jb2xvbg=="):
        with pytest.raises(BadCursor):
            decode_cursor(bad, "channel")


def test_page_after_walks_the_whole_list() -> None:
    items = [f"i{n}" for n in range(7)]
    seen, start = [], None
    while True:
        page = page_after(items, items, start, 3)
        seen.append(page.items)
        if page.next_key is None:
            break
        start = page.next_key
    assert seen == [["i0", "i1", "i2"], ["i3", "i4", "i5"], ["i6"]]


def test_link_header_names_next_last_first_prev() -> None:
    url = "http://127.0.0.1:9/repos/o/r/issues"
    middle = link_header(url, "state=open&page=2", page=2, per_page=10, total=45)
    assert middle is not None
    rels = dict(reversed(part.split("; ")) for part in middle.split(", "))
    assert rels['rel="next"'] == f"<{url}?state=open&page=3&per_page=10>"
    assert rels['rel="last"'] == f"<{url}?state=open&page=5&per_page=10>"
    assert rels['rel="first"'] == f"<{url}?state=open&page=1&per_page=10>"
    assert rels['rel="prev"'] == f"<{url}?state=open&page=1&per_page=10>"
    assert link_header(url, "", page=1, per_page=30, total=10) is None


@pytest.mark.parametrize(
    "text",
    ["", "a=1&b=2", "text=hello+world&x=%26%3D", "flag&empty=&a=1&a=2", "k%20ey=v+v", "&&a=1&"],
)
def test_form_parsing_matches_the_standard_library(text: str) -> None:
    assert parse_form(text) == dict(parse_qsl(text, keep_blank_values=True))
