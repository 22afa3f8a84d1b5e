"""The GitHub a twin holds: users, repositories, issues and pull requests, comments, labels.

Records are stored without URLs (those depend on the address a client used) and turned
into API objects by :mod:`.render`. Tables: ``users`` (login -> user), ``repos``
(``owner/name`` -> repository, with its branches), ``issues`` (``owner/name`` ->
{number -> issue}; a pull request is an issue with a ``pull`` part, sharing the
numbers), ``comments`` (id -> comment), ``labels`` (``owner/name`` -> {lower name -> label}).
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from localfactory.twins import Refusal, TwinState

DOCS = "https://docs.github.com/rest"


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def not_found() -> Refusal:
    return Refusal("not_found", status=404, detail="Not Found")


def invalid(resource: str, field: str, code: str, message: str | None = None) -> Refusal:
    """GitHub's 422 ``Validation Failed`` with one entry in ``errors``."""
    error: dict[str, str] = {"resource": resource, "field": field, "code": code}
    if message:
        error["message"] = message
    return Refusal(
        "validation_failed", status=422, detail="Validation Failed", extra={"errors": [error]}
    )


def fake_sha(*parts: str) -> str:
    """A stable 40-hex-digit stand-in for a commit id."""
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()


class GitHubWorld(TwinState):
    """Users and their repositories."""

    def populate(self) -> None:
        self.add_user("octocat", name="The Octocat")

    # -- users --------------------------------------------------------------------------

    @property
    def users(self) -> dict[str, Any]:
        return self.table("users")

    def add_user(self, login: str, *, name: str = "", email: str | None = None) -> dict[str, Any]:
        if login.lower() in (u.lower() for u in self.users):
            raise invalid("User", "login", "already_exists")
        user = {
            "id": self.next_number("user"),
            "login": login,
            "name": name or login,
            "email": email,
            "type": "User",
            "site_admin": False,
            "created_at": now_iso(),
        }
        self.users[login] = user
        return user

    def user(self, login: str) -> dict[str, Any]:
        found = self.users.get(login) or next(
            (u for u in self.users.values() if u["login"].lower() == login.lower()), None
        )
        if found is None:
            raise not_found()
        return found

    # -- repositories -------------------------------------------------------------------

    @property
    def repos(self) -> dict[str, Any]:
        return self.table("repos")

    def add_repo(
        self,
        owner: str,
        name: str,
        *,
        description: str | None = None,
        private: bool = False,
        auto_init: bool = False,
        has_issues: bool = True,
    ) -> dict[str, Any]:
        key = f"{owner}/{name}"
        if key.lower() in (k.lower() for k in self.repos):
            raise Refusal(
                "repo_exists",
                status=422,
                detail="Repository creation failed.",
                extra={
                    "errors": [
                        {
                            "resource": "Repository",
                            "code": "custom",
                            "field": "name",
                            "message": "name already exists on this account",
                        }
                    ]
                },
            )
        stamp = now_iso()
        repo: dict[str, Any] = {
            "id": self.next_number("repo"),
            "name": name,
            "owner": owner,
            "description": description,
            "private": private,
            "archived": False,
            "has_issues": has_issues,
            "default_branch": "main",
            "branches": {"main": fake_sha(key, "main", "init")} if auto_init else {},
            "topics": [],
            "created_at": stamp,
            "updated_at": stamp,
            "pushed_at": stamp if auto_init else None,
        }
        self.repos[key] = repo
        self.table("issues")[key] = {}
        self.table("labels")[key] = {}
        return repo

    def repo(self, owner: str, name: str, viewer: str) -> dict[str, Any]:
        """A repository ``viewer`` may see; 404 (as GitHub does) for private ones of others."""
        key = f"{owner}/{name}"
        found = self.repos.get(key) or next(
            (r for k, r in self.repos.items() if k.lower() == key.lower()), None
        )
        if found is None or (found["private"] and found["owner"] != viewer):
            raise not_found()
        return found

    @staticmethod
    def key(repo: dict[str, Any]) -> str:
        return f"{repo['owner']}/{repo['name']}"

    # -- issues, pull requests, comments, labels -----------------------------------------

    def issues_of(self, repo: dict[str, Any]) -> dict[str, Any]:
        issues: dict[str, Any] = self.table("issues").setdefault(self.key(repo), {})
        return issues

    def issue(self, repo: dict[str, Any], number: str) -> dict[str, Any]:
        found = self.issues_of(repo).get(number) if number.isdigit() else None
        if found is None:
            raise not_found()
        return found

    def add_issue(
        self, repo: dict[str, Any], author: str, title: str, body: str | None = None
    ) -> dict[str, Any]:
        number = self.next_number(f"issue:{self.key(repo)}")
        stamp = now_iso()
        issue: dict[str, Any] = {
            "id": self.next_number("issue"),
            "number": number,
            "title": title,
            "body": body,
            "user": author,
            "state": "open",
            "state_reason": None,
            "labels": [],
            "assignees": [],
            "locked": False,
            "comments": 0,
            "created_at": stamp,
            "updated_at": stamp,
            "closed_at": None,
            "closed_by": None,
            "pull": None,
        }
        self.issues_of(repo)[str(number)] = issue
        return issue

    def labels_of(self, repo: dict[str, Any]) -> dict[str, Any]:
        labels: dict[str, Any] = self.table("labels").setdefault(self.key(repo), {})
        return labels

    def label(self, repo: dict[str, Any], name: str) -> dict[str, Any]:
        found = self.labels_of(repo).get(name.lower())
        if found is None:
            raise not_found()
        return found

    def add_label(
        self, repo: dict[str, Any], name: str, color: str = "ededed", description: str | None = None
    ) -> dict[str, Any]:
        labels = self.labels_of(repo)
        if name.lower() in labels:
            raise invalid("Label", "name", "already_exists")
        label = {
            "id": self.next_number("label"),
            "name": name,
            "color": color.lower().lstrip("#"),
            "description": description,
            "default": False,
        }
        labels[name.lower()] = label
        return label

    @property
    def comments(self) -> dict[str, Any]:
        return self.table("comments")
