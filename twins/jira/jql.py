"""A subset of JQL: parsed once per search into a predicate on issues and a sort order.

Grammar: clauses ``field OP value`` joined by ``AND``/``OR`` (``AND`` binds tighter), ``NOT``
and parentheses, then an optional ``ORDER BY field [ASC|DESC], ...``. Operators: ``=``,
``!=``, ``IN (...)``, ``NOT IN (...)``, ``IS [NOT] EMPTY``, ``~``/``!~`` on text fields, and
``<``, ``<=``, ``>``, ``>=`` on dates (``"2024-05-01"``, ``"2024-05-01 10:30"``, ``-7d``,
``now()``). Fields: project, status, statusCategory, issuetype (type), priority,
resolution, assignee/reporter/creator (accountId, email, display name, ``currentUser()``),
labels, key (issuekey, id), summary, description, comment, text, created, updated,
resolutiondate, duedate. ``text ~ "a b"`` needs every word (``word*`` is a prefix) in the
summary, description or comments, case aside.

Values are checked against the site before anything runs, and mistakes get Jira's own
400 messages (``The value 'X' does not exist for the field 'project'.``, ``Error in the JQL
Query: ...``). Without ORDER BY, the newest issues come first.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from localfactory.twins import Refusal

from .errors import jira_error
from .world import (
    CATEGORIES,
    ISSUE_TYPES,
    PRIORITIES,
    RESOLUTIONS,
    STATUSES,
    JiraWorld,
    find_by_name,
)

Predicate = Callable[[dict[str, Any]], bool]

_TOKEN = re.compile(
    r"""(?P<space>\s+)|(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<open_string>["'])"""
    r"""|(?P<op>!=|!~|>=|<=|=|~|>|<)|(?P<punct>[(),])|(?P<word>[^\s"'(),=!~<>]+)"""
)
_OPERATORS = "'=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'"
_CHOICE_FIELDS = {
    "project": "project",
    "status": "status",
    "statuscategory": "statusCategory",
    "issuetype": "issuetype",
    "type": "issuetype",
    "priority": "priority",
    "resolution": "resolution",
    "assignee": "assignee",
    "reporter": "reporter",
    "creator": "creator",
    "key": "key",
    "issuekey": "key",
    "id": "key",
}
_TEXT_FIELDS = {"summary", "description", "comment", "text"}
_DATE_FIELDS = {"created", "updated", "resolutiondate", "duedate"}
_SORTABLE = {
    "created",
    "updated",
    "key",
    "priority",
    "summary",
    "status",
    "resolutiondate",
    "duedate",
}
_RELATIVE = re.compile(r"^([-+]?)(\d+)([wdhm])$")
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60}


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    at: int
    """1-based character position, as Jira's messages count."""


@dataclass(frozen=True)
class Query:
    where: Predicate | None
    order: list[tuple[str, bool]]
    """(field, descending) pairs."""


def syntax_error(message: str, at: int | None = None) -> Exception:
    where = f" (line 1, character {at})" if at is not None else ""
    return jira_error(400, f"Error in the JQL Query: {message}{where}")


def tokenize(text: str) -> list[Token]:
    tokens = []
    for found in _TOKEN.finditer(text):
        kind = found.lastgroup or ""
        at = found.start() + 1
        if kind == "open_string":
            raise syntax_error(
                f"The quoted string '{text[found.start() + 1 :]}' has not been completed.", at
            )
        if kind == "string":
            tokens.append(Token("value", re.sub(r"\\(.)", r"\1", found.group()[1:-1]), at))
        elif kind == "word":
            tokens.append(Token("word", found.group(), at))
        elif kind != "space":
            tokens.append(Token(found.group(), found.group(), at))
    return [*tokens, Token("end", "", len(text) + 1)]


def _matches_text(haystack: str, query: str) -> bool:
    words = re.findall(r"\w+", haystack.lower())
    terms = re.findall(r"\w+\*?", query.lower())
    return bool(terms) and all(
        any(w.startswith(t[:-1]) if t.endswith("*") else w == t for w in words) for t in terms
    )


def _jira_time(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(moment))


