"""Tokens for GitHub users, and seed data for a world of repositories and issues."""

from __future__ import annotations

from typing import Any

from localfactory.twins import Refusal
from localfactory.twins.schema import closed_list, compile_schema

from .issues import ensure_labels
from .world import GitHubWorld, fake_sha, now_iso

_LOGIN = {"type": "string", "pattern": r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$"}
_TEXT: dict[str, Any] = {"type": "string"}
_FLAG: dict[str, Any] = {"type": "boolean"}
_NAMES: dict[str, Any] = {"type": "array", "items": _TEXT}


SEED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "users": closed_list(("login",), login=_LOGIN, name=_TEXT, email=_TEXT),
        "repos": closed_list(
            (
                "owner",
                "name",
            ),
            owner=_TEXT,
            name=_TEXT,
            description=_TEXT,
            private=_FLAG,
            auto_init=_FLAG,
            branches={**_NAMES, "description": "Extra branches besides main (implies auto_init)."},
        ),
        "issues": closed_list(
            (
                "repo",
                "title",
            ),
            repo={"type": "string", "description": "owner/name"},
            title=_TEXT,
            body=_TEXT,
            user={"type": "string", "description": "Author login (default: the repo's owner)."},
            labels=_NAMES,
            state={"type": "string", "enum": ["open", "closed"]},
        ),
    },
}
_check_seed = compile_schema(SEED_SCHEMA)


def issue_token(world: GitHubWorld, request: dict[str, Any]) -> dict[str, Any]:
    """A token for ``{"user": login}`` (default octocat); an unknown login becomes a new user."""
    login = request.get("user") or "octocat"
    if not isinstance(login, str) or not login:
        raise Refusal("bad_user", detail="user must be a login.")
    user = world.users.get(login) or world.add_user(login)
    return {"login": user["login"], "id": user["id"]}


def seed(world: GitHubWorld, request: dict[str, Any]) -> dict[str, Any]:
    """Adds users, repositories (with branches) and issues; answers with their ids and numbers."""
    data = _check_seed(request, "")
    users = {
        u["login"]: world.add_user(u["login"], name=u.get("name", ""), email=u.get("email"))["id"]
        for u in data.get("users", [])
    }
    repos: dict[str, int] = {}
    for r in data.get("repos", []):
        owner = world.user(r["owner"])["login"]
        extra = r.get("branches", [])
        repo = world.add_repo(
            owner,
            r["name"],
            description=r.get("description"),
            private=r.get("private", False),
            auto_init=r.get("auto_init", False) or bool(extra),
        )
        for branch in extra:
            repo["branches"][branch] = fake_sha(world.key(repo), branch, "seed")
        repos[world.key(repo)] = repo["id"]
    issues: list[dict[str, Any]] = []
    for i in data.get("issues", []):
        owner, _, name = i["repo"].partition("/")
        repo = world.repo(owner, name, owner)
        issue = world.add_issue(
            repo, world.user(i.get("user") or owner)["login"], i["title"], i.get("body")
        )
        issue["labels"] = ensure_labels(world, repo, i.get("labels", []))
        if i.get("state") == "closed":
            issue.update(
                state="closed", state_reason="completed", closed_at=now_iso(), closed_by=owner
            )
        issues.append({"repo": world.key(repo), "number": issue["number"]})
    return {"users": users, "repos": repos, "issues": issues}
