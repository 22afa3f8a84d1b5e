"""Checking the fields a client sets on an issue, with Jira's messages for each field.

:func:`check_fields` turns a ``fields`` object into record changes and collects Jira's
per-field errors; :func:`check_update` does the same for the ``update`` operations (``set``,
``add``, ``remove``) on labels, summary, description, priority and comments.
"""

from __future__ import annotations

import re
from typing import Any

from localfactory.twins import Call

from . import adf
from .api import version, world_of
from .errors import field_errors
from .world import ISSUE_TYPES, PRIORITIES, RESOLUTIONS, find_by_name

SETTABLE = ("summary", "description", "issuetype", "priority", "labels", "assignee", "duedate")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def not_settable(name: str) -> str:
    return f"Field '{name}' cannot be set. It is not on the appropriate screen, or unknown."


def _summary(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, str) or not value.strip():
        return None, "You must specify a summary of the issue."
    if "\n" in value or "\r" in value:
        return None, "The summary is invalid because it contains newline characters."
    if len(value) > 254:
        return None, "Summary must be less than 255 characters."
    return value, None


def _reference(value: Any, table: dict[str, Any], invalid: str) -> tuple[Any, str | None]:
    """An ``{"id": ...}`` or ``{"name": ...}`` reference into an id -> name table."""
    if not isinstance(value, dict):
        return None, invalid
    found = find_by_name(table, value.get("id") or value.get("name") or "")
    return (found, None) if found else (None, invalid)


def _labels(value: Any) -> tuple[Any, str | None]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return None, "Operation value must be an array of strings"
    for label in value:
        if not label or any(c.isspace() for c in label):
            return None, f"The label '{label}' contains spaces which is invalid."
    return list(dict.fromkeys(value)), None


def _assignee(call: Call, value: Any) -> tuple[Any, str | None]:
    if value is None:
        return None, None
    account = value.get("accountId") if isinstance(value, dict) else None
    if not isinstance(account, str) or account not in world_of(call).users:
        return None, "Specify a valid value for assignee"
    return account, None


def _one(call: Call, name: str, value: Any) -> tuple[Any, str | None]:
    if name == "summary":
        return _summary(value)
    if name == "description":
        return adf.accepted(value, version(call), "description"), None
    if name == "issuetype":
        return _reference(value, ISSUE_TYPES, "The issue type selected is invalid.")
    if name == "priority":
        return _reference(value, PRIORITIES, "The priority selected is invalid.")
    if name == "resolution":
        return _reference(value, RESOLUTIONS, "The resolution selected is invalid.")
    if name == "labels":
        return _labels(value)
    if name == "assignee":
        return _assignee(call, value)
    if value is not None and not (isinstance(value, str) and _DATE.match(value)):
        return None, f"Error parsing date string: {value}"
    return value, None


def check_fields(
    call: Call, fields: dict[str, Any], allowed: tuple[str, ...] = SETTABLE
) -> tuple[dict[str, Any], dict[str, str]]:
    """Record changes for ``fields`` and Jira's errors for the fields that are wrong."""
    changes: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, value in fields.items():
        if name not in allowed:
            errors[name] = not_settable(name)
            continue
        checked, problem = _one(call, name, value)
        if problem:
            errors[name] = problem
        else:
            changes[name] = checked
    return changes, errors


def check_update(
    call: Call, issue: dict[str, Any], update: dict[str, Any]
) -> tuple[dict[str, Any], list[Any]]:
    """Record changes and comment bodies to add for an ``update`` object; raises Jira's 400."""
    changes: dict[str, Any] = {}
    comments: list[Any] = []
    errors: dict[str, str] = {}
    labels = list(issue.get("labels", []))
    for name, operations in update.items():
        if not isinstance(operations, list) or not all(isinstance(o, dict) for o in operations):
            errors[name] = 'Operations must be a list of objects such as {"set": value}.'
            continue
        for operation in operations:
            for verb, value in operation.items():
                if name == "comment" and verb == "add":
                    body = value.get("body") if isinstance(value, dict) else None
                    if adf.is_blank(body):
                        errors["comment"] = "Comment body can not be empty!"
                    else:
                        comments.append(adf.accepted(body, version(call), "comment"))
                elif name == "labels" and verb in ("add", "remove"):
                    _, problem = _labels([value])
                    if problem:
                        errors[name] = problem
                        continue
                    labels = [x for x in labels if x != value] + ([value] if verb == "add" else [])
                    changes["labels"] = labels
                elif verb == "set" and name in SETTABLE:
                    checked, problem = _one(call, name, value)
                    if problem:
                        errors[name] = problem
                        continue
                    changes[name] = checked
                    if name == "labels":
                        labels = list(checked)
                else:
                    errors[name] = not_settable(name)
    if errors:
        raise field_errors(errors)
    return changes, comments
