"""Issues: create, get, edit, delete, assign, and move them through the workflow."""

from __future__ import annotations

from typing import Any

from localfactory.twins import Call, Reply, Twin

from . import render
from .api import declare, listed, viewer, world_of
from .errors import field_errors, jira_error
from .fields import check_fields, check_update
from .world import STATUSES, TRANSITIONS, WORKFLOW

ISSUE = "/issue/{issueIdOrKey}"


def issue_of(call: Call) -> dict[str, Any]:
    return world_of(call).issue(call.path["issueIdOrKey"])


def _project(call: Call, value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    wanted = value.get("id") or value.get("key")
    return world_of(call).find_project(wanted) if wanted else None


def create_issue(call: Call) -> Reply:
    """Creates an issue (fields: project, issuetype, summary, and optionally the others)."""
    world = world_of(call)
    given = call.body.get("fields")
    fields: dict[str, Any] = dict(given) if isinstance(given, dict) else {}
    errors: dict[str, str] = {}
    project = _project(call, fields.pop("project", None))
    if project is None:
        errors["project"] = "Specify a valid project ID or key"
    if "issuetype" not in fields:
        errors["issuetype"] = "Specify an issue type"
    if "summary" not in fields:
        errors["summary"] = "You must specify a summary of the issue."
    reporter = fields.pop("reporter", None)
    changes, problems = check_fields(call, fields)
    errors.update(problems)
    author = viewer(call)
    if reporter is not None:
        account = reporter.get("accountId") if isinstance(reporter, dict) else None
        if account not in world.users:
            errors["reporter"] = "Specify a valid value for reporter"
        author = account or author
    if errors or project is None:
        raise field_errors(errors)
    record = world.add_issue(project, author, **changes)
    record["creator"] = viewer(call)
    update = call.body.get("update")
    if isinstance(update, dict) and update:
        _apply_update(call, record, update)
    link = f"{render.api(call)}/issue/{record['id']}"
    return Reply({"id": record["id"], "key": record["key"], "self": link}, 201)


def get_issue(call: Call) -> dict[str, Any]:
    """One issue, with all its fields unless ``fields`` names some."""
    record = issue_of(call)
    return render.issue(
        call, record, render.wanted_fields(listed(call, "fields"), default=render.ALL_FIELDS)
    )


def _apply_update(call: Call, record: dict[str, Any], update: dict[str, Any]) -> None:
    world = world_of(call)
    changes, comments = check_update(call, record, update)
    record.update(changes)
    for body in comments:
        world.add_comment(record, viewer(call), body)


def edit_issue(call: Call) -> Reply:
    """Changes an issue's fields (``fields``) or applies operations to them (``update``)."""
    world = world_of(call)
    record = issue_of(call)
    given = call.body.get("fields") or {}
    changes, errors = check_fields(call, given if isinstance(given, dict) else {})
    if errors:
        raise field_errors(errors)
    update = call.body.get("update") or {}
    if isinstance(update, dict) and update:
        _apply_update(call, record, update)
    record.update(changes)
    world.touch(record)
    if call.args.get("returnIssue"):
        return Reply(render.issue(call, record, list(render.ALL_FIELDS)))
    return Reply(None, 204)


def delete_issue(call: Call) -> Reply:
    """Deletes an issue and its comments."""
    world_of(call).remove_issue(issue_of(call))
    return Reply(None, 204)


def assign_issue(call: Call) -> Reply:
    """Assigns an issue to a person (``accountId``), or to nobody (null)."""
    world = world_of(call)
    record = issue_of(call)
    account = call.body.get("accountId")
    if account is not None and account not in world.users:
        raise jira_error(404, f"User '{account}' does not exist.")
    record["assignee"] = account
    world.touch(record)
    return Reply(None, 204)


def _transition(call: Call, transition_id: str) -> dict[str, Any]:
    target = TRANSITIONS[transition_id]
    return {
        "id": transition_id,
        "name": STATUSES[target][0],
        "to": render.status(call, target),
        "hasScreen": False,
        "isGlobal": False,
        "isInitial": False,
        "isAvailable": True,
        "isConditional": False,
        "isLooped": False,
    }


def list_transitions(call: Call) -> dict[str, Any]:
    """The transitions the issue's status allows."""
    record = issue_of(call)
    available = WORKFLOW[record["status"]]
    only = call.args.get("transitionId")
    chosen = [t for t in available if only in (None, "", t)]
    return {"expand": "transitions", "transitions": [_transition(call, t) for t in chosen]}


def do_transition(call: Call) -> Reply:
    """Moves an issue along a transition, setting a resolution or an assignee, adding a comment."""
    world = world_of(call)
    record = issue_of(call)
    transition = call.body.get("transition")
    wanted = str(transition.get("id", "")) if isinstance(transition, dict) else ""
    if not wanted:
        raise jira_error(400, "Missing 'transition' identifier")
    if wanted not in WORKFLOW[record["status"]]:
        raise jira_error(400, f"Transition id '{wanted}' is not valid for this issue.")
    given = call.body.get("fields") or {}
    changes, errors = check_fields(call, given, allowed=("resolution", "assignee"))
    if errors:
        raise field_errors(errors)
    update = call.body.get("update") or {}
    if isinstance(update, dict) and update:
        _apply_update(call, record, update)
    if "assignee" in changes:
        record["assignee"] = changes["assignee"]
    world.move(record, TRANSITIONS[wanted], changes.get("resolution"))
    return Reply(None, 204)


def register(twin: Twin) -> None:
    tags = ("issues",)
    declare(twin, "POST", "/issue", "issue.create", status=201, tags=tags, body={"type": "object"})(
        create_issue
    )
    declare(twin, "GET", ISSUE, "issue.get", tags=tags)(get_issue)
    edit_query = {"type": "object", "properties": {"returnIssue": {"type": "boolean"}}}
    declare(twin, "PUT", ISSUE, "issue.edit", tags=tags, query=edit_query, body={"type": "object"})(
        edit_issue
    )
    declare(twin, "DELETE", ISSUE, "issue.delete", status=204, tags=tags)(delete_issue)
    declare(
        twin,
        "PUT",
        ISSUE + "/assignee",
        "issue.assign",
        status=204,
        tags=tags,
        body={"type": "object"},
    )(assign_issue)
    declare(twin, "GET", ISSUE + "/transitions", "issue.transitions.list", tags=tags)(
        list_transitions
    )
    declare(
        twin,
        "POST",
        ISSUE + "/transitions",
        "issue.transitions.do",
        status=204,
        tags=tags,
        body={"type": "object"},
    )(do_transition)
