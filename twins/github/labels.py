"""A repository's labels, and the labels on an issue."""

from __future__ import annotations

from typing import Any

from localfactory.twins import Call, Reply, Twin
from localfactory.twins.schema import optional_string, string

from . import render
from .errors import body, paginate, query
from .issues import ISSUE, REPO, ensure_labels, issue_of, repo_of
from .world import GitHubWorld, invalid, not_found

LABEL = REPO + "/labels/{name}"
_COLOR = string("Hex colour without #.", pattern=r"^#?[0-9a-fA-F]{6}$")


def list_labels(call: Call) -> Reply:
    """A repository's labels."""
    world: GitHubWorld = call.state
    record = repo_of(call)
    key = world.key(record)
    return paginate(
        call, [render.label(call.origin, key, lb) for lb in world.labels_of(record).values()]
    )


def create_label(call: Call) -> Reply:
    """Creates a label."""
    world: GitHubWorld = call.state
    record = repo_of(call, writing=True)
    args = call.body
    label = world.add_label(
        record, args["name"], args.get("color", "ededed"), args.get("description")
    )
    return Reply(render.label(call.origin, world.key(record), label), 201)


def get_label(call: Call) -> dict[str, Any]:
    """One label."""
    world: GitHubWorld = call.state
    record = repo_of(call)
    return render.label(call.origin, world.key(record), world.label(record, call.path["name"]))


def edit_label(call: Call) -> dict[str, Any]:
    """Renames or recolours a label; issues keep it."""
    world: GitHubWorld = call.state
    record = repo_of(call, writing=True)
    label = world.label(record, call.path["name"])
    labels = world.labels_of(record)
    new_name = call.body.get("new_name")
    if new_name and new_name.lower() != label["name"].lower():
        if new_name.lower() in labels:
            raise invalid("Label", "name", "already_exists")
        old = label["name"].lower()
        labels[new_name.lower()] = labels.pop(old)
        for issue in world.issues_of(record).values():
            issue["labels"] = [new_name.lower() if n == old else n for n in issue["labels"]]
    if new_name:
        label["name"] = new_name
    for key in ("color", "description"):
        if key in call.body:
            label[key] = call.body[key].lower().lstrip("#") if key == "color" else call.body[key]
    return render.label(call.origin, world.key(record), label)


def delete_label(call: Call) -> Reply:
    """Deletes a label and takes it off every issue."""
    world: GitHubWorld = call.state
    record = repo_of(call, writing=True)
    label = world.label(record, call.path["name"])
    gone = label["name"].lower()
    del world.labels_of(record)[gone]
    for issue in world.issues_of(record).values():
        if gone in issue["labels"]:
            issue["labels"].remove(gone)
    return Reply(None, 204)


def _names(call: Call) -> list[str]:
    """The label names in a body: ``["a", "b"]`` or ``{"labels": ["a", "b"]}``, as GitHub takes both."""
    raw = call.body.get("labels") if isinstance(call.body, dict) else call.body
    if not isinstance(raw, list) or not all(isinstance(n, str) for n in raw):
        raise invalid("Label", "labels", "invalid")
    return raw


def _issue_labels(
    call: Call, record: dict[str, Any], issue: dict[str, Any]
) -> list[dict[str, Any]]:
    world: GitHubWorld = call.state
    key = world.key(record)
    return [render.label(call.origin, key, world.labels_of(record)[n]) for n in issue["labels"]]


def add_to_issue(call: Call) -> list[dict[str, Any]]:
    """Adds labels to an issue (creating missing ones)."""
    world: GitHubWorld = call.state
    record, issue = issue_of(call, writing=True)
    for key in ensure_labels(world, record, _names(call)):
        if key not in issue["labels"]:
            issue["labels"].append(key)
    return _issue_labels(call, record, issue)


def set_on_issue(call: Call) -> list[dict[str, Any]]:
    """Replaces an issue's labels."""
    world: GitHubWorld = call.state
    record, issue = issue_of(call, writing=True)
    issue["labels"] = ensure_labels(world, record, _names(call))
    return _issue_labels(call, record, issue)


def remove_from_issue(call: Call) -> list[dict[str, Any]]:
    """Takes one label off an issue; answers with the labels left."""
    record, issue = issue_of(call, writing=True)
    name = call.path["name"].lower()
    if name not in issue["labels"]:
        raise not_found()
    issue["labels"].remove(name)
    return _issue_labels(call, record, issue)


def register(twin: Twin) -> None:
    tags = ("labels",)
    op = twin.operation
    op("GET", REPO + "/labels", name="issues/list-labels-for-repo", tags=tags, query=query())(
        list_labels
    )
    op(
        "POST",
        REPO + "/labels",
        name="issues/create-label",
        tags=tags,
        status=201,
        body=body(
            "Label",
            ("name",),
            name=string("Label name."),
            color=_COLOR,
            description=optional_string(""),
        ),
    )(create_label)
    op("GET", LABEL, name="issues/get-label", tags=tags)(get_label)
    op(
        "PATCH",
        LABEL,
        name="issues/update-label",
        tags=tags,
        body=body(
            "Label", new_name=string("New name."), color=_COLOR, description=optional_string("")
        ),
    )(edit_label)
    op("DELETE", LABEL, name="issues/delete-label", tags=tags, status=204)(delete_label)
    on_issue = ISSUE + "/labels"
    op("POST", on_issue, name="issues/add-labels", tags=tags)(add_to_issue)
    op("PUT", on_issue, name="issues/set-labels", tags=tags)(set_on_issue)
    op("DELETE", on_issue + "/{name}", name="issues/remove-label", tags=tags)(remove_from_issue)
