"""The Jira twin driven by the official ``jira`` client through realistic workflows."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from jira import JIRA, JIRAError

from tests.twins.served import JiraTwin

pytestmark = pytest.mark.integration

ADA = "ada@example.com"
GRACE = "grace@example.com"


def raw(twin: JiraTwin, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """A plain request with Ada's credentials (``auth=None`` for none)."""
    kwargs.setdefault("auth", (ADA, twin.token))
    return httpx.request(method, twin.url + path, timeout=10, **kwargs)


@pytest.fixture
def twin(jira_twin: JiraTwin) -> JiraTwin:
    return jira_twin


def keys(issues: Any) -> list[str]:
    return [issue.key for issue in issues]


def test_the_client_starts_and_credentials_are_checked(twin: JiraTwin) -> None:
    jira = twin.client()
    assert jira.server_info()["deploymentType"] == "Cloud"
    me = jira.myself()
    assert (me["emailAddress"], me["displayName"]) == (ADA, "Ada Lovelace")
    assert twin.client(validate=True).session().name == ADA
    bearer = JIRA(server=twin.url, token_auth=twin.token, max_retries=0)
    assert bearer.myself()["accountId"] == me["accountId"]
    with pytest.raises(JIRAError) as wrong_token:
        twin.client(token="ATATT3xnot-issued").myself()
    assert wrong_token.value.status_code == 401
    with pytest.raises(JIRAError) as wrong_email:
        twin.client(email=GRACE).myself()
    assert wrong_email.value.status_code == 401
    anonymous = raw(twin, "GET", "/rest/api/3/myself", auth=None)
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "errorMessages": [
            "You are not authenticated. Authentication required to perform this operation."
        ],
        "errors": {},
    }
    twin.admin("DELETE", f"/_twin/tokens/{twin.token}")
    with pytest.raises(JIRAError) as revoked:
        jira.myself()
    assert revoked.value.status_code == 401


def test_projects_are_listed_found_and_paged(twin: JiraTwin) -> None:
    twin.seed(
        users=[{"email": GRACE, "displayName": "Grace Hopper"}],
        projects=[
            {"key": "WEB", "name": "Website", "lead": GRACE},
            {"key": "API", "name": "Public API"},
            {"key": "OPS", "name": "Operations", "description": "Keeping the lights on"},
        ],
    )
    jira = twin.client()
    assert [p.name for p in jira.projects()] == [
        "Demo project",
        "Operations",
        "Public API",
        "Website",
    ]
    web = jira.project("WEB")
    assert (web.key, web.lead.displayName) == ("WEB", "Grace Hopper")
    assert {t.name for t in web.issueTypes} == {"Task", "Bug", "Story", "Epic"}
    assert jira.project(web.id).key == "WEB"
    with pytest.raises(JIRAError) as missing:
        jira.project("NOPE")
    assert missing.value.status_code == 404
    assert missing.value.text == "No project could be found with key 'NOPE'."
    page = raw(twin, "GET", "/rest/api/3/project/search", params={"startAt": 1, "maxResults": 2})
    assert page.status_code == 200
    body = page.json()
    assert (body["startAt"], body["maxResults"], body["total"], body["isLast"]) == (1, 2, 4, False)
    assert [p["key"] for p in body["values"]] == ["DEMO", "OPS"]


