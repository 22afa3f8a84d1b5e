"""A digital twin of the Slack Web API (``https://slack.com/api/``).

Serve it with ``localfactory twin up slack --local`` and point the official client at it::

    WebClient(token=token, base_url="http://127.0.0.1:4711/api/")

where ``token`` comes from ``POST /_twin/tokens`` (a bot token for ``twinbot`` by
default; ``{"user": "ada"}`` gives a user token). A fresh workspace holds the users
``ada`` (owner), ``twinbot`` (a bot) and ``slackbot``, and the channel ``#general``.
"""

from __future__ import annotations

from localfactory.twins import Twin

from . import chat, conversations, people, reactions
from .errors import TOKENS, SlackErrors
from .world import SlackWorld

VERSION = "0.1.0"


def build() -> Twin:
    twin = Twin(
        "slack",
        title="Slack Web API (localfactory twin)",
        version=VERSION,
        prefix="/api",
        state=SlackWorld,
        errors=SlackErrors(),
        tokens=TOKENS,
        issue_token=people.issue_token,
        seed=people.seed,
        description=__doc__ or "",
    )
    people.register(twin)
    chat.register(twin)
    conversations.register(twin)
    reactions.register(twin)
    return twin
