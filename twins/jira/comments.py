"""An issue's comments: list (paged), add, get, update, delete."""

from __future__ import annotations

from typing import Any

from localfactory.twins import Call, Reply, Twin

from . import adf, render
from .api import declare, version, viewer, window, world_of
from .errors import field_errors, jira_error
from .issues import ISSUE, issue_of
from .world import now_jira

COMMENT = ISSUE + "/comment/{id}"


def _body(call: Call) -> Any:
    body = call.body.get("body")
    if adf.is_blank(body):
        raise field_errors({"comment": "Comment body can not be empty!"})
    return adf.accepted(body, version(call), "comment")


def list_comments(call: Call) -> dict[str, Any]:
    """An issue's comments, oldest first (``orderBy=-created`` for newest first), paged."""
    record = issue_of(call)
    comments = world_of(call).comments_of(record)
    if str(call.args.get("orderBy", "")).startswith("-"):
        comments.reverse()
    page, paging = window(call, comments, default=5000, most=5000)
    paging.pop("isLast")
    return {"comments": [render.comment(call, c) for c in page], **paging}


def add_comment(call: Call) -> Reply:
    """Comments on an issue."""
    record = issue_of(call)
    comment = world_of(call).add_comment(record, viewer(call), _body(call))
    return Reply(render.comment(call, comment), 201)


def _comment(call: Call) -> dict[str, Any]:
    record = issue_of(call)
    comment: dict[str, Any] | None = world_of(call).comments.get(call.path["id"])
    if comment is None or comment["issue"] != record["id"]:
        raise jira_error(404, f"Can not find a comment for the id: {call.path['id']}.")
    return comment


def get_comment(call: Call) -> dict[str, Any]:
    """One comment."""
    return render.comment(call, _comment(call))


def update_comment(call: Call) -> dict[str, Any]:
    """Changes a comment's body."""
    comment = _comment(call)
    comment.update(body=_body(call), updateAuthor=viewer(call), updated=now_jira())
    return render.comment(call, comment)


def delete_comment(call: Call) -> Reply:
    """Deletes a comment."""
    comment = _comment(call)
    del world_of(call).comments[comment["id"]]
    return Reply(None, 204)


def register(twin: Twin) -> None:
    tags = ("comments",)
    paging = {
        "type": "object",
        "properties": {
            "startAt": {"type": "integer", "minimum": 0},
            "maxResults": {"type": "integer", "minimum": 0},
            "orderBy": {"type": "string", "enum": ["created", "-created", "+created"]},
        },
    }
    body = {"type": "object"}
    declare(twin, "GET", ISSUE + "/comment", "comment.list", tags=tags, query=paging)(list_comments)
    declare(twin, "POST", ISSUE + "/comment", "comment.add", status=201, tags=tags, body=body)(
        add_comment
    )
    declare(twin, "GET", COMMENT, "comment.get", tags=tags)(get_comment)
    declare(twin, "PUT", COMMENT, "comment.update", tags=tags, body=body)(update_comment)
    declare(twin, "DELETE", COMMENT, "comment.delete", status=204, tags=tags)(delete_comment)
