"""How a twin is declared: operations, the call a handler receives, replies and refusals.

A twin is a list of :class:`Operation` records (method, path, argument schemas,
handler) plus four service-specific parts: how its errors look (an
:class:`ErrorRenderer`), where its tokens travel (a :class:`TokenScheme`), what a fresh
world holds (a :class:`~localfactory.twins.state.TwinState` subclass) and what a token
stands for when the admin API issues one. The framework does the rest: routing,
validation, auth, faults, the journal, snapshots and the OpenAPI document.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from localfactory.twins.schema import Check, SchemaViolation, compile_schema
from localfactory.twins.state import TwinState

# What went wrong, in the framework's words; each twin's renderer turns these into its
# service's own error bodies. Handlers raise the service's own codes directly.
MISSING_TOKEN = "missing_token"
INVALID_TOKEN = "invalid_token"
REVOKED_TOKEN = "revoked_token"
INVALID_ARGUMENTS = "invalid_arguments"
MALFORMED_BODY = "malformed_body"
UNKNOWN_OPERATION = "unknown_operation"
METHOD_NOT_ALLOWED = "method_not_allowed"
RATE_LIMITED = "rate_limited"
SERVER_ERROR = "server_error"

FRAMEWORK_CODES = frozenset(
    {
        MISSING_TOKEN,
        INVALID_TOKEN,
        REVOKED_TOKEN,
        INVALID_ARGUMENTS,
        MALFORMED_BODY,
        UNKNOWN_OPERATION,
        METHOD_NOT_ALLOWED,
        RATE_LIMITED,
        SERVER_ERROR,
    }
)


@dataclass(frozen=True, slots=True)
class Reply:
    """What goes back: a JSON body, a status and extra headers."""

    body: Any
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Stream:
    """A reply sent piece by piece: each item of ``chunks`` as one line of JSON (NDJSON).

    The items are produced off the event loop, in a worker thread, so a slow producer (a
    model generating text) does not hold up other requests. They must therefore not touch
    the twin's state: a handler changes the state before it returns the stream. An
    exception while producing ends the stream (the status line has long been sent).
    ``media_type`` ``application/json`` sends a single item as a plain JSON body.
    """

    chunks: Iterable[Any]
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    media_type: str = "application/x-ndjson"


class Refusal(Exception):
    """A request the twin refuses, the way the real service would.

    ``code`` is either one of the framework's codes above or the service's own (Slack's
    ``channel_not_found``). ``status`` overrides the renderer's default status.
    """

    def __init__(
        self,
        code: str,
        *,
        status: int | None = None,
        detail: str = "",
        violation: SchemaViolation | None = None,
        retry_after: int | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or code)
        self.code = code
        self.status = status
        self.detail = detail
        self.violation = violation
        self.retry_after = retry_after
        self.extra = dict(extra or {})


class ErrorRenderer(Protocol):
    """Turns a refusal into the real service's error response."""

    def render(self, refusal: Refusal, operation: Operation | None) -> Reply: ...


@dataclass(frozen=True, slots=True)
class TokenScheme:
    """Where a service's clients put their token, and what issued tokens look like."""

    prefix: str
    """Issued tokens start with this (``xoxb-`` for Slack bots, ``ghp_`` for GitHub)."""

    schemes: tuple[str, ...] = ("bearer",)
    """Accepted ``Authorization`` schemes, lower case."""

    argument: str | None = None
    """An argument that may carry the token instead (Slack's ``token``); it is removed from the arguments."""

    basic: Literal["username", "password"] | None = None
    """Which half of HTTP Basic credentials carries the token (Jira Cloud: the password, with
    the account's email as the username); None when the service takes no Basic credentials."""

    def extract(self, authorization: str | None, args: dict[str, Any]) -> str | None:
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if self.basic is not None and scheme.lower() == "basic":
                pair = decode_basic(value)
                if pair is None:
                    return value.strip() or None
                return (pair[0] if self.basic == "username" else pair[1]) or None
            if scheme.lower() in self.schemes and value.strip():
                return value.strip()
            return authorization.strip() or None
        if self.argument is not None:
            value = args.pop(self.argument, None)
            if isinstance(value, str) and value:
                return value
        return None


