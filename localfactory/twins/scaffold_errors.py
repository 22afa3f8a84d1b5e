"""Error bodies of a scaffolded twin, in the shape the OpenAPI document gives its errors.

The shape is a template: the error body with placeholders, ``"$code"`` (the refusal's
code, ``not_found``), ``"$message"`` (a sentence), ``"$status"`` (the HTTP status) and
``"$details"`` (what was wrong with the request, as ``[{"field", "message"}]``).
:func:`error_template` makes one from the document's error schema by the names of its
fields (``code``, ``message``, ``status``, ``errors``...); without a schema the body is
``{"error": "$code", "message": "$message"}``. A scaffolded twin keeps its template in
its ``errors.py``, where it can be edited by hand.
"""

from __future__ import annotations

from typing import Any

from localfactory.twins import core
from localfactory.twins.core import Operation, Refusal, Reply
from localfactory.twins.scaffold_schema import empty_value, properties, required, schema_types

PLAIN: dict[str, Any] = {"error": "$code", "message": "$message"}

_CODE_NAMES = frozenset({"code", "error", "error_code", "errorCode", "type", "reason", "kind"})
_MESSAGE_NAMES = frozenset(
    {"message", "detail", "details", "description", "title", "error_description", "msg"}
)
_STATUS_NAMES = frozenset({"status", "status_code", "statusCode", "code", "http_status"})
_DETAIL_NAMES = frozenset({"errors", "details", "violations", "fields", "issues"})

_STATUSES: dict[str, int] = {
    core.MISSING_TOKEN: 401,
    core.INVALID_TOKEN: 401,
    core.REVOKED_TOKEN: 401,
    core.UNKNOWN_OPERATION: 404,
    core.METHOD_NOT_ALLOWED: 405,
    core.MALFORMED_BODY: 400,
    core.RATE_LIMITED: 429,
    core.SERVER_ERROR: 500,
}
_MESSAGES: dict[str, str] = {
    core.MISSING_TOKEN: "This call needs a bearer token in the Authorization header.",
    core.INVALID_TOKEN: "The token is not valid.",
    core.REVOKED_TOKEN: "The token has been revoked.",
    core.UNKNOWN_OPERATION: "There is no such operation.",
    core.METHOD_NOT_ALLOWED: "This path does not take that method.",
    core.MALFORMED_BODY: "The body is not valid JSON.",
    core.RATE_LIMITED: "Too many requests.",
    core.SERVER_ERROR: "The server failed.",
}


class ShapedErrors:
    """Renders refusals by filling the error template; ``invalid_status`` is 400 or 422."""

    def __init__(self, template: Any, *, invalid_status: int = 400) -> None:
        self.template = template
        self.invalid_status = invalid_status

    def render(self, refusal: Refusal, operation: Operation | None) -> Reply:
        code = refusal.code
        if refusal.status is not None:
            status = refusal.status
        elif code == core.INVALID_ARGUMENTS:
            status = self.invalid_status
        else:
            status = _STATUSES.get(code, 400)
        message = refusal.detail or _MESSAGES.get(code, code.replace("_", " "))
        details: list[dict[str, str]] = []
        if refusal.violation is not None:
            details.append({"field": refusal.violation.where, "message": refusal.violation.detail})
        values = {"$code": code, "$message": message, "$status": status, "$details": details}
        headers: tuple[tuple[str, str], ...] = ()
        if code == core.RATE_LIMITED:
            headers = (("Retry-After", str(refusal.retry_after or 1)),)
        return Reply(_fill(self.template, values), status, headers)


def _fill(template: Any, values: dict[str, Any]) -> Any:
    if isinstance(template, str):
        return values.get(template, template)
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    return template


def error_template(schema: dict[str, Any] | None, notes: list[str]) -> Any:
    """The error template for the document's error ``schema`` (:data:`PLAIN` without one)."""
    if not schema or not properties(schema):
        return dict(PLAIN)
    template = _object_template(schema, notes, depth=0)
    flat = str(template)
    if "$code" not in flat and "$message" not in flat:
        notes.append("the error schema has no field for a code or a message; errors are plain")
        return dict(PLAIN)
    return template


def _object_template(schema: dict[str, Any], notes: list[str], depth: int) -> dict[str, Any]:
    props = properties(schema)
    wanted = set(required(schema))
    has_message = any(n in _MESSAGE_NAMES for n in props)
    out: dict[str, Any] = {}
    for name, sub in props.items():
        kinds = schema_types(sub)
        if "object" in kinds and depth < 2 and properties(sub):
            out[name] = _object_template(sub, notes, depth + 1)
        elif ("integer" in kinds or "number" in kinds) and name in _STATUS_NAMES:
            out[name] = "$status"
        elif "array" in kinds and name in _DETAIL_NAMES:
            out[name] = "$details"
        elif "string" in kinds or not kinds:
            if name in _CODE_NAMES and (has_message or name != "error"):
                out[name] = "$code"
            elif name in _MESSAGE_NAMES or name == "error":
                out[name] = "$message"
            elif name in wanted:
                out[name] = sub.get("default", "")
        elif name in wanted:
            out[name] = empty_value(sub)
            notes.append(f"the error field {name!r} is always {out[name]!r}")
    return out


def invalid_status(statuses: set[int]) -> int:
    """The status the document answers invalid requests with: 422 if it uses that and not 400."""
    return 422 if 422 in statuses and 400 not in statuses else 400