class Parser:
    """Parses JQL against one site, for one person (``currentUser()``)."""

    def __init__(self, text: str, world: JiraWorld, viewer: str | None) -> None:
        self.tokens = tokenize(text)
        self.pos = 0
        self.world = world
        self.viewer = viewer
        self.value_error: Refusal | None = None
        """The first unknown value; raised once the whole query parsed (Jira checks syntax first)."""

    # -- tokens -------------------------------------------------------------------------

    @property
    def token(self) -> Token:
        return self.tokens[self.pos]

    def _keyword(self, *words: str) -> bool:
        """Consume the keywords ``words`` if they come next."""
        ahead = self.tokens[self.pos : self.pos + len(words)]
        if len(ahead) == len(words) and all(
            t.kind == "word" and t.text.upper() == w for t, w in zip(ahead, words, strict=True)
        ):
            self.pos += len(words)
            return True
        return False

    def _field_token(self) -> Token:
        """A field name: a word, or a quoted name (``"Epic Link"``)."""
        return self._expect("value" if self.token.kind == "value" else "word", "a field name")

    def _expect(self, kind: str, wanted: str) -> Token:
        token = self.token
        if token.kind != kind:
            got = "the end of the query" if token.kind == "end" else f"'{token.text}'"
            raise syntax_error(f"Expecting {wanted} but got {got}.", token.at)
        self.pos += 1
        return token

    # -- the query ----------------------------------------------------------------------

    def parse(self) -> Query:
        where = None
        if self.token.kind != "end" and not self._at_order():
            where = self._or()
        order: list[tuple[str, bool]] = []
        if self._keyword("ORDER", "BY"):
            order = self._order()
        if self.token.kind != "end":
            raise syntax_error(
                f"Expecting either 'OR' or 'AND' but got '{self.token.text}'.", self.token.at
            )
        if self.value_error is not None:
            raise self.value_error
        return Query(where, order)

    def _at_order(self) -> bool:
        ahead = self.tokens[self.pos : self.pos + 2]
        return [t.text.upper() for t in ahead] == ["ORDER", "BY"]

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._keyword("OR"):
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else lambda issue: any(p(issue) for p in parts)

    def _and(self) -> Predicate:
        parts = [self._not()]
        while self._keyword("AND"):
            parts.append(self._not())
        return parts[0] if len(parts) == 1 else lambda issue: all(p(issue) for p in parts)

    def _not(self) -> Predicate:
        if self._keyword("NOT"):
            inner = self._not()
            return lambda issue: not inner(issue)
        if self.token.kind == "(":
            self.pos += 1
            inner = self._or()
            self._expect(")", "')'")
            return inner
        return self._clause()

    def _operator(self) -> str:
        token = self.token
        if token.kind in ("=", "!=", "~", "!~", ">", ">=", "<", "<="):
            self.pos += 1
            return token.kind
        for words in (("NOT", "IN"), ("IN",), ("IS", "NOT"), ("IS",)):
            if self._keyword(*words):
                return " ".join(words)
        got = "the end of the query" if token.kind == "end" else f"'{token.text}'"
        raise syntax_error(
            f"Expecting operator but got {got}. The valid operators are {_OPERATORS}.", token.at
        )

    def _value(self) -> tuple[str, Token]:
        """One value: a word, a quoted string, ``EMPTY``/``NULL`` or a function call like ``currentUser()``."""
        token = self.token
        if token.kind not in ("word", "value"):
            got = "the end of the query" if token.kind == "end" else f"'{token.text}'"
            raise syntax_error(f"Expecting a value but got {got}.", token.at)
        self.pos += 1
        if token.kind == "word" and self.token.kind == "(":
            self.pos += 1
            self._expect(")", "')'")
            return token.text.lower() + "()", token
        if token.kind == "word" and token.text.upper() in ("EMPTY", "NULL"):
            return "<empty>", token
        return token.text, token

    def _values(self, operator: str) -> list[tuple[str, Token]]:
        if operator not in ("IN", "NOT IN"):
            return [self._value()]
        self._expect("(", "'('")
        values = [self._value()]
        while self.token.kind == ",":
            self.pos += 1
            values.append(self._value())
        self._expect(")", "')'")
        return values

    def _clause(self) -> Predicate:
        field_token = self._field_token()
        field = field_token.text.lower()
        operator = self._operator()
        values = self._values(operator)
        if field in _CHOICE_FIELDS or field == "labels":
            return self._choice(field, operator, values)
        if field in _TEXT_FIELDS:
            return self._text(field, operator, values)
        if field in _DATE_FIELDS:
            return self._date(field, operator, values)
        raise jira_error(
            400,
            f"Field '{field_token.text}' does not exist or you do not have permission to view it.",
        )

    # -- clause kinds -------------------------------------------------------------------

    def _unsupported(self, operator: str, field: str) -> Exception:
        return jira_error(
            400, f"The operator '{operator.lower()}' is not supported by the '{field}' field."
        )

    def _resolve(self, field: str, value: str) -> Any:
        """A value as stored on issues, or Jira's 400 when the site has no such thing."""
        name = _CHOICE_FIELDS.get(field, field)
        if value == "<empty>":
            return None
        found: Any = None
        if name == "project":
            project = self.world.find_project(value)
            found = project["key"] if project else None
        elif name == "status":
            found = find_by_name(STATUSES, value)
        elif name == "statusCategory":
            found = next(
                (k for k, c in CATEGORIES.items() if value.lower() in (k, c[1].lower(), str(c[0]))),
                None,
            )
        elif name == "issuetype":
            found = find_by_name(ISSUE_TYPES, value)
        elif name == "priority":
            found = find_by_name(PRIORITIES, value)
        elif name == "resolution":
            found = (
                "<unresolved>"
                if value.lower() == "unresolved"
                else find_by_name(RESOLUTIONS, value)
            )
        elif name in ("assignee", "reporter", "creator"):
            user = (
                self.world.find_user(self.viewer or "")
                if value == "currentuser()"
                else self.world.find_user(value)
            )
            found = user["accountId"] if user else None
        elif name == "key":
            try:
                found = self.world.issue(value)["key"]
            except Refusal:
                raise jira_error(
                    400, f"An issue with key '{value}' does not exist for field '{field}'."
                ) from None
        else:
            found = value
        if found is None:
            raise jira_error(400, f"The value '{value}' does not exist for the field '{field}'.")
        return None if found == "<unresolved>" else found

    def _choice(self, field: str, operator: str, values: list[tuple[str, Token]]) -> Predicate:
        if operator in ("~", "!~", ">", ">=", "<", "<="):
            raise self._unsupported(operator, field)
        if operator.startswith("IS") and field in (
            "project",
            "status",
            "statuscategory",
            "issuetype",
            "type",
            "key",
            "issuekey",
            "id",
        ):
            raise self._unsupported(operator, field)
        if operator.startswith("IS") and values[0][0] != "<empty>":
            raise syntax_error(f"Expecting 'EMPTY' but got '{values[0][1].text}'.", values[0][1].at)
        wanted = set()
        for text, _ in values:
            try:
                wanted.add(self._resolve(field, text))
            except Refusal as exc:
                self.value_error = self.value_error or exc
        name = _CHOICE_FIELDS.get(field, field)
        negate = operator in ("!=", "NOT IN", "IS NOT")

        def has(issue: dict[str, Any]) -> bool:
            if name == "labels":
                labels = issue["labels"]
                return any(w in labels for w in wanted) or (None in wanted and not labels)
            if name == "statusCategory":
                return STATUSES[issue["status"]][1] in wanted
            return issue[name] in wanted

        return (lambda issue: not has(issue)) if negate else has

    def _text(self, field: str, operator: str, values: list[tuple[str, Token]]) -> Predicate:
        if field == "description" and operator in ("IS", "IS NOT") and values[0][0] == "<empty>":
            empty = operator == "IS"
            return lambda issue: (issue["description"] in (None, "")) == empty
        if operator not in ("~", "!~"):
            raise self._unsupported(operator, field)
        wanted = values[0][0]
        world = self.world

        def text_of(issue: dict[str, Any]) -> str:
            parts = []
            if field in ("summary", "text"):
                parts.append(issue["summary"])
            if field in ("description", "text"):
                parts.append(_plain(issue["description"]))
            if field in ("comment", "text"):
                parts += [_plain(c["body"]) for c in world.comments_of(issue)]
            return "\n".join(parts)

        found = lambda issue: _matches_text(text_of(issue), wanted)  # noqa: E731
        return (lambda issue: not found(issue)) if operator == "!~" else found

    def _date(self, field: str, operator: str, values: list[tuple[str, Token]]) -> Predicate:
        if operator in ("~", "!~", "IN", "NOT IN"):
            raise self._unsupported(operator, field)
        text = values[0][0]
        if text == "<empty>":
            empty = operator in ("=", "IS")
            return lambda issue: (issue[field] is None) == empty
        when = _moment(text)
        if when is None:
            raise jira_error(
                400,
                f"Date value '{text}' for field '{field}' is invalid. Valid formats include: "
                "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
                "format e.g. '-5d', '4w 2d'.",
            )
        compare: dict[str, Callable[[str, str], bool]] = {
            "=": lambda a, b: a == b,
            "!=": lambda a, b: a != b,
            ">": lambda a, b: a > b,
            ">=": lambda a, b: a >= b,
            "<": lambda a, b: a < b,
            "<=": lambda a, b: a <= b,
        }
        if operator not in compare:
            raise self._unsupported(operator, field)
        test = compare[operator]
        return lambda issue: issue[field] is not None and test(_comparable(issue[field]), when)

    # -- ORDER BY -----------------------------------------------------------------------

    def _order(self) -> list[tuple[str, bool]]:
        order = []
        while True:
            token = self._field_token()
            field = _CHOICE_FIELDS.get(token.text.lower(), token.text.lower())
            if field not in _SORTABLE:
                known = (
                    token.text.lower() in _CHOICE_FIELDS
                    or token.text.lower() in _TEXT_FIELDS | {"labels"}
                )
                if known:
                    raise jira_error(400, f"Field '{token.text}' does not support sorting.")
                raise jira_error(
                    400,
                    f"Field '{token.text}' does not exist or you do not have permission to view it.",
                )
            descending = False
            if self._keyword("DESC"):
                descending = True
            else:
                self._keyword("ASC")
            order.append((field, descending))
            if self.token.kind != ",":
                return order
            self.pos += 1


