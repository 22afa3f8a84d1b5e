"""Users, repositories and branches."""

from __future__ import annotations

from typing import Any

from localfactory.twins import Call, Reply, Twin
from localfactory.twins.schema import boolean, optional_string, string

from . import render
from .errors import body, paginate, query, viewer
from .world import GitHubWorld, invalid, not_found, now_iso

_REPO_NAME = string("Repository name.", pattern=r"^[A-Za-z0-9._-]{1,100}$")


def repo_of(call: Call) -> dict[str, Any]:
    world: GitHubWorld = call.state
    return world.repo(call.path["owner"], call.path["repo"], viewer(call))


def me(call: Call) -> dict[str, Any]:
    """The authenticated user."""
    world: GitHubWorld = call.state
    return render.full_user(call.origin, world.user(viewer(call)), world)


def get_user(call: Call) -> dict[str, Any]:
    """A user by login."""
    world: GitHubWorld = call.state
    return render.full_user(call.origin, world.user(call.path["username"]), world)


def create_repo(call: Call) -> Reply:
    """Creates a repository for the authenticated user."""
    world: GitHubWorld = call.state
    args = call.body
    record = world.add_repo(
        viewer(call),
        args["name"],
        description=args.get("description"),
        private=bool(args.get("private")),
        auto_init=bool(args.get("auto_init")),
        has_issues=args.get("has_issues", True),
    )
    return Reply(render.repo(call.origin, record, world), 201)


def _listed(call: Call, owner: str, include_private: bool) -> Reply:
    world: GitHubWorld = call.state
    owned = [
        r
        for r in world.repos.values()
        if r["owner"] == owner and (include_private or not r["private"])
    ]
    return paginate(call, [render.repo(call.origin, r, world) for r in owned])


def my_repos(call: Call) -> Reply:
    """The authenticated user's repositories, private ones included."""
    return _listed(call, viewer(call), include_private=True)


def user_repos(call: Call) -> Reply:
    """A user's public repositories."""
    world: GitHubWorld = call.state
    owner = world.user(call.path["username"])["login"]
    return _listed(call, owner, include_private=owner == viewer(call))


def get_repo(call: Call) -> dict[str, Any]:
    """One repository."""
    return render.repo(call.origin, repo_of(call), call.state)


def edit_repo(call: Call) -> dict[str, Any]:
    """Changes a repository's description, visibility, default branch..."""
    world: GitHubWorld = call.state
    record = repo_of(call)
    if record["owner"] != viewer(call):
        raise not_found()
    changes = call.body
    if "name" in changes and changes["name"] != record["name"]:
        raise invalid("Repository", "name", "custom", "renaming is not supported by the twin")
    if (
        "default_branch" in changes
        and record["branches"]
        and changes["default_branch"] not in record["branches"]
    ):
        raise invalid("Repository", "default_branch", "invalid")
    for key in ("description", "private", "archived", "has_issues", "default_branch"):
        if key in changes:
            record[key] = changes[key]
    record["updated_at"] = now_iso()
    return render.repo(call.origin, record, world)


def delete_repo(call: Call) -> Reply:
    """Deletes a repository and everything in it."""
    world: GitHubWorld = call.state
    record = repo_of(call)
    if record["owner"] != viewer(call):
        raise not_found()
    key = world.key(record)
    for table in ("repos", "issues", "labels"):
        world.table(table).pop(key, None)
    for comment_id in [c for c, v in world.comments.items() if v["repo"] == key]:
        del world.comments[comment_id]
    return Reply(None, 204)


def branches(call: Call) -> Reply:
    """The repository's branches."""
    record = repo_of(call)
    shown = [_branch_json(call, record, name, sha) for name, sha in record["branches"].items()]
    return paginate(call, shown)


def _branch_json(call: Call, record: dict[str, Any], name: str, sha: str) -> dict[str, Any]:
    api = f"{call.origin}/repos/{GitHubWorld.key(record)}"
    return {
        "name": name,
        "commit": {"sha": sha, "url": f"{api}/commits/{sha}"},
        "protected": False,
        "_links": {"self": f"{api}/branches/{name}"},
    }


def get_branch(call: Call) -> dict[str, Any]:
    """One branch and the commit it points at."""
    record = repo_of(call)
    sha = record["branches"].get(call.path["branch"])
    if sha is None:
        raise not_found()
    return _branch_json(call, record, call.path["branch"], sha)


def create_ref(call: Call) -> Reply:
    """Creates a branch (``refs/heads/NAME``) at a commit."""
    record = repo_of(call)
    ref: str = call.body["ref"]
    if not ref.startswith("refs/heads/") or ref == "refs/heads/":
        raise invalid(
            "Reference", "ref", "invalid", "only refs/heads/NAME is supported by the twin"
        )
    branch = ref.removeprefix("refs/heads/")
    if branch in record["branches"]:
        raise invalid("Reference", "ref", "already_exists", "Reference already exists")
    sha = call.body["sha"]
    record["branches"][branch] = sha
    record["pushed_at"] = now_iso()
    url = f"{call.origin}/repos/{GitHubWorld.key(record)}/git/{ref}"
    return Reply({"ref": ref, "url": url, "object": {"type": "commit", "sha": sha, "url": ""}}, 201)


def register(twin: Twin) -> None:
    repo_path = "/repos/{owner}/{repo}"
    twin.operation("GET", "/user", name="users/get-authenticated", tags=("users",))(me)
    twin.operation("GET", "/users/{username}", name="users/get-by-username", tags=("users",))(
        get_user
    )
    twin.operation(
        "POST",
        "/user/repos",
        name="repos/create-for-authenticated-user",
        status=201,
        tags=("repos",),
        body=body(
            "Repository",
            ("name",),
            name=_REPO_NAME,
            description=optional_string("A short description."),
            private=boolean("Whether only the owner can see it."),
            auto_init=boolean("Start with a main branch."),
            has_issues=boolean("Whether issues are on."),
        ),
    )(create_repo)
    lists: dict[str, Any] = {
        "tags": ("repos",),
        "query": query(visibility=string("all, public or private.")),
    }
    twin.operation("GET", "/user/repos", name="repos/list-for-authenticated-user", **lists)(
        my_repos
    )
    twin.operation("GET", "/users/{username}/repos", name="repos/list-for-user", **lists)(
        user_repos
    )
    twin.operation("GET", repo_path, name="repos/get", tags=("repos",))(get_repo)
    twin.operation(
        "PATCH",
        repo_path,
        name="repos/update",
        tags=("repos",),
        body=body(
            "Repository",
            name=_REPO_NAME,
            description=optional_string("A short description."),
            private=boolean("Whether only the owner can see it."),
            archived=boolean("Whether it is read-only."),
            has_issues=boolean("Whether issues are on."),
            default_branch=string("The default branch."),
        ),
    )(edit_repo)
    twin.operation("DELETE", repo_path, name="repos/delete", status=204, tags=("repos",))(
        delete_repo
    )
    twin.operation(
        "GET", repo_path + "/branches", name="repos/list-branches", tags=("repos",), query=query()
    )(branches)
    twin.operation(
        "GET", repo_path + "/branches/{branch}", name="repos/get-branch", tags=("repos",)
    )(get_branch)
    twin.operation(
        "POST",
        repo_path + "/git/refs",
        name="git/create-ref",
        status=201,
        tags=("git",),
        body=body(
            "Reference",
            ("ref", "sha"),
            ref=string("refs/heads/NAME."),
            sha=string("The commit it points at.", pattern=r"^[0-9a-f]{40}$"),
        ),
    )(create_ref)