def test_an_issue_is_created_commented_and_moved_through_the_workflow(twin: JiraTwin) -> None:
    (grace,) = twin.seed(users=[{"email": GRACE, "displayName": "Grace Hopper"}])["users"].values()
    jira = twin.client()
    issue = jira.create_issue(
        project="DEMO",
        summary="Login page returns 500",
        description="Steps: open /login, submit.",
        issuetype={"name": "Bug"},
        labels=["backend", "urgent"],
        priority={"name": "High"},
        assignee={"accountId": grace},
    )
    assert issue.key == "DEMO-1"
    fields = issue.fields
    assert (fields.summary, fields.status.name, fields.issuetype.name) == (
        "Login page returns 500",
        "To Do",
        "Bug",
    )
    assert fields.status.statusCategory.key == "new"
    assert (fields.priority.name, fields.assignee.displayName, fields.reporter.emailAddress) == (
        "High",
        "Grace Hopper",
        ADA,
    )
    assert fields.labels == ["backend", "urgent"] and fields.resolution is None
    jira.add_comment(issue, "I can reproduce this on staging.")
    assert [t["name"] for t in jira.transitions(issue)] == ["In Progress"]
    with pytest.raises(JIRAError) as skipped:
        jira.transition_issue(issue, "31")
    assert skipped.value.status_code == 400
    assert skipped.value.text == "Transition id '31' is not valid for this issue."
    jira.transition_issue(issue, "In Progress")
    assert sorted(t["name"] for t in jira.transitions(issue)) == ["Done", "To Do"]
    jira.transition_issue(issue, "Done", comment="Fixed in build 42.")
    done = jira.issue("DEMO-1")
    assert (done.fields.status.name, done.fields.status.statusCategory.key) == ("Done", "done")
    assert done.fields.resolution.name == "Done" and done.fields.resolutiondate
    assert [c.body for c in done.fields.comment.comments] == [
        "I can reproduce this on staging.",
        "Fixed in build 42.",
    ]
    jira.transition_issue(done, "In Progress")
    reopened = jira.issue("DEMO-1")
    assert reopened.fields.resolution is None and reopened.fields.resolutiondate is None
    reopened.update(summary="Login page returns 500 on submit", fields={"labels": ["backend"]})
    edited = jira.issue(reopened.id)
    assert (edited.fields.summary, edited.fields.labels) == (
        "Login page returns 500 on submit",
        ["backend"],
    )
    assert edited.fields.updated >= edited.fields.created
    jira.assign_issue(edited, None)
    assert jira.issue("DEMO-1").fields.assignee is None
    edited.delete()
    with pytest.raises(JIRAError) as gone:
        jira.issue("DEMO-1")
    assert gone.value.status_code == 404
    assert gone.value.text == "Issue does not exist or you do not have permission to see it."


def test_comments_are_added_read_updated_deleted_and_paged(twin: JiraTwin) -> None:
    jira = twin.client()
    issue = jira.create_issue(project="DEMO", summary="Write docs", issuetype={"name": "Task"})
    for text in ("first", "second", "third"):
        jira.add_comment(issue, text)
    listed = jira.comments(issue)
    assert [c.body for c in listed] == ["first", "second", "third"]
    assert jira.comment(issue, listed[1].id).author.emailAddress == ADA
    listed[1].update(body="second, edited")
    assert jira.comment(issue.key, listed[1].id).body == "second, edited"
    listed[0].delete()
    assert [c.body for c in jira.comments(issue)] == ["second, edited", "third"]
    assert [c.body for c in jira.comments(issue, order_by="-created")] == [
        "third",
        "second, edited",
    ]
    page = raw(
        twin,
        "GET",
        f"/rest/api/2/issue/{issue.key}/comment",
        params={"startAt": 1, "maxResults": 1},
    )
    body = page.json()
    assert (body["startAt"], body["maxResults"], body["total"]) == (1, 1, 2)
    assert [c["body"] for c in body["comments"]] == ["third"]
    with pytest.raises(JIRAError) as missing:
        jira.comment(issue, listed[0].id)
    assert missing.value.status_code == 404
    empty = raw(twin, "POST", f"/rest/api/2/issue/{issue.key}/comment", json={"body": "  "})
    assert empty.status_code == 400
    assert empty.json() == {
        "errorMessages": [],
        "errors": {"comment": "Comment body can not be empty!"},
    }


def _seed_backlog(twin: JiraTwin) -> dict[str, str]:
    seeded = twin.seed(
        users=[{"email": GRACE, "displayName": "Grace Hopper"}],
        projects=[{"key": "WEB", "name": "Website"}],
        issues=[
            {
                "project": "DEMO",
                "summary": "Crash on start",
                "issuetype": "Bug",
                "labels": ["urgent"],
                "assignee": GRACE,
                "created": "2024-05-01T09:00:00.000+0000",
            },
            {
                "project": "DEMO",
                "summary": "Dark mode",
                "issuetype": "Story",
                "status": "In Progress",
                "assignee": ADA,
                "created": "2024-05-02T09:00:00.000+0000",
            },
            {
                "project": "DEMO",
                "summary": "Update the logo",
                "labels": ["design", "urgent"],
                "status": "Done",
                "created": "2024-05-03T09:00:00.000+0000",
            },
            {
                "project": "WEB",
                "summary": "Broken link in footer",
                "description": "The privacy link crashes the page",
                "created": "2024-05-04T09:00:00.000+0000",
            },
        ],
    )
    return dict(zip(["crash", "dark", "logo", "link"], seeded["issues"], strict=True))


