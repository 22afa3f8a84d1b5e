"""Tokens for Jira accounts, and seed data for a site of people, projects and issues."""

from __future__ import annotations

from typing import Any

from localfactory.twins import Refusal
from localfactory.twins.schema import closed_list, compile_schema, strings

from .world import ISSUE_TYPES, PRIORITIES, STATUSES, JiraWorld, find_by_name

_TEXT: dict[str, Any] = {"type": "string"}
_EMAIL: dict[str, Any] = {"type": "string", "pattern": r"^[^@\s]+@[^@\s]+$"}

SEED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "users": closed_list(("email",), email=_EMAIL, displayName=_TEXT),
        "projects": closed_list(
            ("key", "name"),
            key={"type": "string", "description": "2-10 capitals, digits or _ (TWIN)."},
            name=_TEXT,
            description=_TEXT,
            lead={"type": "string", "description": "Email of the lead (default: Ada)."},
        ),
        "issues": closed_list(
            ("project", "summary"),
            project={"type": "string", "description": "Project key."},
            summary=_TEXT,
            description=_TEXT,
            issuetype={"type": "string", "description": "Task (default), Bug, Story or Epic."},
            status={"type": "string", "description": "To Do (default), In Progress or Done."},
            priority=_TEXT,
            labels=strings("Labels (no spaces)."),
            assignee={"type": "string", "description": "Email of the assignee."},
            reporter={"type": "string", "description": "Email of the reporter (default: Ada)."},
            created={"type": "string", "description": "2024-05-01T10:20:30.000+0000"},
            updated=_TEXT,
        ),
    },
}
_check_seed = compile_schema(SEED_SCHEMA)


def issue_token(world: JiraWorld, request: dict[str, Any]) -> dict[str, Any]:
    """An API token for ``{"user": email}`` (default Ada); an unknown email becomes a new account."""
    email = request.get("user") or "ada@example.com"
    if not isinstance(email, str) or "@" not in email:
        raise Refusal("bad_user", detail="user must be an email address.")
    user = world.find_user(email) or world.add_user(email, str(request.get("displayName") or ""))
    return {"accountId": user["accountId"], "email": user["email"]}


def _person(world: JiraWorld, email: str | None, default: str) -> str:
    user = world.find_user(email or default)
    if user is None:
        raise Refusal("bad_seed", detail=f"No user {email!r}: seed it under users first.")
    account: str = user["accountId"]
    return account


def _named(table: dict[str, Any], value: str | None, default: str, what: str) -> str:
    found = find_by_name(table, value) if value else default
    if found is None:
        raise Refusal("bad_seed", detail=f"No {what} named {value!r}.")
    return found


def seed(world: JiraWorld, request: dict[str, Any]) -> dict[str, Any]:
    """Adds people, projects and issues; answers with accountIds, project ids and issue keys."""
    data = _check_seed(request, "")
    users = {
        u["email"]: world.add_user(u["email"], u.get("displayName", ""))["accountId"]
        for u in data.get("users", [])
    }
    projects = {}
    for p in data.get("projects", []):
        lead = _person(world, p.get("lead"), "ada@example.com")
        try:
            project = world.add_project(
                p["key"], p["name"], lead=lead, description=p.get("description", "")
            )
        except ValueError as exc:
            raise Refusal("bad_seed", detail=str(exc)) from None
        projects[project["key"]] = project["id"]
    keys = []
    for i in data.get("issues", []):
        target = world.find_project(i["project"])
        if target is None:
            raise Refusal("bad_seed", detail=f"No project {i['project']!r}.")
        fields: dict[str, Any] = {
            "summary": i["summary"],
            "description": i.get("description"),
            "issuetype": _named(ISSUE_TYPES, i.get("issuetype"), "10001", "issue type"),
            "priority": _named(PRIORITIES, i.get("priority"), "3", "priority"),
            "labels": list(i.get("labels", [])),
            "assignee": _person(world, i["assignee"], "") if i.get("assignee") else None,
        }
        for stamp in ("created", "updated"):
            if i.get(stamp):
                fields[stamp] = i[stamp]
        if i.get("created") and not i.get("updated"):
            fields["updated"] = i["created"]
        issue = world.add_issue(
            target, _person(world, i.get("reporter"), "ada@example.com"), **fields
        )
        status = _named(STATUSES, i.get("status"), "10000", "status")
        if status != issue["status"]:
            stamp = issue["updated"]
            world.move(issue, status, None)
            issue["updated"] = stamp
        keys.append(issue["key"])
    return {"users": users, "projects": projects, "issues": keys}
