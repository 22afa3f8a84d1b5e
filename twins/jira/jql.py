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
from dataclasses import dataclass
from typing import Any

from .clauses import Clauses, Predicate, Value, order_field, sort_key, syntax_error
from .world import JiraWorld

_TOKEN = re.compile(
    r"""(?P<space>\s+)|(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<open_string>["'])"""
    r"""|(?P<op>!=|!~|>=|<=|=|~|>|<)|(?P<punct>[(),])|(?P<word>[^\s"'(),=!~<>]+)"""
)
_OPERATORS = "'=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'"


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


class Parser:
    """Parses JQL against one site, for one person (``currentUser()``)."""

    def __init__(self, text: str, world: JiraWorld, viewer: str | None) -> None:
        self.tokens = tokenize(text)
        self.pos = 0
        self.clauses = Clauses(world, viewer)

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
        if self.clauses.value_error is not None:
            raise self.clauses.value_error
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

    def _value(self) -> Value:
        """One value: a word, a quoted string, ``EMPTY``/``NULL`` or a function call like ``currentUser()``."""
        token = self.token
        if token.kind not in ("word", "value"):
            got = "the end of the query" if token.kind == "end" else f"'{token.text}'"
            raise syntax_error(f"Expecting a value but got {got}.", token.at)
        self.pos += 1
        if token.kind == "word" and self.token.kind == "(":
            self.pos += 1
            self._expect(")", "')'")
            return token.text.lower() + "()", token.at
        if token.kind == "word" and token.text.upper() in ("EMPTY", "NULL"):
            return "<empty>", token.at
        return token.text, token.at

    def _values(self, operator: str) -> list[Value]:
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
        name = self._field_token().text
        operator = self._operator()
        return self.clauses.build(name, operator, self._values(operator))

    # -- ORDER BY -----------------------------------------------------------------------

    def _order(self) -> list[tuple[str, bool]]:
        order = []
        while True:
            field = order_field(self._field_token().text)
            descending = False
            if self._keyword("DESC"):
                descending = True
            else:
                self._keyword("ASC")
            order.append((field, descending))
            if self.token.kind != ",":
                return order
            self.pos += 1


def run(query: Query, issues: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The issues ``query`` selects, in its order (newest first without ORDER BY)."""
    where = query.where
    found = [i for i in issues if where is None or where(i)]
    for field, descending in reversed(query.order or [("created", True)]):
        found.sort(key=sort_key(field), reverse=descending)
    return found


def parse(text: str, world: JiraWorld, viewer: str | None) -> Query:
    return Parser(text, world, viewer).parse()
