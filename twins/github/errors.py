"""GitHub's error bodies and tokens, and the paging every list endpoint shares.

Errors are ``{"message": ..., "documentation_url": ..., "status": "<code>"}`` with the
HTTP status GitHub uses: 401 for a missing or bad token, 404 for anything the caller
cannot see, 422 ``Validation Failed`` with an ``errors`` list, 403 with the
``x-ratelimit-*`` headers for rate limits.
"""

from __future__ import annotations

import time
from typing import Any

from localfactory.twins import Call, Operation, Refusal, Reply, TokenScheme, core
from localfactory.twins.pages import link_header
from localfactory.twins.schema import obj

from .world import DOCS

TOKENS = TokenScheme(prefix="ghp_", schemes=("token", "bearer"))
RATE_DOCS = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
RATE_LIMIT = 5000

_FIXED: dict[str, tuple[int, str]] = {
    core.MISSING_TOKEN: (401, "Requires authentication"),
    core.INVALID_TOKEN: (401, "Bad credentials"),
    core.REVOKED_TOKEN: (401, "Bad credentials"),
    core.UNKNOWN_OPERATION: (404, "Not Found"),
    core.METHOD_NOT_ALLOWED: (404, "Not Found"),
    core.MALFORMED_BODY: (400, "Problems parsing JSON"),
}


def _body(status: int, message: str, **extra: Any) -> dict[str, Any]:
    return {"message": message, **extra, "documentation_url": DOCS, "status": str(status)}


class GitHubErrors:
    """Renders refusals as GitHub's ``{"message", "documentation_url"}`` bodies."""

    def render(self, refusal: Refusal, operation: Operation | None) -> Reply:
        code = refusal.code
        if code in _FIXED:
            status, message = _FIXED[code]
            return Reply(_body(status, message), status)
        if code == core.RATE_LIMITED:
            wait = refusal.retry_after if refusal.retry_after is not None else 60
            headers = (
                ("Retry-After", str(wait)),
                ("x-ratelimit-limit", str(RATE_LIMIT)),
                ("x-ratelimit-remaining", "0"),
                ("x-ratelimit-used", str(RATE_LIMIT)),
                ("x-ratelimit-reset", str(int(time.time()) + wait)),
                ("x-ratelimit-resource", "core"),
            )
            message = "API rate limit exceeded for this token. (The twin's fault plan says so.)"
            reply = {"message": message, "documentation_url": RATE_DOCS, "status": "403"}
            return Reply(reply, 403, headers)
        if code == core.SERVER_ERROR:
            status = refusal.status or 500
            return Reply(_body(status, "Server Error"), status)
        if code == core.INVALID_ARGUMENTS:
            return _invalid(refusal, operation)
        status = refusal.status or 400
        return Reply(_body(status, refusal.detail or code, **refusal.extra), status)


def _invalid(refusal: Refusal, operation: Operation | None) -> Reply:
    violation = refusal.violation
    resource = (operation.body or {}).get("x-resource", "Resource") if operation else "Resource"
    if violation is not None and violation.reason == "missing":
        error = {"resource": resource, "field": violation.field, "code": "missing_field"}
        return Reply(_body(422, "Validation Failed", errors=[error]), 422)
    return Reply(_body(422, f"Invalid request.\n\n{refusal.detail}"), 422)


# -- declaration helpers -------------------------------------------------------------------

PAGING: dict[str, Any] = {
    "per_page": {"type": "integer", "description": "Results per page (default 30, at most 100)."},
    "page": {"type": "integer", "minimum": 1, "description": "Page number, from 1."},
}


def query(**properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {**PAGING, **properties}}


def body(
    resource: str, required: tuple[str, ...] = (), **properties: dict[str, Any]
) -> dict[str, Any]:
    """A JSON body schema; ``resource`` names it in 422 errors (``{"resource": "Issue", ...}``)."""
    return {**obj(required, **properties), "x-resource": resource}


def paginate(call: Call, items: list[Any]) -> Reply:
    """One page of ``items`` as ``per_page``/``page`` ask, with GitHub's ``Link`` header."""
    per_page = min(max(int(call.args.get("per_page") or 30), 1), 100)
    page = int(call.args.get("page") or 1)
    chunk = items[(page - 1) * per_page : page * per_page]
    link = link_header(call.url, call.query, page, per_page, len(items))
    return Reply(chunk, 200, (("Link", link),) if link else ())


def viewer(call: Call) -> str:
    login: str = (call.principal or {})["login"]
    return login
