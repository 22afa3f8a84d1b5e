"""A digital twin of the GitHub REST API (``https://api.github.com``).

Serve it with ``localfactory twin up github --local`` and point PyGithub at it::

    Github(base_url="http://127.0.0.1:4712", auth=Auth.Token(token))

where ``token`` comes from ``POST /_twin/tokens`` (``{"user": "login"}``, default
``octocat``; an unknown login becomes a new user). A fresh world holds only the user
``octocat``. Branches exist (``auto_init`` gives ``main``; ``POST .../git/refs`` adds
more) but hold no files: pull requests and merges move branch pointers to made-up
commit ids.
"""

from __future__ import annotations

from localfactory.twins import Twin

from . import accounts, issues, labels, pulls, repos
from .errors import TOKENS, GitHubErrors
from .world import GitHubWorld

VERSION = "0.1.0"


def build() -> Twin:
    twin = Twin(
        "github",
        title="GitHub REST API (localfactory twin)",
        version=VERSION,
        state=GitHubWorld,
        errors=GitHubErrors(),
        tokens=TOKENS,
        issue_token=accounts.issue_token,
        seed=accounts.seed,
        description=__doc__ or "",
    )
    repos.register(twin)
    issues.register(twin)
    labels.register(twin)
    pulls.register(twin)
    return twin