def test_search_understands_the_common_jql(twin: JiraTwin) -> None:
    k = _seed_backlog(twin)
    jira = twin.client()

    def search(query: str) -> list[str]:
        return keys(jira.search_issues(query))

    assert search("project = DEMO ORDER BY created ASC") == [k["crash"], k["dark"], k["logo"]]
    assert search('project = DEMO AND status = "In Progress"') == [k["dark"]]
    assert search("status != Done AND project in (DEMO, WEB) ORDER BY created DESC") == [
        k["link"],
        k["dark"],
        k["crash"],
    ]
    assert search("assignee = currentUser()") == [k["dark"]]
    assert search(f'assignee = "{GRACE}" OR assignee = "Grace Hopper"') == [k["crash"]]
    assert search("assignee is EMPTY ORDER BY key ASC") == [k["logo"], k["link"]]
    assert search("labels = urgent ORDER BY created ASC") == [k["crash"], k["logo"]]
    assert search("labels in (design) AND NOT labels = missing") == [k["logo"]]
    assert search('text ~ "crash*" ORDER BY created ASC') == [k["crash"], k["link"]]
    assert search('summary ~ "logo"') == [k["logo"]]
    assert search("issuetype = Bug AND resolution = Unresolved") == [k["crash"]]
    assert search('created >= "2024-05-03" ORDER BY created ASC') == [k["logo"], k["link"]]
    jira.add_comment(k["crash"], "Still crashing")
    assert search("project = DEMO ORDER BY updated DESC")[0] == k["crash"]
    found = jira.search_issues(f"key = {k['link']}")[0]
    assert (found.fields.project.key, found.fields.description) == (
        "WEB",
        "The privacy link crashes the page",
    )


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
        ("status = Stuck", "The value 'Stuck' does not exist for the field 'status'."),
        ("sprint = 4", "Field 'sprint' does not exist or you do not have permission to view it."),
        ("project ~ DEMO", "The operator '~' is not supported by the 'project' field."),
        (
            "status = In Progress",
            "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'Progress'. (line 1, character 13)",
        ),
        ("project DEMO", "Error in the JQL Query: Expecting operator but got 'DEMO'."),
        (
            'summary ~ "open',
            "Error in the JQL Query: The quoted string 'open' has not been completed. (line 1, character 11)",
        ),
        (
            "ORDER BY created DESC",
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
        ),
    ],
)
def test_bad_jql_gets_jiras_messages(twin: JiraTwin, query: str, message: str) -> None:
    answer = raw(twin, "GET", "/rest/api/3/search/jql", params={"jql": query})
    assert answer.status_code == 400
    assert answer.json()["errorMessages"][0].startswith(message)


def test_search_pages_with_next_page_tokens(twin: JiraTwin) -> None:
    twin.seed(issues=[{"project": "DEMO", "summary": f"Task {n}"} for n in range(1, 8)])
    jira = twin.client()
    query = "project = DEMO ORDER BY key ASC"
    first = jira.enhanced_search_issues(query, maxResults=3)
    assert keys(first) == ["DEMO-1", "DEMO-2", "DEMO-3"] and first.nextPageToken
    second = jira.enhanced_search_issues(query, nextPageToken=first.nextPageToken, maxResults=3)
    third = jira.enhanced_search_issues(query, nextPageToken=second.nextPageToken, maxResults=3)
    assert keys(second) == ["DEMO-4", "DEMO-5", "DEMO-6"]
    assert keys(third) == ["DEMO-7"] and third.nextPageToken is None
    assert keys(jira.enhanced_search_issues(query, maxResults=0)) == [
        f"DEMO-{n}" for n in range(1, 8)
    ]
    ids_only = raw(
        twin, "GET", "/rest/api/3/search/jql", params={"jql": query, "maxResults": 2}
    ).json()
    assert ids_only["isLast"] is False and "fields" not in ids_only["issues"][0]
    some = raw(
        twin,
        "POST",
        "/rest/api/3/search/jql",
        json={"jql": query, "fields": ["summary"], "maxResults": 1},
    )
    assert some.json()["issues"][0]["fields"] == {"summary": "Task 1"}
    other = raw(
        twin,
        "GET",
        "/rest/api/3/search/jql",
        params={"jql": "project = DEMO", "nextPageToken": first.nextPageToken},
    )
    assert other.status_code == 400
    count = raw(
        twin, "POST", "/rest/api/3/search/approximate-count", json={"jql": "project = DEMO"}
    )
    assert count.json() == {"count": 7}
    legacy = raw(twin, "GET", "/rest/api/2/search", params={"jql": query, "startAt": 3})
    assert legacy.status_code == 410
    assert "/rest/api/3/search/jql" in legacy.json()["errorMessages"][0]


