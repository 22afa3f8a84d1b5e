"""Searching issues with JQL, the way Jira Cloud does it since 2025.

``GET``/``POST /search/jql`` pages with ``nextPageToken`` (and ``isLast``) instead of
``startAt``, returns only issue ids unless ``fields`` asks for more, and refuses a query
without a restriction. ``POST /search/approximate-count`` gives the total. The old
``/search`` answers 410 Gone with Jira's migration message, as Jira Cloud does.
"""

from __future__ import annotations

import hashlib
from typing import Any

from localfactory.twins import Call, Reply, Twin
from localfactory.twins.pages import BadCursor, decode_cursor, encode_cursor

from . import jql, render
from .api import declare, listed, params, viewer, whole_number, world_of
from .errors import body, jira_error

REMOVED = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
    "A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046"
)
UNBOUNDED = (
    "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."
)


def _found(call: Call) -> tuple[str, list[dict[str, Any]]]:
    text = str(params(call).get("jql") or "")
    world = world_of(call)
    query = jql.parse(text, world, viewer(call))
    if query.where is None:
        raise jira_error(400, UNBOUNDED)
    return text, jql.run(query, list(world.issues.values()))


def _fingerprint(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def search_jql(call: Call) -> dict[str, Any]:
    """Issues matching a JQL query, a page at a time (``maxResults``, ``nextPageToken``)."""
    text, found = _found(call)
    given = params(call)
    fields = render.wanted_fields(listed(call, "fields"), default=())
    most = 100 if fields else 5000
    size = min(whole_number(given.get("maxResults"), "maxResults", 50) or 50, most)
    start = 0
    token = given.get("nextPageToken")
    if token:
        try:
            offset, _, owner = decode_cursor(str(token), "jql").partition(":")
            start = int(offset)
        except (BadCursor, ValueError):
            owner = ""
        if owner != _fingerprint(text):
            raise jira_error(400, "The provided next page token is invalid or expired.")
    page = found[start : start + size]
    last = start + size >= len(found)
    answer: dict[str, Any] = {
        "issues": [render.issue(call, i, fields) for i in page],
        "isLast": last,
    }
    if not last:
        answer["nextPageToken"] = encode_cursor("jql", f"{start + size}:{_fingerprint(text)}")
    return answer


def approximate_count(call: Call) -> dict[str, Any]:
    """How many issues a JQL query matches."""
    return {"count": len(_found(call)[1])}


def removed_search(call: Call) -> Reply:
    """The old search with ``startAt`` and ``total``: removed from Jira Cloud (410)."""
    return Reply(body([REMOVED]), 410)


def register(twin: Twin) -> None:
    tags = ("search",)
    search_query = {
        "type": "object",
        "properties": {
            "jql": {"type": "string"},
            "nextPageToken": {"type": "string"},
            "maxResults": {"type": "integer", "minimum": 0},
            "fields": {
                "type": "string",
                "description": "Field names, comma-separated or repeated.",
            },
            "expand": {"type": "string"},
        },
    }
    declare(
        twin, "GET", "/search/jql", "search.jql", also=("POST",), tags=tags, query=search_query
    )(search_jql)
    declare(
        twin,
        "POST",
        "/search/approximate-count",
        "search.count",
        tags=tags,
        body={"type": "object"},
    )(approximate_count)
    declare(twin, "GET", "/search", "search.removed", also=("POST",), tags=tags)(removed_search)
