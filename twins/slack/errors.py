"""Slack's error bodies, its tokens, and argument schemas shared by its methods.

Slack answers almost every error with HTTP 200 and ``{"ok": false, "error": "<code>"}``;
only rate limits (429 with ``Retry-After``) and outages use other statuses. A missing
argument that Slack reports with a method-specific code (``channel_not_found`` for a
missing ``channel``) says so in its schema with ``x-missing-error``; any other bad
argument is ``invalid_arguments`` with the reason in ``response_metadata.messages``.
"""

from __future__ import annotations

from typing import Any

from localfactory.twins import Operation, Refusal, Reply, TokenScheme, Twin, core
from localfactory.twins.core import Handler
from localfactory.twins.pages import BadCursor, decode_cursor, encode_cursor, page_after
from localfactory.twins.schema import boolean as flag
from localfactory.twins.schema import obj as arguments
from localfactory.twins.schema import string as text

TOKENS = TokenScheme(prefix="xoxb-", schemes=("bearer",), argument="token")

_FIXED: dict[str, tuple[int, str]] = {
    core.MISSING_TOKEN: (200, "not_authed"),
    core.INVALID_TOKEN: (200, "invalid_auth"),
    core.REVOKED_TOKEN: (200, "token_revoked"),
    core.UNKNOWN_OPERATION: (404, "unknown_method"),
    core.METHOD_NOT_ALLOWED: (405, "unknown_method"),
}


class SlackErrors:
    """Renders refusals as Slack's ``{"ok": false, "error": ...}`` bodies."""

    def render(self, refusal: Refusal, operation: Operation | None) -> Reply:
        code = refusal.code
        if code in _FIXED:
            status, error = _FIXED[code]
            return Reply({"ok": False, "error": error}, status)
        if code == core.RATE_LIMITED:
            retry_after = str(refusal.retry_after if refusal.retry_after is not None else 1)
            return Reply(
                {"ok": False, "error": "ratelimited"}, 429, (("Retry-After", retry_after),)
            )
        if code == core.SERVER_ERROR:
            return Reply({"ok": False, "error": "internal_error"}, refusal.status or 500)
        if code == core.MALFORMED_BODY:
            error = "invalid_json" if refusal.extra.get("body") == "json" else "invalid_form_data"
            return Reply({"ok": False, "error": error})
        if code == core.INVALID_ARGUMENTS:
            return Reply(_invalid_arguments(refusal, operation))
        return Reply({"ok": False, "error": code, **refusal.extra}, refusal.status or 200)


def _invalid_arguments(refusal: Refusal, operation: Operation | None) -> dict[str, Any]:
    violation = refusal.violation
    if violation is not None and operation is not None and operation.args is not None:
        prop = operation.args.get("properties", {}).get(violation.field, {})
        if violation.reason == "missing" and "x-missing-error" in prop:
            return {"ok": False, "error": prop["x-missing-error"]}
        if "x-invalid-error" in prop and violation.reason != "missing":
            return {"ok": False, "error": prop["x-invalid-error"]}
    detail = violation.detail if violation is not None else refusal.detail
    where = violation.where if violation is not None else ""
    message = f"[ERROR] {detail} [json-pointer:/{where.replace('.', '/')}]"
    return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": [message]}}


# -- argument schemas (``arguments``, ``text`` and ``flag`` are the framework's builders) ------


def channel_arg(description: str = "Conversation ID (or #name).") -> dict[str, Any]:
    return text(description, **{"x-missing-error": "channel_not_found"})


CURSOR = text("Where the next page starts: a previous response's response_metadata.next_cursor.")
INCLUSIVE = flag("Include messages at exactly latest or oldest.")
LATEST = text("Only messages before this timestamp (default: now).")
OLDEST = text("Only messages after this timestamp (default: 0).")


def limit(default: int, maximum: int) -> dict[str, Any]:
    return {
        "type": "integer",
        "minimum": 0,
        "description": f"Most items per page (default {default}, at most {maximum}).",
    }


def page_size(args: dict[str, Any], default: int, maximum: int) -> int:
    asked = args.get("limit")
    if not asked:
        return default
    return min(int(asked), maximum)


def next_cursor(kind: str, key: str | None) -> dict[str, str]:
    """Slack's ``response_metadata``: the next page's cursor, empty on the last page."""
    return {"next_cursor": encode_cursor(kind, key) if key else ""}


def cursor_start(args: dict[str, Any], kind: str) -> str | None:
    """The key a ``cursor`` argument points at; ``invalid_cursor`` for one not made here."""
    cursor = args.get("cursor")
    if not cursor:
        return None
    try:
        return decode_cursor(cursor, kind)
    except BadCursor:
        raise Refusal("invalid_cursor") from None


def paged(
    records: list[dict[str, Any]], args: dict[str, Any], kind: str, default: int, maximum: int
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """One page of ``records`` (keyed by ``id``) and its ``response_metadata``."""
    size = page_size(args, default, maximum)
    try:
        page = page_after(records, [r["id"] for r in records], cursor_start(args, kind), size)
    except BadCursor:
        raise Refusal("invalid_cursor") from None
    return page.items, next_cursor(kind, page.next_key)


def method(
    twin: Twin,
    name: str,
    handler: Handler,
    /,
    *,
    required: tuple[str, ...] = (),
    read: bool = False,
    **properties: dict[str, Any],
) -> None:
    """Declare the Web API method ``name``: POST (GET for reads), both accepted as Slack does."""
    twin.operation(
        "GET" if read else "POST",
        f"/{name}",
        args=arguments(required, **properties),
        also=("POST",) if read else ("GET",),
        tags=(name.split(".", 1)[0],),
    )(handler)
