"""The Jira Cloud site a twin holds: people, projects, issues and comments, and one workflow.

Tables: ``users`` (accountId -> user), ``projects`` (key -> project), ``issues`` (id ->
issue; ``key`` is derived and indexed), ``comments`` (id -> comment). Rich text
(descriptions, comment bodies) is kept as it was written: plain text through API v2, an
Atlassian Document through v3; :mod:`.adf` converts on the way out.

Every project shares Jira's simple default workflow: To Do -> In Progress -> Done, and one
step back from each (In Progress -> To Do, Done -> In Progress). Transitions are named
after the status they lead to, with the ids Jira Cloud's simplified workflow uses.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from localfactory.twins import TwinState

from .errors import issue_missing

STATUSES: dict[str, tuple[str, str]] = {
    "10000": ("To Do", "new"),
    "3": ("In Progress", "indeterminate"),
    "10001": ("Done", "done"),
}
"""Status id -> (name, status category key)."""

CATEGORIES: dict[str, tuple[int, str, str]] = {
    "new": (2, "To Do", "blue-gray"),
    "indeterminate": (4, "In Progress", "yellow"),
    "done": (3, "Done", "green"),
}
"""Status category key -> (id, name, colour)."""

TRANSITIONS: dict[str, str] = {"11": "10000", "21": "3", "31": "10001"}
"""Transition id -> the status it leads to (its name is that status's name)."""

WORKFLOW: dict[str, tuple[str, ...]] = {"10000": ("21",), "3": ("11", "31"), "10001": ("21",)}
"""Status id -> the transitions available from it."""

ISSUE_TYPES: dict[str, tuple[str, str]] = {
    "10001": ("Task", "A small, distinct piece of work."),
    "10002": ("Bug", "A problem or error."),
    "10003": ("Story", "A feature, told from the user's point of view."),
    "10000": ("Epic", "A large body of work, broken down into other issues."),
}
PRIORITIES: dict[str, str] = {"1": "Highest", "2": "High", "3": "Medium", "4": "Low", "5": "Lowest"}
DEFAULT_PRIORITY = "3"
RESOLUTIONS: dict[str, str] = {"10000": "Done", "10001": "Won't Do"}
DONE = "10000"

_PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9_]{1,9}$")
_ACCOUNTS = uuid.UUID("5c6f6f6c-6a69-7261-2d74-77696e000000")


def now_jira() -> str:
    """A timestamp as Jira writes it: ``2024-05-01T10:20:30.123+0000``."""
    now = time.time()
    return (
        time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}+0000"
    )


def find_by_name(table: dict[str, Any], wanted: Any) -> str | None:
    """The id in an ``id -> name`` (or ``id -> (name, ...)``) table for an id or a name."""
    text = str(wanted)
    if text in table:
        return text
    for key, value in table.items():
        name = value[0] if isinstance(value, tuple) else value
        if name.lower() == text.lower():
            return key
    return None


