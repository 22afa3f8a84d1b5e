"""Stored records as GitHub's REST API shows them, with URLs on the twin's own address."""

from __future__ import annotations

from typing import Any

from .world import GitHubWorld

HTML = "https://github.com"


def user(origin: str, record: dict[str, Any]) -> dict[str, Any]:
    login = record["login"]
    api = f"{origin}/users/{login}"
    return {
        "login": login,
        "id": record["id"],
        "node_id": f"U_{record['id']:08d}",
        "avatar_url": "",
        "url": api,
        "html_url": f"{HTML}/{login}",
        "repos_url": f"{api}/repos",
        "type": record["type"],
        "site_admin": record["site_admin"],
    }


def full_user(origin: str, record: dict[str, Any], world: GitHubWorld) -> dict[str, Any]:
    """The profile form (``GET /user``, ``GET /users/{login}``)."""
    owned = [r for r in world.repos.values() if r["owner"] == record["login"]]
    return {
        **user(origin, record),
        "name": record["name"],
        "email": record["email"],
        "public_repos": sum(1 for r in owned if not r["private"]),
        "created_at": record["created_at"],
        "updated_at": record["created_at"],
    }


def repo(origin: str, record: dict[str, Any], world: GitHubWorld) -> dict[str, Any]:
    full_name = world.key(record)
    api = f"{origin}/repos/{full_name}"
    open_issues = sum(1 for i in world.issues_of(record).values() if i["state"] == "open")
    return {
        "id": record["id"],
        "node_id": f"R_{record['id']:08d}",
        "name": record["name"],
        "full_name": full_name,
        "private": record["private"],
        "visibility": "private" if record["private"] else "public",
        "owner": user(origin, world.user(record["owner"])),
        "html_url": f"{HTML}/{full_name}",
        "description": record["description"],
        "fork": False,
        "url": api,
        "issues_url": f"{api}/issues{{/number}}",
        "pulls_url": f"{api}/pulls{{/number}}",
        "labels_url": f"{api}/labels{{/name}}",
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
        "pushed_at": record["pushed_at"],
        "default_branch": record["default_branch"],
        "has_issues": record["has_issues"],
        "archived": record["archived"],
        "disabled": False,
        "topics": record["topics"],
        "open_issues_count": open_issues,
        "open_issues": open_issues,
    }


def label(origin: str, repo_key: str, record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record["id"],
        "node_id": f"LA_{record['id']:08d}",
        "url": f"{origin}/repos/{repo_key}/labels/{record['name']}",
        "name": record["name"],
        "color": record["color"],
        "default": record["default"],
        "description": record["description"],
    }


def issue(
    origin: str, repo_record: dict[str, Any], record: dict[str, Any], world: GitHubWorld
) -> dict[str, Any]:
    key = world.key(repo_record)
    api = f"{origin}/repos/{key}/issues/{record['number']}"
    labels = world.labels_of(repo_record)
    shown: dict[str, Any] = {
        "id": record["id"],
        "node_id": f"I_{record['id']:08d}",
        "url": api,
        "repository_url": f"{origin}/repos/{key}",
        "labels_url": f"{api}/labels{{/name}}",
        "comments_url": f"{api}/comments",
        "html_url": f"{HTML}/{key}/issues/{record['number']}",
        "number": record["number"],
        "title": record["title"],
        "user": user(origin, world.user(record["user"])),
        "labels": [label(origin, key, labels[n]) for n in record["labels"] if n in labels],
        "state": record["state"],
        "state_reason": record["state_reason"],
        "locked": record["locked"],
        "assignee": _first_user(origin, world, record["assignees"]),
        "assignees": [user(origin, world.user(a)) for a in record["assignees"]],
        "milestone": None,
        "comments": record["comments"],
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
        "closed_at": record["closed_at"],
        "closed_by": _first_user(
            origin, world, [record["closed_by"]] if record["closed_by"] else []
        ),
        "author_association": "OWNER" if record["user"] == repo_record["owner"] else "CONTRIBUTOR",
        "body": record["body"],
    }
    if record["pull"] is not None:
        pulls = f"{origin}/repos/{key}/pulls/{record['number']}"
        shown["pull_request"] = {
            "url": pulls,
            "html_url": f"{HTML}/{key}/pull/{record['number']}",
            "diff_url": f"{HTML}/{key}/pull/{record['number']}.diff",
            "patch_url": f"{HTML}/{key}/pull/{record['number']}.patch",
            "merged_at": record["pull"]["merged_at"],
        }
    return shown


def pull(
    origin: str, repo_record: dict[str, Any], record: dict[str, Any], world: GitHubWorld
) -> dict[str, Any]:
    key = world.key(repo_record)
    as_issue = issue(origin, repo_record, record, world)
    part = record["pull"]
    api = f"{origin}/repos/{key}/pulls/{record['number']}"
    shown = {
        k: v
        for k, v in as_issue.items()
        if k not in ("pull_request", "labels_url", "repository_url")
    }
    shown.update(
        {
            "url": api,
            "html_url": f"{HTML}/{key}/pull/{record['number']}",
            "issue_url": as_issue["url"],
            "comments_url": as_issue["comments_url"],
            "commits_url": f"{api}/commits",
            "head": _ref(origin, repo_record, world, part["head"], part["head_sha"]),
            "base": _ref(origin, repo_record, world, part["base"], part["base_sha"]),
            "draft": part["draft"],
            "merged": part["merged_at"] is not None,
            "merged_at": part["merged_at"],
            "merged_by": _first_user(
                origin, world, [part["merged_by"]] if part["merged_by"] else []
            ),
            "merge_commit_sha": part["merge_sha"],
            "mergeable": part["merged_at"] is None and record["state"] == "open",
            "mergeable_state": "clean" if record["state"] == "open" else "unknown",
            "commits": 1,
            "additions": 0,
            "deletions": 0,
            "changed_files": 0,
        }
    )
    return shown


def comment(origin: str, record: dict[str, Any], world: GitHubWorld) -> dict[str, Any]:
    key = record["repo"]
    return {
        "id": record["id"],
        "node_id": f"IC_{record['id']:08d}",
        "url": f"{origin}/repos/{key}/issues/comments/{record['id']}",
        "html_url": f"{HTML}/{key}/issues/{record['number']}#issuecomment-{record['id']}",
        "issue_url": f"{origin}/repos/{key}/issues/{record['number']}",
        "body": record["body"],
        "user": user(origin, world.user(record["user"])),
        "created_at": record["created_at"],
        "updated_at": record["updated_at"],
        "author_association": "CONTRIBUTOR",
    }


def _first_user(origin: str, world: GitHubWorld, logins: list[str]) -> dict[str, Any] | None:
    return user(origin, world.user(logins[0])) if logins else None


def _ref(
    origin: str, repo_record: dict[str, Any], world: GitHubWorld, branch: str, sha: str
) -> dict[str, Any]:
    owner = repo_record["owner"]
    return {
        "label": f"{owner}:{branch}",
        "ref": branch,
        "sha": sha,
        "user": user(origin, world.user(owner)),
        "repo": repo(origin, repo_record, world),
    }