def decode_basic(credentials: str) -> tuple[str, str] | None:
    """The (username, password) in the base64 part of a ``Basic`` header, or None if it is not one."""
    try:
        text = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    username, sep, password = text.partition(":")
    return (username, password) if sep else None


@dataclass(slots=True)
class Call:
    """One request as a handler sees it: validated arguments, the caller, the world."""

    operation: Operation
    state: Any
    args: dict[str, Any]
    path: dict[str, str]
    body: Any
    principal: dict[str, Any] | None
    headers: dict[str, str]
    origin: str
    """Scheme and host the client used (``http://127.0.0.1:4711``), for URLs in answers."""
    path_text: str = ""
    """The request's path (``/repos/octo/hello/issues``)."""
    query: str = ""
    """The raw query string."""

    @property
    def url(self) -> str:
        """This request's URL without its query, for links to further pages."""
        return self.origin + self.path_text


Handler = Callable[[Call], Any]

_PATH_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(slots=True)
class Operation:
    """One endpoint of a twin."""

    method: str
    path: str
    """Relative to the twin's prefix; ``{name}`` marks a path parameter."""
    handler: Handler
    name: str
    summary: str = ""
    args: dict[str, Any] | None = None
    """RPC style (Slack): one set of arguments from the query string, a form or a JSON body."""
    query: dict[str, Any] | None = None
    """REST style: the query string's parameters."""
    body: dict[str, Any] | None = None
    """REST style: the JSON body."""
    raw_body: bool = False
    """The body reaches the handler as bytes, unparsed (uploads); it is journalled by size only."""
    status: int = 200
    auth: bool = True
    also: tuple[str, ...] = ()
    """Further HTTP methods that reach the same operation (Slack takes GET and POST)."""
    tags: tuple[str, ...] = ()
    check_args: Check | None = field(default=None, repr=False)
    check_query: Check | None = field(default=None, repr=False)
    check_body: Check | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        self.also = tuple(m.upper() for m in self.also)
        if self.args is not None:
            self.check_args = compile_schema(self.args)
        if self.query is not None:
            self.check_query = compile_schema(self.query)
        if self.body is not None:
            self.check_body = compile_schema(self.body)

    @property
    def methods(self) -> tuple[str, ...]:
        return (self.method, *self.also)

    @property
    def path_params(self) -> list[str]:
        return _PATH_PARAM.findall(self.path)


class Twin:
    """A declared twin: its operations and the service-specific parts.

    ``issue_token(state, request)`` returns the principal a new token stands for (any
    JSON object; handlers see it as ``call.principal``). It may set ``token_prefix`` to
    override the scheme's prefix for this token (Slack: ``xoxp-`` for users); the key is
    removed before the principal is stored. ``seed(state, request)`` adds seed data and
    returns what it created.
    """

    def __init__(
        self,
        name: str,
        *,
        title: str,
        version: str,
        state: type[TwinState],
        errors: ErrorRenderer,
        tokens: TokenScheme,
        issue_token: Callable[[Any, dict[str, Any]], dict[str, Any]],
        prefix: str = "",
        description: str = "",
        seed: Callable[[Any, dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.name = name
        self.title = title
        self.version = version
        self.description = description
        self.prefix = prefix.rstrip("/")
        self.state_type = state
        self.errors = errors
        self.tokens = tokens
        self.issue_token = issue_token
        self.seed = seed
        self.operations: list[Operation] = []

    def operation(
        self, method: str, path: str, *, name: str | None = None, **options: Any
    ) -> Callable[[Handler], Handler]:
        """Decorator declaring ``handler`` as the operation at ``method path``."""

        def declare(handler: Handler) -> Handler:
            summary = options.pop("summary", None) or (handler.__doc__ or "").strip()
            op = Operation(
                method,
                path,
                handler,
                name=name or path.strip("/"),
                summary=summary.splitlines()[0] if summary else "",
                **options,
            )
            if any(o.name == op.name for o in self.operations):
                raise ValueError(f"Twin {self.name} declares operation {op.name!r} twice.")
            self.operations.append(op)
            return handler

        return declare

    def fresh_state(self) -> TwinState:
        return self.state_type.fresh()