class JiraWorld(TwinState):
    """A Jira Cloud site with one person (Ada, the site admin) and one project (DEMO)."""

    _keys: dict[str, str]

    def populate(self) -> None:
        ada = self.add_user("ada@example.com", "Ada Lovelace")
        self.add_project("DEMO", "Demo project", lead=ada["accountId"])

    def reindex(self) -> None:
        self._keys = {issue["key"]: issue_id for issue_id, issue in self.issues.items()}

    # -- people -------------------------------------------------------------------------

    @property
    def users(self) -> dict[str, Any]:
        return self.table("users")

    def add_user(self, email: str, display_name: str = "") -> dict[str, Any]:
        account = f"712020:{uuid.uuid5(_ACCOUNTS, email.lower())}"
        user = {
            "accountId": account,
            "email": email,
            "displayName": display_name or email.split("@")[0].replace(".", " ").title(),
            "active": True,
        }
        self.users.setdefault(account, user)
        found: dict[str, Any] = self.users[account]
        return found

    def find_user(self, wanted: str) -> dict[str, Any] | None:
        """A person by accountId, email or display name (case does not matter)."""
        if wanted in self.users:
            found: dict[str, Any] = self.users[wanted]
            return found
        lowered = wanted.lower()
        return next(
            (
                u
                for u in self.users.values()
                if lowered in (u["email"].lower(), u["displayName"].lower())
            ),
            None,
        )

    # -- projects -----------------------------------------------------------------------

    @property
    def projects(self) -> dict[str, Any]:
        return self.table("projects")

    def add_project(
        self, key: str, name: str, *, lead: str, description: str = ""
    ) -> dict[str, Any]:
        if not _PROJECT_KEY.match(key):
            raise ValueError(
                f"Project keys are 2 to 10 capital letters, digits or underscores, starting with a letter, not {key!r}."
            )
        if key in self.projects:
            raise ValueError(f"A project with the key {key!r} already exists.")
        project = {
            "id": str(10000 + self.next_number("project") - 1),
            "key": key,
            "name": name,
            "description": description,
            "lead": lead,
            "issueTypes": list(ISSUE_TYPES),
        }
        self.projects[key] = project
        return project

    def find_project(self, wanted: Any) -> dict[str, Any] | None:
        """A project by key (any case), id or name."""
        text = str(wanted)
        for project in self.projects.values():
            if text.upper() == project["key"] or text in (project["id"], project["name"]):
                found: dict[str, Any] = project
                return found
        return None

    # -- issues and comments ------------------------------------------------------------

    @property
    def issues(self) -> dict[str, Any]:
        return self.table("issues")

    @property
    def comments(self) -> dict[str, Any]:
        return self.table("comments")

    def issue(self, wanted: str) -> dict[str, Any]:
        """An issue by id or key (any case); Jira's 404 when there is none."""
        issue_id = wanted if wanted in self.issues else self._keys.get(wanted.upper())
        if issue_id is None:
            raise issue_missing()
        found: dict[str, Any] = self.issues[issue_id]
        return found

    def add_issue(self, project: dict[str, Any], reporter: str, **fields: Any) -> dict[str, Any]:
        stamp = now_jira()
        issue_id = str(10000 + self.next_number("issue") - 1)
        key = f"{project['key']}-{self.next_number('key:' + project['key'])}"
        issue: dict[str, Any] = {
            "id": issue_id,
            "key": key,
            "project": project["key"],
            "issuetype": "10001",
            "summary": "",
            "description": None,
            "status": "10000",
            "priority": DEFAULT_PRIORITY,
            "labels": [],
            "assignee": None,
            "reporter": reporter,
            "creator": reporter,
            "created": stamp,
            "updated": stamp,
            "touched": self.next_number("touch"),
            "statuscategorychangedate": stamp,
            "resolution": None,
            "resolutiondate": None,
            "duedate": None,
        }
        issue.update(fields)
        self.issues[issue_id] = issue
        self._keys[key] = issue_id
        return issue

    def touch(self, issue: dict[str, Any]) -> None:
        """Mark an issue as just updated (``touched`` orders updates within one millisecond)."""
        issue["updated"] = now_jira()
        issue["touched"] = self.next_number("touch")

    def remove_issue(self, issue: dict[str, Any]) -> None:
        del self.issues[issue["id"]]
        self._keys.pop(issue["key"], None)
        for comment_id in [c["id"] for c in self.comments_of(issue)]:
            del self.comments[comment_id]

    def comments_of(self, issue: dict[str, Any]) -> list[dict[str, Any]]:
        return [c for c in self.comments.values() if c["issue"] == issue["id"]]

    def add_comment(self, issue: dict[str, Any], author: str, body: Any) -> dict[str, Any]:
        stamp = now_jira()
        comment = {
            "id": str(10000 + self.next_number("comment") - 1),
            "issue": issue["id"],
            "author": author,
            "updateAuthor": author,
            "body": body,
            "created": stamp,
            "updated": stamp,
        }
        self.comments[comment["id"]] = comment
        self.touch(issue)
        return comment

    def move(self, issue: dict[str, Any], status: str, resolution: str | None) -> None:
        """Put an issue in ``status``; entering Done resolves it, leaving Done unresolves it."""
        category = STATUSES[status][1]
        if category != STATUSES[issue["status"]][1]:
            issue["statuscategorychangedate"] = now_jira()
        issue["status"] = status
        if category == "done":
            issue["resolution"] = resolution or issue["resolution"] or DONE
            issue["resolutiondate"] = issue["resolutiondate"] or now_jira()
        else:
            issue["resolution"] = issue["resolutiondate"] = None
        self.touch(issue)
