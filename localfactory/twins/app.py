"""The ASGI app that serves a twin: routing, parsing, auth, validation, faults, journal.

Deliberately thin (no framework routing, no request objects): a request costs a
dictionary look-up for its operation, one body parse, the precompiled schema checks
and the handler. Handlers are synchronous and run on the event loop, so a handler's
reads and writes of the state are never interleaved with another request's.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from pathlib import Path
from typing import Any

from localfactory.twins import admin
from localfactory.twins.core import (
    INVALID_ARGUMENTS,
    INVALID_TOKEN,
    METHOD_NOT_ALLOWED,
    MISSING_TOKEN,
    RATE_LIMITED,
    REVOKED_TOKEN,
    SERVER_ERROR,
    UNKNOWN_OPERATION,
    Call,
    Operation,
    Refusal,
    Reply,
    Stream,
    Twin,
)
from localfactory.twins.faults import FaultPlan
from localfactory.twins.journal import DEFAULT_CAPACITY, Journal
from localfactory.twins.openapi import openapi_document
from localfactory.twins.schema import SchemaViolation
from localfactory.twins.state import TwinState
from localfactory.twins.wire import (
    drop_connection,
    encode,
    parse_fields,
    parse_form,
    parse_json,
    read_body,
    send_json,
    send_stream,
)

log = logging.getLogger("localfactory.twins")

_ADMIN = admin.PREFIX + "/"
_NO_ARGS: dict[str, Any] = {}


class TwinApp:
    """One running twin: its state, fault plan and journal, served over ASGI."""

    def __init__(
        self,
        twin: Twin,
        *,
        snapshot_dir: Path,
        journal_capacity: int = DEFAULT_CAPACITY,
        state: TwinState | None = None,
    ) -> None:
        self.twin = twin
        self.snapshot_dir = snapshot_dir
        self.state: TwinState = state if state is not None else twin.fresh_state()
        self.faults = FaultPlan()
        self.journal = Journal(journal_capacity)
        self.started = time.time()
        self._exact: dict[str, dict[str, Operation]] = {}
        self._templated: list[tuple[re.Pattern[str], dict[str, Operation]]] = []
        for op in twin.operations:
            full = twin.prefix + op.path
            if op.path_params:
                pattern = re.compile(
                    "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(full)) + "$"
                )
                by_method = next(
                    (m for p, m in self._templated if p.pattern == pattern.pattern), None
                )
                if by_method is None:
                    by_method = {}
                    self._templated.append((pattern, by_method))
            else:
                by_method = self._exact.setdefault(full, {})
            for method in op.methods:
                by_method[method] = op
        self._openapi = encode(openapi_document(twin, admin.ROUTES))

    # -- ASGI entry -------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            path: str = scope["path"]
            if path.startswith(_ADMIN):
                await self._admin(scope, receive, send)
            elif path == "/openapi.json":
                await send_json(send, 200, self._openapi, ())
            else:
                await self._serve(scope, receive, send)
        elif kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    # -- the service ------------------------------------------------------------------

    def _route(self, method: str, path: str) -> tuple[Operation | None, dict[str, str], bool]:
        by_method = self._exact.get(path)
        params: dict[str, str] = {}
        if by_method is None:
            for pattern, candidates in self._templated:
                found = pattern.match(path)
                if found is not None:
                    by_method, params = candidates, found.groupdict()
                    break
            else:
                return None, params, False
        return by_method.get(method), params, True

    async def _serve(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = time.perf_counter()
        method: str = scope["method"]
        path: str = scope["path"]
        body = await read_body(receive)
        op, path_params, known = self._route(method, path)
        errors = self.twin.errors
        fault_kind: str | None = None
        args: Any = None
        if op is None:
            code = METHOD_NOT_ALLOWED if known else UNKNOWN_OPERATION
            reply = errors.render(Refusal(code, detail=f"{method} {path}"), None)
        else:
            fault = self.faults.draw(op.name) if self.faults.rules else None
            if fault is not None:
                fault_kind = fault.kind or "latency"
                if fault.delay_s:
                    await asyncio.sleep(fault.delay_s)
            if fault is not None and fault.kind == "drop":
                self.journal.record(method, path, op.name, 0, started, "drop", None)
                await drop_connection(receive, send)
                return
            if fault is not None and fault.kind == "rate_limit":
                reply = errors.render(Refusal(RATE_LIMITED, retry_after=fault.retry_after_s), op)
            elif fault is not None and fault.kind == "server_error":
                reply = errors.render(Refusal(SERVER_ERROR, status=fault.status), op)
            else:
                try:
                    call = self._call(op, scope, body, path_params)
                    args = call.args if op.args is not None else call.body
                    if op.raw_body:
                        args = {"bytes": len(body)}
                    result = op.handler(call)
                    if isinstance(result, Stream):
                        status = await send_stream(receive, send, result, self._stream_failed)
                        self.journal.record(method, path, op.name, status, started, None, args)
                        return
                    reply = result if isinstance(result, Reply) else Reply(result, op.status)
                except Refusal as refusal:
                    reply = errors.render(refusal, op)
                except Exception:
                    log.exception("The %s twin failed on %s %s", self.twin.name, method, path)
                    reply = errors.render(Refusal(SERVER_ERROR, status=500), op)
        await send_json(send, reply.status, encode(reply.body), reply.headers)
        self.journal.record(
            method, path, op.name if op else None, reply.status, started, fault_kind, args
        )

    def _call(
        self, op: Operation, scope: dict[str, Any], body: bytes, path_params: dict[str, str]
    ) -> Call:
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        query_string: bytes = scope["query_string"]
        query = parse_form(query_string.decode()) if query_string else {}
        raw_args: dict[str, Any] = _NO_ARGS
        parsed_body: Any = None
        if op.args is not None:
            raw_args = dict(query)
            if body:
                raw_args.update(parse_fields(body, headers.get("content-type", "")))
        elif op.raw_body:
            parsed_body = body
        elif body:
            parsed_body = parse_json(body)
        principal = self._authenticate(op, headers.get("authorization"), raw_args)
        try:
            args = op.check_args(raw_args, "") if op.check_args is not None else raw_args
            if op.check_query is not None:
                query = op.check_query(query, "")
            if op.check_body is not None:
                parsed_body = op.check_body(parsed_body if parsed_body is not None else {}, "")
        except SchemaViolation as violation:
            raise Refusal(INVALID_ARGUMENTS, detail=str(violation), violation=violation) from None
        if op.args is None:
            args = query
        scheme = scope.get("scheme", "http")
        host = headers.get("host") or "{}:{}".format(*scope.get("server") or ("127.0.0.1", 80))
        return Call(
            operation=op,
            state=self.state,
            args=args,
            path=path_params,
            body=parsed_body,
            principal=principal,
            headers=headers,
            origin=f"{scheme}://{host}",
            query=query_string.decode(),
            path_text=scope["path"],
        )

    def _stream_failed(self, exc: BaseException) -> None:
        log.error("The %s twin's stream failed: %r", self.twin.name, exc, exc_info=exc)

    def _authenticate(
        self, op: Operation, authorization: str | None, raw_args: dict[str, Any]
    ) -> dict[str, Any] | None:
        token = self.twin.tokens.extract(authorization, raw_args)
        if not op.auth:
            return None
        if token is None:
            raise Refusal(MISSING_TOKEN)
        record = self.state.tokens.get(token)
        if record is None:
            raise Refusal(INVALID_TOKEN)
        if record.get("revoked"):
            raise Refusal(REVOKED_TOKEN)
        principal: dict[str, Any] = record["principal"]
        return principal

    # -- the admin API ----------------------------------------------------------------

    async def _admin(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        raw = await read_body(receive)
        route, param, known = admin.find_route(scope["method"], scope["path"])
        try:
            if route is None:
                status = 405 if known else 404
                raise admin.AdminError(
                    status, "no_such_admin_call", f"{scope['method']} {scope['path']}"
                )
            query_string: bytes = scope["query_string"]
            query = parse_form(query_string.decode()) if query_string else {}
            try:
                body = json.loads(raw) if raw.strip() else None
            except ValueError:
                raise admin.AdminError(400, "bad_json", "The body is not valid JSON.") from None
            reply = route.handler(self, query, body, param)
        except admin.AdminError as exc:
            reply = exc.reply
        except Exception as exc:
            log.exception("The %s twin's admin call %s failed", self.twin.name, scope["path"])
            reply = Reply(
                {"error": "admin_call_failed", "detail": f"{type(exc).__name__}: {exc}"}, 500
            )
        await send_json(send, reply.status, encode(reply.body), reply.headers)