def _plain(value: Any) -> str:
    from .adf import to_text

    return to_text(value) if isinstance(value, dict) else str(value or "")


def _comparable(stamp: str) -> str:
    """A stored date or timestamp as ``YYYY-MM-DDTHH:MM:SS.mmm+0000`` (dates at midnight)."""
    return stamp if "T" in stamp else f"{stamp}T00:00:00.000+0000"


def _moment(text: str) -> str | None:
    if text == "now()":
        return _jira_time(time.time())
    relative = _RELATIVE.match(text.replace(" ", ""))
    if relative:
        sign = -1 if relative.group(1) == "-" else 1
        return _jira_time(time.time() + sign * int(relative.group(2)) * _UNITS[relative.group(3)])
    found = re.match(r"^(\d{4})[-/](\d{2})[-/](\d{2})(?:[ T](\d{2}):(\d{2}))?$", text)
    if found is None:
        return None
    year, month, day, hour, minute = found.groups()
    return f"{year}-{month}-{day}T{hour or '00'}:{minute or '00'}:00.000+0000"


def _sort_key(field: str) -> Callable[[dict[str, Any]], Any]:
    if field == "key":
        return lambda issue: (issue["project"], int(issue["key"].rsplit("-", 1)[1]))
    if field == "priority":
        return lambda issue: -int(issue["priority"])
    if field == "status":
        order = list(STATUSES)
        return lambda issue: order.index(issue["status"])
    if field == "updated":
        return lambda issue: (issue["updated"], issue["touched"])
    if field == "created":
        return lambda issue: (issue["created"], int(issue["id"]))
    return lambda issue: (issue[field] is None, issue[field] or "")


def run(query: Query, issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issues ``query`` selects, in its order (newest first without ORDER BY)."""
    where = query.where
    found = [i for i in issues if where is None or where(i)]
    for field, descending in reversed(query.order or [("created", True)]):
        found.sort(key=_sort_key(field), reverse=descending)
    return found


def parse(text: str, world: JiraWorld, viewer: str | None) -> Query:
    return Parser(text, world, viewer).parse()
