"""Pull requests: open, list, edit and merge (branches only, no real commits)."""

from __future__ import annotations

from typing import Any

from localfactory.twins import Call, Refusal, Reply, Twin
from localfactory.twins.schema import boolean, optional_string, string

from . import render
from .errors import body, paginate, query, viewer
from .issues import REPO, apply_edit, repo_of
from .world import GitHubWorld, fake_sha, invalid, not_found, now_iso

PULL = REPO + "/pulls/{pull_number}"


def _pull(call: Call, *, writing: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    world: GitHubWorld = call.state
    record = repo_of(call, writing=writing)
    issue = world.issue(record, call.path["pull_number"])
    if issue["pull"] is None:
        raise not_found()
    return record, issue


def _branch(repo: dict[str, Any], ref: str) -> str:
    """``owner:branch`` or ``branch`` as a branch of ``repo`` (forks are not modelled)."""
    owner, sep, branch = ref.rpartition(":")
    if sep and owner != repo["owner"]:
        return ""
    return branch if branch in repo["branches"] else ""


def list_pulls(call: Call) -> Reply:
    """A repository's pull requests, newest first by default."""
    world: GitHubWorld = call.state
    record = repo_of(call)
    state = call.args.get("state", "open")
    base = call.args.get("base")
    head = call.args.get("head")
    found = [
        i
        for i in world.issues_of(record).values()
        if i["pull"] is not None
        and (state == "all" or i["state"] == state)
        and (not base or i["pull"]["base"] == base)
        and (not head or i["pull"]["head"] == head.rpartition(":")[2])
    ]
    found.sort(key=lambda i: i["number"], reverse=call.args.get("direction", "desc") == "desc")
    return paginate(call, [render.pull(call.origin, record, i, world) for i in found])


def create_pull(call: Call) -> Reply:
    """Opens a pull request from one branch into another."""
    world: GitHubWorld = call.state
    record = repo_of(call, writing=True)
    args = call.body
    head, base = _branch(record, args["head"]), _branch(record, args["base"])
    if not base:
        raise invalid("PullRequest", "base", "invalid")
    if not head:
        raise invalid("PullRequest", "head", "invalid")
    if head == base:
        raise invalid("PullRequest", "base", "custom", f"No commits between {base} and {head}")
    for other in world.issues_of(record).values():
        part = other["pull"]
        if part and other["state"] == "open" and (part["head"], part["base"]) == (head, base):
            message = f"A pull request already exists for {record['owner']}:{head}."
            raise invalid("PullRequest", "base", "custom", message)
    issue = world.add_issue(record, viewer(call), args["title"], args.get("body"))
    issue["pull"] = {
        "head": head,
        "base": base,
        "head_sha": record["branches"][head],
        "base_sha": record["branches"][base],
        "draft": bool(args.get("draft")),
        "merged_at": None,
        "merged_by": None,
        "merge_sha": None,
    }
    return Reply(render.pull(call.origin, record, issue, world), 201)


def get_pull(call: Call) -> dict[str, Any]:
    """One pull request."""
    record, issue = _pull(call)
    return render.pull(call.origin, record, issue, call.state)


def edit_pull(call: Call) -> dict[str, Any]:
    """Changes a pull request's title, body, state or base branch."""
    world: GitHubWorld = call.state
    record, issue = _pull(call, writing=True)
    if "base" in call.body:
        base = _branch(record, call.body["base"])
        if not base:
            raise invalid("PullRequest", "base", "invalid")
        issue["pull"]["base"] = base
    apply_edit(world, viewer(call), issue, call.body)
    return render.pull(call.origin, record, issue, world)


def merge(call: Call) -> dict[str, Any]:
    """Merges a pull request: the base branch moves to a new merge commit."""
    record, issue = _pull(call, writing=True)
    part = issue["pull"]
    if issue["state"] != "open" or part["merged_at"]:
        raise Refusal("not_mergeable", status=405, detail="Pull Request is not mergeable")
    current_head = record["branches"].get(part["head"], part["head_sha"])
    if call.body.get("sha") and call.body["sha"] != current_head:
        raise Refusal(
            "head_moved",
            status=409,
            detail="Head branch was modified. Review and try the merge again.",
        )
    stamp = now_iso()
    sha = fake_sha(GitHubWorld.key(record), part["base"], current_head, stamp)
    record["branches"][part["base"]] = sha
    part.update(merged_at=stamp, merged_by=viewer(call), merge_sha=sha)
    issue.update(state="closed", closed_at=stamp, closed_by=viewer(call), updated_at=stamp)
    return {"sha": sha, "merged": True, "message": "Pull Request successfully merged"}


def is_merged(call: Call) -> Reply:
    """204 when the pull request was merged, 404 when not."""
    _, issue = _pull(call)
    if not issue["pull"]["merged_at"]:
        raise not_found()
    return Reply(None, 204)


def register(twin: Twin) -> None:
    tags = ("pulls",)
    op = twin.operation
    listing = query(
        state={"type": "string", "enum": ["open", "closed", "all"]},
        head=string("owner:branch the pull request comes from."),
        base=string("Branch it goes into."),
        direction={"type": "string", "enum": ["asc", "desc"]},
        sort=string("created (the twin sorts by number)."),
    )
    op("GET", REPO + "/pulls", name="pulls/list", tags=tags, query=listing)(list_pulls)
    op(
        "POST",
        REPO + "/pulls",
        name="pulls/create",
        tags=tags,
        status=201,
        body=body(
            "PullRequest",
            ("title", "head", "base"),
            title=string("The title."),
            head=string("Branch with the changes (branch or owner:branch)."),
            base=string("Branch to merge into."),
            body=optional_string("The description."),
            draft=boolean("Open as a draft."),
        ),
    )(create_pull)
    op("GET", PULL, name="pulls/get", tags=tags)(get_pull)
    op(
        "PATCH",
        PULL,
        name="pulls/update",
        tags=tags,
        body=body(
            "PullRequest",
            title=string("The title."),
            body=optional_string("The description."),
            state={"type": "string", "enum": ["open", "closed"]},
            base=string("Branch to merge into."),
        ),
    )(edit_pull)
    merge_body = body(
        "PullRequest",
        commit_title=string("Title of the merge commit."),
        commit_message=string("Message of the merge commit."),
        sha=string("The head commit the merge expects."),
        merge_method={"type": "string", "enum": ["merge", "squash", "rebase"]},
    )
    op("PUT", PULL + "/merge", name="pulls/merge", tags=tags, body=merge_body)(merge)
    op("GET", PULL + "/merge", name="pulls/check-if-merged", tags=tags, status=204)(is_merged)
