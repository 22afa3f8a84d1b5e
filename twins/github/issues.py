"""Issues, their comments, and labels."""

from __future__ import annotations

from typing import Any

from localfactory.twins import Call, Refusal, Reply, Twin
from localfactory.twins.schema import optional_string, string, strings

from . import render
from .errors import body, paginate, query, viewer
from .world import GitHubWorld, invalid, not_found, now_iso

REPO = "/repos/{owner}/{repo}"
ISSUE = REPO + "/issues/{issue_number}"
_STATE = {"type": "string", "enum": ["open", "closed"]}


def repo_of(call: Call, *, writing: bool = False) -> dict[str, Any]:
    world: GitHubWorld = call.state
    record = world.repo(call.path["owner"], call.path["repo"], viewer(call))
    if writing and record["archived"]:
        raise Refusal("archived", status=403, detail="Repository was archived so is read-only.")
    if not record["has_issues"]:
        raise Refusal("issues_disabled", status=410, detail="Issues are disabled for this repo")
    return record


def issue_of(call: Call, *, writing: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    record = repo_of(call, writing=writing)
    world: GitHubWorld = call.state
    return record, world.issue(record, call.path["issue_number"])


def ensure_labels(world: GitHubWorld, repo: dict[str, Any], names: list[str]) -> list[str]:
    """Label keys for ``names``, creating the missing labels as GitHub does."""
    keys = []
    for name in names:
        if name.lower() not in world.labels_of(repo):
            world.add_label(repo, name)
        if name.lower() not in keys:
            keys.append(name.lower())
    return keys


def _check_assignees(world: GitHubWorld, logins: list[str]) -> list[str]:
    for login in logins:
        if login not in world.users:
            raise invalid("Issue", "assignees", "invalid")
    return list(dict.fromkeys(logins))


def list_issues(call: Call) -> Reply:
    """A repository's issues and pull requests, newest first by default."""
    world: GitHubWorld = call.state
    record = repo_of(call)
    state = call.args.get("state", "open")
    wanted = [n.strip().lower() for n in (call.args.get("labels") or "").split(",") if n.strip()]
    found = [
        i
        for i in world.issues_of(record).values()
        if (state == "all" or i["state"] == state)
        and all(n in i["labels"] for n in wanted)
        and (not call.args.get("creator") or i["user"] == call.args["creator"])
    ]
    sort = call.args.get("sort", "created")
    key = {"created": "number", "updated": "updated_at", "comments": "comments"}[sort]
    found.sort(
        key=lambda i: (i[key], i["number"]), reverse=call.args.get("direction", "desc") == "desc"
    )
    return paginate(call, [render.issue(call.origin, record, i, world) for i in found])


def create_issue(call: Call) -> Reply:
    """Opens an issue."""
    world: GitHubWorld = call.state
    record = repo_of(call, writing=True)
    args = call.body
    assignees = args.get("assignees") or ([args["assignee"]] if args.get("assignee") else [])
    checked = _check_assignees(world, assignees)
    issue = world.add_issue(record, viewer(call), str(args["title"]), args.get("body"))
    issue["labels"] = ensure_labels(world, record, args.get("labels") or [])
    issue["assignees"] = checked
    return Reply(render.issue(call.origin, record, issue, world), 201)


def get_issue(call: Call) -> dict[str, Any]:
    """One issue (or pull request, seen as an issue)."""
    record, issue = issue_of(call)
    return render.issue(call.origin, record, issue, call.state)


def apply_edit(
    world: GitHubWorld, who: str, issue: dict[str, Any], changes: dict[str, Any]
) -> None:
    """Title, body and state changes shared by issues and pull requests."""
    for key in ("title", "body"):
        if key in changes:
            issue[key] = changes[key]
    state = changes.get("state")
    if state == "closed" and issue["state"] == "open":
        issue.update(state="closed", closed_at=now_iso(), closed_by=who)
        issue["state_reason"] = changes.get("state_reason") or "completed"
    elif state == "open" and issue["state"] == "closed":
        if issue["pull"] is not None and issue["pull"]["merged_at"]:
            raise invalid(
                "PullRequest", "state", "custom", "merged pull requests cannot be reopened"
            )
        issue.update(state="open", closed_at=None, closed_by=None, state_reason="reopened")
    issue["updated_at"] = now_iso()


def edit_issue(call: Call) -> dict[str, Any]:
    """Changes an issue's title, body, state, labels or assignees."""
    world: GitHubWorld = call.state
    record, issue = issue_of(call, writing=True)
    changes = call.body
    if "labels" in changes:
        issue["labels"] = ensure_labels(world, record, changes["labels"] or [])
    if "assignees" in changes:
        issue["assignees"] = _check_assignees(world, changes["assignees"] or [])
    apply_edit(world, viewer(call), issue, changes)
    return render.issue(call.origin, record, issue, world)


def list_comments(call: Call) -> Reply:
    """An issue's comments, oldest first."""
    world: GitHubWorld = call.state
    record, issue = issue_of(call)
    key = world.key(record)
    mine = [
        c for c in world.comments.values() if c["repo"] == key and c["number"] == issue["number"]
    ]
    return paginate(call, [render.comment(call.origin, c, world) for c in mine])


def create_comment(call: Call) -> Reply:
    """Comments on an issue or pull request."""
    world: GitHubWorld = call.state
    record, issue = issue_of(call, writing=True)
    stamp = now_iso()
    comment_id = world.next_number("comment")
    comment = {
        "id": comment_id,
        "repo": world.key(record),
        "number": issue["number"],
        "body": call.body["body"],
        "user": viewer(call),
        "created_at": stamp,
        "updated_at": stamp,
    }
    world.comments[str(comment_id)] = comment
    issue["comments"] += 1
    issue["updated_at"] = stamp
    return Reply(render.comment(call.origin, comment, world), 201)


def _comment(call: Call, *, writing: bool = False) -> dict[str, Any]:
    world: GitHubWorld = call.state
    record = repo_of(call, writing=writing)
    comment = world.comments.get(call.path["comment_id"])
    if comment is None or comment["repo"] != world.key(record):
        raise not_found()
    if writing and viewer(call) not in (comment["user"], record["owner"]):
        raise Refusal("forbidden", status=403, detail="Must have admin rights to Repository.")
    return comment


def get_comment(call: Call) -> dict[str, Any]:
    """One comment."""
    return render.comment(call.origin, _comment(call), call.state)


def edit_comment(call: Call) -> dict[str, Any]:
    """Changes a comment's body."""
    comment = _comment(call, writing=True)
    comment["body"] = call.body["body"]
    comment["updated_at"] = now_iso()
    return render.comment(call.origin, comment, call.state)


def delete_comment(call: Call) -> Reply:
    """Deletes a comment."""
    world: GitHubWorld = call.state
    comment = _comment(call, writing=True)
    del world.comments[str(comment["id"])]
    record = world.repo(call.path["owner"], call.path["repo"], viewer(call))
    issue = world.issue(record, str(comment["number"]))
    issue["comments"] -= 1
    return Reply(None, 204)


def register(twin: Twin) -> None:
    issue_body: dict[str, Any] = {
        "body": optional_string("The text, in Markdown."),
        "labels": strings("Label names (missing labels are created)."),
        "assignees": strings("Logins to assign."),
        "assignee": optional_string("One login to assign (older form)."),
        "milestone": {"type": ["integer", "null"]},
    }
    title = {"type": "string", "minLength": 1, "description": "The title."}
    listing = query(
        state={"type": "string", "enum": ["open", "closed", "all"]},
        labels=string("Comma-separated label names; issues must have all."),
        sort={"type": "string", "enum": ["created", "updated", "comments"]},
        direction={"type": "string", "enum": ["asc", "desc"]},
        creator=string("Only issues opened by this login."),
    )
    tags = ("issues",)
    op = twin.operation
    op("GET", REPO + "/issues", name="issues/list-for-repo", tags=tags, query=listing)(list_issues)
    op(
        "POST",
        REPO + "/issues",
        name="issues/create",
        tags=tags,
        status=201,
        body=body("Issue", ("title",), title=title, **issue_body),
    )(create_issue)
    op("GET", ISSUE, name="issues/get", tags=tags)(get_issue)
    op(
        "PATCH",
        ISSUE,
        name="issues/update",
        tags=tags,
        body=body(
            "Issue",
            title=title,
            state=_STATE,
            state_reason={
                "type": ["string", "null"],
                "enum": ["completed", "not_planned", "reopened", None],
            },
            **issue_body,
        ),
    )(edit_issue)
    comment_body = body("IssueComment", ("body",), body=string("The text, in Markdown."))
    op("GET", ISSUE + "/comments", name="issues/list-comments", tags=tags, query=query())(
        list_comments
    )
    op(
        "POST",
        ISSUE + "/comments",
        name="issues/create-comment",
        tags=tags,
        status=201,
        body=comment_body,
    )(create_comment)
    comment = REPO + "/issues/comments/{comment_id}"
    op("GET", comment, name="issues/get-comment", tags=tags)(get_comment)
    op("PATCH", comment, name="issues/update-comment", tags=tags, body=comment_body)(edit_comment)
    op("DELETE", comment, name="issues/delete-comment", tags=tags, status=204)(delete_comment)
