"""Jira's error bodies: ``{"errorMessages": [...], "errors": {"field": "message"}}``.

Statuses are Jira Cloud's: 400 for a bad request (field problems in ``errors``, the rest in
``errorMessages``), 401 without valid credentials, 404 for what does not exist or may not
be seen, 410 for removed endpoints, 429 with ``Retry-After`` when rate limited.
"""

from __future__ import annotations

from localfactory.twins import Operation, Refusal, Reply, TokenScheme, core

TOKENS = TokenScheme(prefix="ATATT3xTwin", schemes=("bearer",), basic="password")
"""API tokens go in HTTP Basic credentials (the account's email and the token), or as a bearer token."""

_FIXED: dict[str, tuple[int, str]] = {
    core.MISSING_TOKEN: (
        401,
        "You are not authenticated. Authentication required to perform this operation.",
    ),
    core.INVALID_TOKEN: (401, "Client must be authenticated to access this resource."),
    core.REVOKED_TOKEN: (401, "Client must be authenticated to access this resource."),
    core.METHOD_NOT_ALLOWED: (405, "Method Not Allowed"),
    core.MALFORMED_BODY: (400, "The request body is not valid JSON."),
}


def body(messages: list[str], errors: dict[str, str] | None = None) -> dict[str, object]:
    return {"errorMessages": messages, "errors": errors or {}}


def jira_error(status: int, *messages: str) -> Refusal:
    """A refusal rendered as Jira's error body with these ``errorMessages``."""
    return Refusal(
        "jira", status=status, detail="; ".join(messages), extra={"messages": list(messages)}
    )


def field_errors(errors: dict[str, str]) -> Refusal:
    """Jira's 400 naming what is wrong with each field."""
    return Refusal("jira", status=400, detail="; ".join(errors.values()), extra={"errors": errors})


def issue_missing() -> Refusal:
    return jira_error(404, "Issue does not exist or you do not have permission to see it.")


class JiraErrors:
    """Renders refusals as Jira's ``errorMessages``/``errors`` bodies."""

    def render(self, refusal: Refusal, operation: Operation | None) -> Reply:
        code = refusal.code
        if code in _FIXED:
            status, message = _FIXED[code]
            return Reply(body([message]), status)
        if code == core.UNKNOWN_OPERATION:
            path = refusal.detail.partition(" ")[2]
            return Reply(body([f"null for uri: {path}"]), 404)
        if code == core.RATE_LIMITED:
            wait = refusal.retry_after if refusal.retry_after is not None else 5
            headers = (("Retry-After", str(wait)), ("X-RateLimit-Reason", "jira-quota-based"))
            return Reply(body(["Rate limit exceeded."]), 429, headers)
        if code == core.SERVER_ERROR:
            return Reply(body(["Internal server error"]), refusal.status or 500)
        if code == core.INVALID_ARGUMENTS:
            return Reply(body([refusal.detail]), 400)
        extra = refusal.extra
        return Reply(
            body(list(extra.get("messages", [])), dict(extra.get("errors", {}))),
            refusal.status or 400,
        )