def test_field_errors_have_jiras_shape(twin: JiraTwin) -> None:
    created = raw(
        twin,
        "POST",
        "/rest/api/2/issue",
        json={"fields": {"priority": {"name": "Urgent!"}, "sprint": 3}},
    )
    assert created.status_code == 400
    assert created.json() == {
        "errorMessages": [],
        "errors": {
            "project": "Specify a valid project ID or key",
            "issuetype": "Specify an issue type",
            "summary": "You must specify a summary of the issue.",
            "priority": "The priority selected is invalid.",
            "sprint": "Field 'sprint' cannot be set. It is not on the appropriate screen, or unknown.",
        },
    }
    jira = twin.client()
    with pytest.raises(JIRAError) as bad_type:
        jira.create_issue(project="DEMO", summary="x", issuetype={"name": "Saga"})
    assert bad_type.value.status_code == 400
    assert bad_type.value.text == "The issue type selected is invalid."
    with pytest.raises(JIRAError) as newline:
        jira.create_issue(project="DEMO", summary="two\nlines", issuetype={"name": "Task"})
    assert newline.value.text == "The summary is invalid because it contains newline characters."


def test_api_v3_speaks_atlassian_documents(twin: JiraTwin) -> None:
    document = {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "Only on Safari", "marks": [{"type": "strong"}]}
                ],
            }
        ],
    }
    fields = {"project": {"key": "DEMO"}, "issuetype": {"name": "Bug"}, "summary": "Layout breaks"}
    plain = raw(
        twin,
        "POST",
        "/rest/api/3/issue",
        json={"fields": {**fields, "description": "Only on Safari"}},
    )
    assert plain.status_code == 400
    assert plain.json()["errors"]["description"].startswith(
        "Operation value must be an Atlassian Document"
    )
    created = raw(
        twin, "POST", "/rest/api/3/issue", json={"fields": {**fields, "description": document}}
    )
    assert created.status_code == 201
    key = created.json()["key"]
    assert raw(twin, "GET", f"/rest/api/3/issue/{key}").json()["fields"]["description"] == document
    assert twin.client().issue(key).fields.description == "Only on Safari"
    comment = raw(
        twin, "POST", f"/rest/api/2/issue/{key}/comment", json={"body": "Seen on 17.2\nand 17.3"}
    )
    shown = raw(twin, "GET", f"/rest/api/3/issue/{key}/comment/{comment.json()['id']}").json()[
        "body"
    ]
    assert [p["content"][0]["text"] for p in shown["content"]] == ["Seen on 17.2", "and 17.3"]
    as_adf = raw(
        twin, "POST", "/rest/api/2/issue", json={"fields": {**fields, "description": document}}
    )
    assert as_adf.json()["errors"] == {"description": "Operation value must be a string"}


def test_rate_limits_answer_429_with_retry_after(twin: JiraTwin) -> None:
    twin.admin(
        "PUT",
        "/_twin/faults",
        {
            "seed": 3,
            "rules": [
                {"operation": "issue.get", "kind": "rate_limit", "retry_after_s": 7, "times": 1}
            ],
        },
    )
    jira = twin.client()
    issue = jira.create_issue(
        project="DEMO", summary="x", issuetype={"name": "Task"}, prefetch=False
    )
    with pytest.raises(JIRAError) as limited:
        jira.issue(issue.key)
    assert limited.value.status_code == 429
    assert limited.value.response.headers["Retry-After"] == "7"
    assert jira.issue(issue.key).fields.summary == "x"


def test_the_openapi_document_lists_both_api_versions(twin: JiraTwin) -> None:
    validator = pytest.importorskip("openapi_spec_validator")
    document = httpx.get(twin.url + "/openapi.json").json()
    validator.validate(document)
    assert "/rest/api/{version}/issue/{issueIdOrKey}/transitions" in document["paths"]
