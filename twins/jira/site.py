"""The site itself: server info, people, fields, projects, and the issue types, statuses and priorities."""

from __future__ import annotations

from typing import Any

from localfactory.twins import Call, Twin

from . import render
from .api import declare, viewer, window, world_of
from .errors import jira_error
from .render import ALL_FIELDS
from .world import ISSUE_TYPES, PRIORITIES, STATUSES, now_jira

CLOUD_VERSION = [1001, 0, 0]

_FIELD_NAMES = {
    "summary": ("Summary", "string"),
    "description": ("Description", "string"),
    "issuetype": ("Issue Type", "issuetype"),
    "project": ("Project", "project"),
    "status": ("Status", "status"),
    "priority": ("Priority", "priority"),
    "labels": ("Labels", "array"),
    "assignee": ("Assignee", "user"),
    "reporter": ("Reporter", "user"),
    "creator": ("Creator", "user"),
    "created": ("Created", "datetime"),
    "updated": ("Updated", "datetime"),
    "resolution": ("Resolution", "resolution"),
    "resolutiondate": ("Resolved", "datetime"),
    "duedate": ("Due date", "date"),
    "statuscategorychangedate": ("Status Category Changed", "datetime"),
    "comment": ("Comment", "comments-page"),
}


def server_info(call: Call) -> dict[str, Any]:
    """What this Jira is (clients read ``versionNumbers`` and ``deploymentType`` at start-up)."""
    return {
        "baseUrl": call.origin,
        "displayUrl": call.origin,
        "version": ".".join(str(n) for n in CLOUD_VERSION),
        "versionNumbers": CLOUD_VERSION,
        "deploymentType": "Cloud",
        "buildNumber": 100300,
        "buildDate": "2026-11-01T00:00:00.000+0000",
        "serverTime": now_jira(),
        "scmInfo": "localfactory-twin",
        "serverTitle": "Jira (localfactory twin)",
        "defaultLocale": {"locale": "en_US"},
        "serverTimeZone": "Etc/UTC",
    }


def myself(call: Call) -> dict[str, Any]:
    """The person the credentials belong to."""
    me = render.user(call, viewer(call)) or {}
    return {**me, "groups": {"size": 1, "items": []}, "applicationRoles": {"size": 1, "items": []}}


def session(call: Call) -> dict[str, Any]:
    """Who the credentials belong to (``JIRA(validate=True)`` asks this first)."""
    me = world_of(call).users[viewer(call)]
    return {
        "self": f"{call.origin}/rest/api/latest/user?accountId={me['accountId']}",
        "name": me["email"],
        "loginInfo": {"loginCount": 1, "previousLoginTime": now_jira()},
    }


def get_user(call: Call) -> dict[str, Any]:
    """A person by ``accountId``."""
    found = render.user(call, call.args.get("accountId"))
    if found is None:
        raise jira_error(
            404, f"The user with account ID '{call.args.get('accountId')}' does not exist"
        )
    return found


def search_users(call: Call) -> list[Any]:
    """People whose email or display name holds ``query`` (or the one ``accountId``)."""
    world = world_of(call)
    query = str(call.args.get("query") or "").lower()
    account = call.args.get("accountId")
    found = [
        u
        for u in world.users.values()
        if (account and u["accountId"] == account)
        or (query and (query in u["email"].lower() or query in u["displayName"].lower()))
    ]
    page, _ = window(call, found, default=50, most=1000)
    return [render.user(call, u["accountId"]) for u in page]


def fields(call: Call) -> list[dict[str, Any]]:
    """The issue fields this site has (all system fields: the twin has no custom ones)."""
    return [
        {
            "id": field,
            "key": field,
            "name": name,
            "custom": False,
            "orderable": field not in ("status", "created", "updated", "creator", "resolutiondate"),
            "navigable": field != "comment",
            "searchable": True,
            "clauseNames": [field],
            "schema": {"type": kind, "system": field},
        }
        for field, (name, kind) in _FIELD_NAMES.items()
        if field in ALL_FIELDS
    ]


def _project(call: Call) -> dict[str, Any]:
    wanted = call.path["projectIdOrKey"]
    found = world_of(call).find_project(wanted)
    if found is None:
        kind = "id" if wanted.isdigit() else "key"
        raise jira_error(404, f"No project could be found with {kind} '{wanted}'.")
    return found


def list_projects(call: Call) -> list[dict[str, Any]]:
    """Every project, by name."""
    projects = sorted(world_of(call).projects.values(), key=lambda p: p["name"].lower())
    return [render.project(call, p) for p in projects]


def search_projects(call: Call) -> dict[str, Any]:
    """Projects a page at a time (``startAt``, ``maxResults``), filtered by ``query`` or ``keys``."""
    query = str(call.args.get("query") or "").lower()
    keys = [k for k in str(call.args.get("keys") or "").split(",") if k]
    order = str(call.args.get("orderBy") or "key")
    found = [
        p
        for p in world_of(call).projects.values()
        if (not query or query in p["key"].lower() or query in p["name"].lower())
        and (not keys or p["key"] in keys)
    ]
    found.sort(
        key=lambda p: str(p.get(order.lstrip("+-"), p["key"])).lower(),
        reverse=order.startswith("-"),
    )
    page, paging = window(call, found, default=50, most=100)
    return {
        "self": call.url,
        "values": [render.project(call, p, full=True) for p in page],
        **paging,
    }


def get_project(call: Call) -> dict[str, Any]:
    """One project, with its lead and issue types."""
    return render.project(call, _project(call), full=True)


def project_statuses(call: Call) -> list[dict[str, Any]]:
    """For each issue type of a project, the statuses of its workflow."""
    return [
        {
            **render.issue_type(call, type_id),
            "statuses": [render.status(call, s) for s in STATUSES],
        }
        for type_id in _project(call)["issueTypes"]
    ]


def issue_types(call: Call) -> list[dict[str, Any]]:
    """Every issue type."""
    return [render.issue_type(call, t) for t in ISSUE_TYPES]


def statuses(call: Call) -> list[dict[str, Any]]:
    """Every status."""
    return [render.status(call, s) for s in STATUSES]


def priorities(call: Call) -> list[dict[str, Any]]:
    """Every priority, highest first."""
    return [render.priority(call, p) for p in PRIORITIES]


def register(twin: Twin) -> None:
    declare(twin, "GET", "/serverInfo", "serverInfo", auth=False, tags=("site",))(server_info)
    declare(twin, "GET", "/myself", "myself", tags=("people",))(myself)
    declare(twin, "GET", "/session", "auth.session", prefix="/rest/auth/1", tags=("people",))(
        session
    )
    declare(twin, "GET", "/user", "user.get", tags=("people",))(get_user)
    declare(twin, "GET", "/user/search", "user.search", tags=("people",))(search_users)
    declare(twin, "GET", "/field", "field.list", tags=("site",))(fields)
    declare(twin, "GET", "/issuetype", "issuetype.list", tags=("site",))(issue_types)
    declare(twin, "GET", "/status", "status.list", tags=("site",))(statuses)
    declare(twin, "GET", "/priority", "priority.list", tags=("site",))(priorities)
    tags = ("projects",)
    declare(twin, "GET", "/project", "project.list", tags=tags)(list_projects)
    declare(twin, "GET", "/project/search", "project.search", tags=tags)(search_projects)
    declare(twin, "GET", "/project/{projectIdOrKey}", "project.get", tags=tags)(get_project)
    declare(twin, "GET", "/project/{projectIdOrKey}/statuses", "project.statuses", tags=tags)(
        project_statuses
    )
