"""The admin API under ``/_twin/``: health, tokens, reset, seed, snapshots, faults, journal.

Not part of any real service: it is how tests and the CLI drive a twin. Its errors are
``{"error": code, "detail": sentence}`` with a 4xx status, whatever the twin.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from localfactory.twins.core import Refusal, Reply
from localfactory.twins.faults import FaultPlan
from localfactory.twins.schema import SchemaViolation, compile_schema
from localfactory.twins.state import SnapshotError, TwinState, read_snapshot, save_snapshot

if TYPE_CHECKING:
    from localfactory.twins.app import TwinApp

PREFIX = "/_twin"
_SNAPSHOT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")

AdminHandler = Callable[["TwinApp", dict[str, str], Any, str], Reply]


@dataclass(frozen=True, slots=True)
class AdminRoute:
    method: str
    path: str
    name: str
    summary: str
    handler: AdminHandler
    body: dict[str, Any] | None = None
    path_param: str | None = None


class AdminError(Exception):
    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(detail)
        self.reply = Reply({"error": code, "detail": detail}, status)


_SNAPSHOT_BODY: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "pattern": _SNAPSHOT_NAME.pattern, "default": "default"},
        "state": {"type": "object", "description": "Restore this state instead of a saved file."},
    },
}
_check_snapshot_body = compile_schema(_SNAPSHOT_BODY)


def _health(app: TwinApp, query: dict[str, str], body: Any, param: str) -> Reply:
    return Reply(
        {
            "status": "ok",
            "twin": app.twin.name,
            "version": app.twin.version,
            "uptime_s": round(time.time() - app.started, 3),
            "operations": len(app.twin.operations),
            "requests": app.journal.total,
            "faults": app.faults.active,
        }
    )


def _issue_token(app: TwinApp, query: dict[str, str], body: Any, param: str) -> Reply:
    request = body if isinstance(body, dict) else {}
    try:
        principal = app.twin.issue_token(app.state, request)
    except Refusal as exc:
        raise AdminError(400, "bad_token_request", exc.detail or exc.code) from None
    prefix = principal.pop("token_prefix", None) or app.twin.tokens.prefix
    token = prefix + secrets.token_hex(12)
    app.state.tokens[token] = {"principal": principal, "revoked": False, "issued_at": time.time()}
    return Reply({"token": token, **principal}, 201)


def _revoke_token(app: TwinApp, query: dict[str, str], body: Any, param: str) -> Reply:
    record = app.state.tokens.get(param)
    if record is None:
        raise AdminError(404, "unknown_token", "No such token was issued by this twin.")
    record["revoked"] = True
    return Reply({"revoked": True})


def _reset(app: TwinApp, query: dict[str, str], body: Any, param: str) -> Reply:
    app.state = app.twin.fresh_state()
    app.journal.clear()
    return Reply({"reset": True})


def _seed(app: TwinApp, query: dict[str, str], body: Any, param: str) -> Reply:
    if app.twin.seed is None:
        raise AdminError(404, "no_seed", f"The {app.twin.name} twin takes no seed data.")
    if not isinstance(body, dict):
        raise AdminError(400, "bad_seed", "Seed data must be a JSON object.")
    try:
        return Reply(app.twin.seed(app.state, body))
    except SchemaViolation as exc:
        raise AdminError(400, "bad_seed", str(exc)) from None
    except Refusal as exc:
        raise AdminError(400, "bad_seed", f"{exc.code}: {exc.detail}".rstrip(": ")) from None


def _snapshot_request(body: Any) -> dict[str, Any]:
    try:
        checked: dict[str, Any] = _check_snapshot_body(body if body is not None else {}, "")
        return checked
    except SchemaViolation as exc:
        raise AdminError(400, "bad_snapshot_request", str(exc)) from None


def _snapshot(app: TwinApp, query: dict[str, str], body: Any, param: str) -> Reply:
    name = _snapshot_request(body).get("name", "default")
    path = app.snapshot_dir / f"{name}.json"
    size = save_snapshot(path, app.twin.name, app.state)
    return Reply({"name": name, "path": str(path), "bytes": size})


def _restore(app: TwinApp, query: dict[str, str], body: Any, param: str) -> Reply:
    request = _snapshot_request(body)
    if "state" in request:
        app.state = _load(app, request["state"], "the request")
        return Reply({"restored": True, "name": None})
    name = request.get("name", "default")
    path = app.snapshot_dir / f"{name}.json"
    try:
        data = read_snapshot(path, app.twin.name)
    except SnapshotError as exc:
        status = 404 if not path.exists() else 400
        raise AdminError(status, "bad_snapshot", str(exc)) from None
    app.state = _load(app, data, str(path))
    return Reply({"restored": True, "name": name, "path": str(path)})


def _load(app: TwinApp, data: dict[str, Any], source: str) -> TwinState:
    """The state in ``data``, or a 400 when it is not a twin's tables and counters."""
    tables, counters = data.get("tables"), data.get("counters")
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise AdminError(400, "bad_snapshot", f"The state in {source} has no tables.")
    if not isinstance(counters, dict):
        raise AdminError(400, "bad_snapshot", f"The state in {source} has no counters.")
    try:
        return app.twin.state_type.load(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise AdminError(
            400, "bad_snapshot", f"The state in {source} does not fit: {exc!r}."
        ) from None


def _state(app: TwinApp, query: dict[str, str], body: Any, param: str) -> Reply:
    return Reply(app.state.dump())


def _get_faults(app: TwinApp, query: dict[str, str], body: Any, param: str) -> Reply:
    return Reply(app.faults.to_json())


def _put_faults(app: TwinApp, query: dict[str, str], body: Any, param: str) -> Reply:
    try:
        app.faults = FaultPlan.from_json(body if body is not None else {})
    except SchemaViolation as exc:
        raise AdminError(400, "bad_faults", str(exc)) from None
    return Reply(app.faults.to_json())


def _clear_faults(app: TwinApp, query: dict[str, str], body: Any, param: str) -> Reply:
    app.faults = FaultPlan()
    return Reply(app.faults.to_json())


def _requests(app: TwinApp, query: dict[str, str], body: Any, param: str) -> Reply:
    limit: int | None = None
    if "limit" in query:
        try:
            limit = int(query["limit"])
        except ValueError:
            raise AdminError(400, "bad_limit", "limit must be a whole number.") from None
    entries = app.journal.entries(limit, query.get("operation"))
    return Reply({"requests": entries, **app.journal.summary()})


def _clear_requests(app: TwinApp, query: dict[str, str], body: Any, param: str) -> Reply:
    app.journal.clear()
    return Reply(app.journal.summary())


ROUTES: list[AdminRoute] = [
    AdminRoute("GET", f"{PREFIX}/health", "twin.health", "Is the twin up?", _health),
    AdminRoute(
        "POST",
        f"{PREFIX}/tokens",
        "twin.tokens.issue",
        "Issue a token; the body says who it stands for (the twin's own fields).",
        _issue_token,
        body={"type": "object"},
    ),
    AdminRoute(
        "DELETE",
        f"{PREFIX}/tokens/{{token}}",
        "twin.tokens.revoke",
        "Revoke a token; later calls with it get the service's revoked-token error.",
        _revoke_token,
        path_param="token",
    ),
    AdminRoute("POST", f"{PREFIX}/reset", "twin.reset", "Back to a fresh world.", _reset),
    AdminRoute(
        "POST", f"{PREFIX}/seed", "twin.seed", "Add seed data.", _seed, body={"type": "object"}
    ),
    AdminRoute(
        "POST",
        f"{PREFIX}/snapshot",
        "twin.snapshot",
        "Save the state to disk.",
        _snapshot,
        _SNAPSHOT_BODY,
    ),
    AdminRoute(
        "POST", f"{PREFIX}/restore", "twin.restore", "Load a saved state.", _restore, _SNAPSHOT_BODY
    ),
    AdminRoute("GET", f"{PREFIX}/state", "twin.state", "The whole state as JSON.", _state),
    AdminRoute(
        "GET", f"{PREFIX}/faults", "twin.faults.get", "The installed fault plan.", _get_faults
    ),
    AdminRoute(
        "PUT",
        f"{PREFIX}/faults",
        "twin.faults.put",
        "Install a fault plan (seed and rules).",
        _put_faults,
        body={"type": "object"},
    ),
    AdminRoute(
        "DELETE", f"{PREFIX}/faults", "twin.faults.clear", "Turn faults off.", _clear_faults
    ),
    AdminRoute("GET", f"{PREFIX}/requests", "twin.requests", "The request journal.", _requests),
    AdminRoute(
        "DELETE", f"{PREFIX}/requests", "twin.requests.clear", "Empty the journal.", _clear_requests
    ),
]


def find_route(method: str, path: str) -> tuple[AdminRoute | None, str, bool]:
    """The route for ``method path``, its path parameter, and whether the path exists at all."""
    known = False
    for route in ROUTES:
        if route.path_param:
            head = route.path.split("{", 1)[0]
            if not path.startswith(head) or "/" in path[len(head) :] or path == head:
                continue
            param = path[len(head) :]
        elif route.path != path:
            continue
        else:
            param = ""
        known = True
        if route.method == method:
            return route, param, True
    return None, "", known
