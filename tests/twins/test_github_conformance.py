"""The GitHub twin driven by the official PyGithub client through realistic workflows."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from github import GithubException
from github.GithubException import (
    BadCredentialsException,
    RateLimitExceededException,
    UnknownObjectException,
)

from tests.twins.served import GitHubTwin

pytestmark = pytest.mark.integration


def raw(github: GitHubTwin, method: str, path: str, body: bytes | None = None) -> Any:
    """A plain request with octocat's token: (status, headers, JSON body)."""
    request = urllib.request.Request(
        github.url + path,
        data=body,
        method=method,
        headers={"Authorization": f"token {github.token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, json.loads(exc.read())


def test_authenticated_user_and_bad_credentials(github: GitHubTwin) -> None:
    me = github.client().get_user()
    assert (me.login, me.id) == ("octocat", 1)
    with pytest.raises(BadCredentialsException) as bad:
        github.client("ghp_not_issued").get_user().login  # noqa: B018 (the property fetches)
    assert bad.value.status == 401 and bad.value.data["documentation_url"]
    with pytest.raises(GithubException) as anonymous:
        github.client("").get_repo("octocat/anything")
    assert anonymous.value.status == 401
    assert anonymous.value.data["message"] == "Requires authentication"


def test_repository_lifecycle(github: GitHubTwin) -> None:
    octocat = github.client()
    repo = octocat.get_user().create_repo("hello-world", description="first", private=True)
    assert (repo.full_name, repo.private, repo.owner.login) == (
        "octocat/hello-world",
        True,
        "octocat",
    )
    with pytest.raises(GithubException) as taken:
        octocat.get_user().create_repo("hello-world")
    assert taken.value.status == 422
    assert taken.value.data["errors"][0]["message"] == "name already exists on this account"
    repo.edit(description="second")
    assert octocat.get_repo("octocat/hello-world").description == "second"
    hubot = github.client(github.token_for("hubot"))
    with pytest.raises(UnknownObjectException):
        hubot.get_repo(
            "octocat/hello-world"
        )  # private repositories of others are 404, as on GitHub
    assert [r.name for r in octocat.get_user().get_repos()] == ["hello-world"]
    repo.delete()
    with pytest.raises(UnknownObjectException):
        octocat.get_repo("octocat/hello-world")


def test_issues_comments_and_labels(github: GitHubTwin) -> None:
    octocat = github.client()
    repo = octocat.get_user().create_repo("tracker")
    repo.create_label("bug", "d73a4a", "Something is broken")
    issue = repo.create_issue(
        title="Crash on start", body="Stack trace...", labels=["bug", "urgent"]
    )
    assert issue.number == 1 and issue.user.login == "octocat"
    assert sorted(label.name for label in issue.labels) == ["bug", "urgent"]
    assert repo.get_label("urgent").color == "ededed"  # created on the fly, as GitHub does

    hubot = github.client(github.token_for("hubot"))
    first = issue.create_comment("Seen it too")
    theirs = hubot.get_repo("octocat/tracker").get_issue(1).create_comment("Me as well")
    assert theirs.user.login == "hubot"
    first.edit("Seen it too, on 1.2")
    assert [c.body for c in issue.get_comments()] == ["Seen it too, on 1.2", "Me as well"]
    assert repo.get_issue(1).comments == 2
    with pytest.raises(GithubException) as forbidden:
        hubot.get_repo("octocat/tracker").get_issue(1).get_comments()[0].delete()
    assert forbidden.value.status == 403
    theirs.delete()  # the repository's owner may
    assert repo.get_issue(1).comments == 1

    repo.create_issue(title="Docs typo")
    assert [i.title for i in repo.get_issues(labels=[repo.get_label("bug")])] == ["Crash on start"]
    issue.edit(state="closed")
    closed = repo.get_issue(1)
    assert (closed.state, closed.state_reason, closed.closed_by.login) == (
        "closed",
        "completed",
        "octocat",
    )
    assert [i.title for i in repo.get_issues()] == ["Docs typo"]
    assert [i.number for i in repo.get_issues(state="all")] == [2, 1]
    closed.remove_from_labels("urgent")
    repo.get_label("bug").edit("defect", "d73a4a")
    assert [label.name for label in repo.get_issue(1).labels] == ["defect"]


def test_lists_page_with_link_headers(github: GitHubTwin) -> None:
    issues = [{"repo": "octocat/busy", "title": f"issue {n}"} for n in range(75)]
    github.admin(
        "POST", "/_twin/seed", {"repos": [{"owner": "octocat", "name": "busy"}], "issues": issues}
    )
    status, headers, page = raw(github, "GET", "/repos/octocat/busy/issues?per_page=20&page=2")
    assert status == 200 and [i["number"] for i in page] == list(range(55, 35, -1))
    links = dict(reversed(part.split("; ")) for part in headers["Link"].split(", "))
    assert set(links) == {'rel="next"', 'rel="last"', 'rel="first"', 'rel="prev"'}
    last = parse_qs(urlsplit(links['rel="last"'].strip("<>")).query)
    assert (last["page"], last["per_page"]) == (["4"], ["20"])
    listed = github.client(per_page=20).get_repo("octocat/busy").get_issues()
    assert listed.totalCount == 75
    assert [i.number for i in listed] == list(range(75, 0, -1))


def test_pull_requests_open_and_merge(github: GitHubTwin) -> None:
    octocat = github.client()
    repo = octocat.get_user().create_repo("service", auto_init=True)
    repo.create_issue(title="Needs a feature")
    main_sha = repo.get_branch("main").commit.sha
    repo.create_git_ref("refs/heads/feature", main_sha)
    pull = repo.create_pull(base="main", head="feature", title="Add the feature", body="Closes #1")
    assert pull.number == 2  # issues and pull requests share numbers
    assert (pull.head.ref, pull.base.ref, pull.merged, pull.mergeable) == (
        "feature",
        "main",
        False,
        True,
    )
    assert [i.number for i in repo.get_issues() if i.pull_request] == [2]
    assert [p.title for p in repo.get_pulls()] == ["Add the feature"]
    for head, field in (("feature", "base"), ("nowhere", "head"), ("main", "base")):
        with pytest.raises(GithubException) as refused:
            repo.create_pull(base="main", head=head, title="again")
        assert refused.value.status == 422 and refused.value.data["errors"][0]["field"] == field

    merged = pull.merge(commit_message="Ship it")
    assert merged.merged is True
    after = repo.get_pull(2)
    assert (after.state, after.merged, after.merged_by.login) == ("closed", True, "octocat")
    assert after.is_merged()
    assert repo.get_branch("main").commit.sha == merged.sha != main_sha
    with pytest.raises(GithubException) as again:
        after.merge()
    assert (
        again.value.status == 405 and again.value.data["message"] == "Pull Request is not mergeable"
    )
    assert [p.number for p in repo.get_pulls(state="closed")] == [2]


def test_error_bodies_have_githubs_shape(github: GitHubTwin) -> None:
    github.client().get_user().create_repo("shapes")
    status, _, body = raw(github, "POST", "/repos/octocat/shapes/issues", b"{}")
    assert status == 422 and body["message"] == "Validation Failed"
    assert body["errors"] == [{"resource": "Issue", "field": "title", "code": "missing_field"}]
    status, _, body = raw(github, "POST", "/repos/octocat/shapes/issues", b"{not json")
    assert (status, body["message"]) == (400, "Problems parsing JSON")
    status, _, created = raw(github, "POST", "/repos/octocat/shapes/issues", b'{"title": "Same"}')
    assert status == 201
    assert raw(github, "GET", "/repos/octocat/shapes/issues/1")[2] == created
    status, _, body = raw(github, "GET", "/repos/octocat/shapes/issues/99")
    assert (status, body["message"]) == (404, "Not Found") and body["documentation_url"]


def test_rate_limit_fault_is_githubs_403(github: GitHubTwin) -> None:
    github.admin(
        "PUT", "/_twin/faults", {"rules": [{"kind": "rate_limit", "times": 1, "retry_after_s": 30}]}
    )
    with pytest.raises(RateLimitExceededException) as limited:
        github.client().get_user().login  # noqa: B018
    assert limited.value.status == 403
    assert limited.value.headers["x-ratelimit-remaining"] == "0"
    assert limited.value.headers["retry-after"] == "30"
    assert github.client().get_user().login == "octocat"


def test_openapi_document_covers_every_operation(github: GitHubTwin) -> None:
    status, _, document = raw(github, "GET", "/openapi.json")
    assert status == 200 and document["openapi"] == "3.1.0"
    entries = {
        entry["operationId"]: (path, entry)
        for path, item in document["paths"].items()
        for entry in item.values()
    }
    for name in (
        "pulls/merge",
        "issues/create",
        "repos/get",
        "issues/add-labels",
        "git/create-ref",
    ):
        path, entry = entries[name]
        declared = {p["name"] for p in entry.get("parameters", []) if p["in"] == "path"}
        assert declared == {part.strip("{}") for part in path.split("/") if part.startswith("{")}
    assert entries["issues/create"][1]["requestBody"]["content"]["application/json"]["schema"][
        "required"
    ] == ["title"]
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(document)


def test_snapshot_restores_repositories_and_numbering(github: GitHubTwin) -> None:
    repo = github.client().get_user().create_repo("kept")
    repo.create_issue(title="one")
    github.admin("POST", "/_twin/snapshot", {"name": "gh"})
    github.admin("POST", "/_twin/reset")
    github.admin("POST", "/_twin/restore", {"name": "gh"})
    restored = github.client().get_repo("octocat/kept")
    assert [i.title for i in restored.get_issues()] == ["one"]
    assert restored.create_issue(title="two").number == 2
