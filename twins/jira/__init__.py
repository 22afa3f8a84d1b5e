"""A digital twin of the Jira Cloud platform REST API (``https://your-site.atlassian.net``).

Serve it with ``localfactory twin up jira --local`` and point the official client at it::

    JIRA(server="http://127.0.0.1:4713", basic_auth=(email, token))

where ``token`` and ``email`` come from ``POST /_twin/tokens`` (``{"user": email}``,
default ``ada@example.com``; an unknown email becomes a new account). A bearer token
(``token_auth=token``) works too. A fresh site holds Ada Lovelace (the site admin) and
the project ``DEMO``; seed more with ``POST /_twin/seed`` (users, projects, issues).

Everything is served under ``/rest/api/2`` (rich text as plain strings), ``/rest/api/3``
(rich text as Atlassian Documents) and ``/rest/api/latest`` (as 2).
"""

from __future__ import annotations

from localfactory.twins import Twin

from . import accounts, comments, issues, search, site
from .errors import TOKENS, JiraErrors
from .world import JiraWorld

VERSION = "0.1.0"


def build() -> Twin:
    twin = Twin(
        "jira",
        title="Jira Cloud REST API (localfactory twin)",
        version=VERSION,
        state=JiraWorld,
        errors=JiraErrors(),
        tokens=TOKENS,
        issue_token=accounts.issue_token,
        seed=accounts.seed,
        description=__doc__ or "",
    )
    site.register(twin)
    issues.register(twin)
    comments.register(twin)
    search.register(twin)
    return twin
