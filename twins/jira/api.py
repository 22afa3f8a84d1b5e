"""What every Jira operation shares: the ``/rest/api/{2,3,latest}`` prefix, who is calling, paging.

Jira Cloud serves the same operations under versions 2 and 3 (and ``latest``, which is 2
here); they differ in rich text only (see :mod:`.adf`). Basic credentials must name the
email of the account the API token belongs to, or the call is unauthenticated (401).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from localfactory.twins import Call, Refusal, Twin, core
from localfactory.twins.core import decode_basic

from .errors import jira_error
from .world import JiraWorld

API = "/rest/api/{version}"
_VERSIONS = {"2": 2, "3": 3, "latest": 2}


def version(call: Call) -> int:
    """2 or 3: which API version the caller used."""
    return _VERSIONS[call.path["version"]]


def viewer(call: Call) -> str:
    """The caller's accountId."""
    account: str = (call.principal or {})["accountId"]
    return account


def _check_caller(call: Call) -> None:
    if "version" in call.path and call.path["version"] not in _VERSIONS:
        raise Refusal(core.UNKNOWN_OPERATION, detail=f"{call.operation.method} {call.url}")
    if call.principal is None:
        return
    scheme, _, credentials = call.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        pair = decode_basic(credentials)
        if pair is None or pair[0].lower() != str(call.principal.get("email", "")).lower():
            raise Refusal(core.INVALID_TOKEN)


def declare(
    twin: Twin, method: str, path: str, name: str, *, prefix: str = API, **options: Any
) -> Callable[..., Any]:
    """Declare ``handler`` at ``prefix`` + ``path``, checking the API version and the caller first."""

    def wrap(handler: Callable[[Call], Any]) -> Callable[[Call], Any]:
        @functools.wraps(handler)
        def checked(call: Call) -> Any:
            _check_caller(call)
            return handler(call)

        twin.operation(method, prefix + path, name=name, **options)(checked)
        return handler

    return wrap


def world_of(call: Call) -> JiraWorld:
    world: JiraWorld = call.state
    return world


def params(call: Call) -> dict[str, Any]:
    """The request's parameters: the JSON body of a POST, else the query string."""
    return call.body if isinstance(call.body, dict) else call.args


def listed(call: Call, name: str) -> list[str] | None:
    """A list parameter (``fields=a,b`` or ``fields=a&fields=b``, or a JSON list); None when absent."""
    if isinstance(call.body, dict):
        value = call.body.get(name)
        if value is None:
            return None
        items = value if isinstance(value, list) else [value]
    else:
        found = parse_qs(call.query, keep_blank_values=True).get(name)
        if found is None:
            return None
        items = found
    return [part.strip() for item in items for part in str(item).split(",") if part.strip()]


def whole_number(value: Any, name: str, default: int, *, low: int = 0) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise jira_error(400, f"The value '{value}' is invalid for {name}.") from None
    if number < low:
        raise jira_error(400, f"The value '{value}' is invalid for {name}.")
    return number


def window(
    call: Call, items: list[Any], *, default: int, most: int
) -> tuple[list[Any], dict[str, Any]]:
    """The page ``startAt``/``maxResults`` ask for, and Jira's paging fields for it."""
    given = params(call)
    start = whole_number(given.get("startAt"), "startAt", 0)
    size = min(whole_number(given.get("maxResults"), "maxResults", default), most)
    page = items[start : start + size]
    return page, {
        "startAt": start,
        "maxResults": size,
        "total": len(items),
        "isLast": start + size >= len(items),
    }
