"""What JQL clauses mean: each field's values, operators and ordering, checked against the site.

:class:`Clauses` turns one parsed clause (``field``, operator, values) into a predicate on
issue records. Values are resolved against the site (a project key, a status name, a
person); an unknown one is Jira's 400, held back until the whole query has parsed, as Jira
reports syntax first.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from localfactory.twins import Refusal

from .adf import to_text
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
Value = tuple[str, int]
"""A value's text (``<empty>`` for EMPTY and NULL, ``name()`` for a function) and its position."""

CHOICE_FIELDS = {
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
TEXT_FIELDS = {"summary", "description", "comment", "text"}
DATE_FIELDS = {"created", "updated", "resolutiondate", "duedate"}
SORTABLE = {
    "created",
    "updated",
    "key",
    "priority",
    "summary",
    "status",
    "resolutiondate",
    "duedate",
}
_ALWAYS_SET = {"project", "status", "statuscategory", "issuetype", "type", "key", "issuekey", "id"}
_RELATIVE = re.compile(r"^([-+]?)(\d+)([wdhm])$")
_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60}


def syntax_error(message: str, at: int | None = None) -> Refusal:
    where = f" (line 1, character {at})" if at is not None else ""
    return jira_error(400, f"Error in the JQL Query: {message}{where}")


def no_such_field(name: str) -> Refusal:
    return jira_error(
        400, f"Field '{name}' does not exist or you do not have permission to view it."
    )


def order_field(name: str) -> str:
    """The record field ``ORDER BY name`` sorts on; Jira's 400 for fields that do not sort."""
    field = CHOICE_FIELDS.get(name.lower(), name.lower())
    if field in SORTABLE:
        return field
    if name.lower() in CHOICE_FIELDS or name.lower() in TEXT_FIELDS | {"labels"}:
        raise jira_error(400, f"Field '{name}' does not support sorting.")
    raise no_such_field(name)


def matches_text(haystack: str, query: str) -> bool:
    words = re.findall(r"\w+", haystack.lower())
    terms = re.findall(r"\w+\*?", query.lower())
    return bool(terms) and all(
        any(w.startswith(t[:-1]) if t.endswith("*") else w == t for w in words) for t in terms
    )


def _jira_time(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+0000", time.gmtime(moment))


class Clauses:
    """Builds clause predicates for one site and one person (``currentUser()``)."""

    def __init__(self, world: JiraWorld, viewer: str | None) -> None:
        self.world = world
        self.viewer = viewer
        self.value_error: Refusal | None = None
        """The first unknown value, raised once the whole query has parsed."""

    def build(self, name: str, operator: str, values: list[Value]) -> Predicate:
        field = name.lower()
        if field in CHOICE_FIELDS or field == "labels":
            return self._choice(field, operator, values)
        if field in TEXT_FIELDS:
            return self._text(field, operator, values)
        if field in DATE_FIELDS:
            return self._date(field, operator, values)
        raise no_such_field(name)

    def _unsupported(self, operator: str, field: str) -> Exception:
        return jira_error(
            400, f"The operator '{operator.lower()}' is not supported by the '{field}' field."
        )

    def _resolve(self, field: str, value: str) -> Any:
        """A value as stored on issues, or Jira's 400 when the site has no such thing."""
        name = CHOICE_FIELDS.get(field, field)
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

    def _choice(self, field: str, operator: str, values: list[Value]) -> Predicate:
        if operator in ("~", "!~", ">", ">=", "<", "<="):
            raise self._unsupported(operator, field)
        if operator.startswith("IS") and field in _ALWAYS_SET:
            raise self._unsupported(operator, field)
        if operator.startswith("IS") and values[0][0] != "<empty>":
            raise syntax_error(f"Expecting 'EMPTY' but got '{values[0][0]}'.", values[0][1])
        wanted = set()
        for text, _ in values:
            try:
                wanted.add(self._resolve(field, text))
            except Refusal as exc:
                self.value_error = self.value_error or exc
        name = CHOICE_FIELDS.get(field, field)
        negate = operator in ("!=", "NOT IN", "IS NOT")

        def has(issue: dict[str, Any]) -> bool:
            if name == "labels":
                labels = issue["labels"]
                return any(w in labels for w in wanted) or (None in wanted and not labels)
            if name == "statusCategory":
                return STATUSES[issue["status"]][1] in wanted
            return issue[name] in wanted

        return (lambda issue: not has(issue)) if negate else has

    def _text(self, field: str, operator: str, values: list[Value]) -> Predicate:
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
                parts.append(plain(issue["description"]))
            if field in ("comment", "text"):
                parts += [plain(c["body"]) for c in world.comments_of(issue)]
            return "\n".join(parts)

        found = lambda issue: matches_text(text_of(issue), wanted)  # noqa: E731
        return (lambda issue: not found(issue)) if operator == "!~" else found

    def _date(self, field: str, operator: str, values: list[Value]) -> Predicate:
        if operator in ("~", "!~", "IN", "NOT IN"):
            raise self._unsupported(operator, field)
        text = values[0][0]
        if text == "<empty>":
            empty = operator in ("=", "IS")
            return lambda issue: (issue[field] is None) == empty
        when = moment(text)
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
        return lambda issue: issue[field] is not None and test(comparable(issue[field]), when)


def plain(value: Any) -> str:
    return to_text(value) if isinstance(value, dict) else str(value or "")


def comparable(stamp: str) -> str:
    """A stored date or timestamp as ``YYYY-MM-DDTHH:MM:SS.mmm+0000`` (dates at midnight)."""
    return stamp if "T" in stamp else f"{stamp}T00:00:00.000+0000"


def moment(text: str) -> str | None:
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


def sort_key(field: str) -> Callable[[dict[str, Any]], Any]:
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
