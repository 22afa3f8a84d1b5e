"""Stored records as Jira Cloud's REST API shows them, with URLs on the twin's own address."""

from __future__ import annotations

from typing import Any

from localfactory.twins import Call

from . import adf
from .api import version, world_of
from .world import CATEGORIES, ISSUE_TYPES, PRIORITIES, RESOLUTIONS, STATUSES

NAVIGABLE = (
    "summary",
    "description",
    "issuetype",
    "project",
    "status",
    "priority",
    "labels",
    "assignee",
    "reporter",
    "creator",
    "created",
    "updated",
    "resolution",
    "resolutiondate",
    "duedate",
    "statuscategorychangedate",
)
ALL_FIELDS = (*NAVIGABLE, "comment")


def api(call: Call) -> str:
    return f"{call.origin}/rest/api/{call.path['version']}"


def _avatars(call: Call, kind: str, ident: str) -> dict[str, str]:
    return {
        f"{n}x{n}": f"{call.origin}/secure/{kind}avatar?size={n}&id={ident}"
        for n in (16, 24, 32, 48)
    }


def user(call: Call, account: str | None) -> dict[str, Any] | None:
    if account is None:
        return None
    record = world_of(call).users.get(account)
    if record is None:
        return None
    return {
        "self": f"{api(call)}/user?accountId={account}",
        "accountId": account,
        "accountType": "atlassian",
        "emailAddress": record["email"],
        "avatarUrls": _avatars(call, "user", account),
        "displayName": record["displayName"],
        "active": record["active"],
        "timeZone": "Etc/UTC",
        "locale": "en_US",
    }


def status(call: Call, status_id: str) -> dict[str, Any]:
    name, category = STATUSES[status_id]
    number, category_name, colour = CATEGORIES[category]
    return {
        "self": f"{api(call)}/status/{status_id}",
        "description": "",
        "iconUrl": f"{call.origin}/images/icons/statuses/generic.png",
        "name": name,
        "id": status_id,
        "statusCategory": {
            "self": f"{api(call)}/statuscategory/{number}",
            "id": number,
            "key": category,
            "colorName": colour,
            "name": category_name,
        },
    }


def issue_type(call: Call, type_id: str) -> dict[str, Any]:
    name, description = ISSUE_TYPES[type_id]
    return {
        "self": f"{api(call)}/issuetype/{type_id}",
        "id": type_id,
        "description": description,
        "iconUrl": f"{call.origin}/images/icons/issuetypes/{name.lower()}.svg",
        "name": name,
        "subtask": False,
        "hierarchyLevel": 1 if name == "Epic" else 0,
    }


def priority(call: Call, priority_id: str) -> dict[str, Any]:
    name = PRIORITIES[priority_id]
    return {
        "self": f"{api(call)}/priority/{priority_id}",
        "iconUrl": f"{call.origin}/images/icons/priorities/{name.lower()}.svg",
        "name": name,
        "id": priority_id,
    }


def resolution(call: Call, resolution_id: str | None) -> dict[str, Any] | None:
    if resolution_id is None:
        return None
    return {
        "self": f"{api(call)}/resolution/{resolution_id}",
        "id": resolution_id,
        "name": RESOLUTIONS[resolution_id],
        "description": "",
    }


def project(call: Call, record: dict[str, Any], *, full: bool = False) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight",
        "self": f"{api(call)}/project/{record['id']}",
        "id": record["id"],
        "key": record["key"],
        "name": record["name"],
        "avatarUrls": _avatars(call, "project", record["id"]),
        "projectTypeKey": "software",
        "simplified": False,
        "style": "classic",
        "isPrivate": False,
        "properties": {},
    }
    if full:
        shown.update(
            description=record["description"],
            lead=user(call, record["lead"]),
            issueTypes=[issue_type(call, t) for t in record["issueTypes"]],
            assigneeType="UNASSIGNED",
            components=[],
            versions=[],
            roles={},
        )
    return shown


def comment(call: Call, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "self": f"{api(call)}/issue/{record['issue']}/comment/{record['id']}",
        "id": record["id"],
        "author": user(call, record["author"]),
        "body": adf.shown(record["body"], version(call)),
        "updateAuthor": user(call, record["updateAuthor"]),
        "created": record["created"],
        "updated": record["updated"],
        "jsdPublic": True,
    }


def _field(call: Call, record: dict[str, Any], name: str) -> Any:
    world = world_of(call)
    if name == "project":
        return project(call, world.projects[record["project"]])
    if name == "issuetype":
        return issue_type(call, record["issuetype"])
    if name == "status":
        return status(call, record["status"])
    if name == "priority":
        return priority(call, record["priority"])
    if name == "resolution":
        return resolution(call, record["resolution"])
    if name in ("assignee", "reporter", "creator"):
        return user(call, record[name])
    if name == "description":
        return adf.shown(record["description"], version(call))
    if name == "comment":
        comments = [comment(call, c) for c in world.comments_of(record)]
        return {
            "comments": comments,
            "self": f"{api(call)}/issue/{record['id']}/comment",
            "maxResults": len(comments),
            "total": len(comments),
            "startAt": 0,
        }
    if name == "labels":
        return list(record["labels"])
    return record[name]


def wanted_fields(asked: list[str] | None, *, default: tuple[str, ...]) -> list[str]:
    """The fields a ``fields`` parameter names: ``*all``, ``*navigable``, names, and ``-name`` to leave one out."""
    if asked is None:
        return list(default)
    chosen: list[str] = []
    for name in asked:
        if name == "*all":
            chosen += ALL_FIELDS
        elif name == "*navigable":
            chosen += NAVIGABLE
        elif name in ALL_FIELDS:
            chosen.append(name)
    dropped = {name[1:] for name in asked if name.startswith("-")}
    return [f for f in dict.fromkeys(chosen) if f not in dropped]


def issue(call: Call, record: dict[str, Any], fields: list[str]) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": record["id"],
        "self": f"{api(call)}/issue/{record['id']}",
        "key": record["key"],
    }
    if fields:
        shown["fields"] = {name: _field(call, record, name) for name in fields}
    return shown
