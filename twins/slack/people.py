"""auth.test, users.list and users.info; issuing tokens and seeding a workspace."""

from __future__ import annotations

import time
from typing import Any

from localfactory.twins import Call, Refusal, Twin
from localfactory.twins.schema import closed_list, compile_schema

from .conversations import check_channel_name
from .errors import CURSOR, flag, limit, method, paged, text
from .world import TEAM_DOMAIN, SlackWorld

_NAME = {"type": "string", "pattern": r"^[a-z0-9][a-z0-9._\-]{0,79}$"}


_TEXT: dict[str, Any] = {"type": "string"}
_FLAG: dict[str, Any] = {"type": "boolean"}
SEED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "users": closed_list(
            ("name",), name=_NAME, real_name=_TEXT, email=_TEXT, is_bot=_FLAG, is_admin=_FLAG
        ),
        "channels": closed_list(
            ("name",),
            name=_TEXT,
            is_private=_FLAG,
            creator={"type": "string", "description": "User id or name (default: ada)."},
            members={"type": "array", "items": _TEXT},
            topic=_TEXT,
            purpose=_TEXT,
        ),
        "messages": closed_list(
            (
                "channel",
                "text",
            ),
            channel={"type": "string", "description": "Channel id or name."},
            user={"type": "string", "description": "Author id or name (default: ada)."},
            text=_TEXT,
            reply_to={
                "type": "integer",
                "minimum": 0,
                "description": "Index of an earlier message in this list: post as its reply.",
            },
        ),
    },
}
_check_seed = compile_schema(SEED_SCHEMA)


def issue_token(world: SlackWorld, request: dict[str, Any]) -> dict[str, Any]:
    """A bot token for twinbot by default; ``{"user": "ada"}`` gives a user token for ada."""
    try:
        user = world.user(request.get("user") or "twinbot", by_name=True)
    except Refusal:
        raise Refusal(
            "user_not_found", detail=f"No user {request.get('user')!r} in the workspace."
        ) from None
    principal: dict[str, Any] = {
        "user_id": user["id"],
        "team_id": user["team_id"],
        "user": user["name"],
    }
    if user["is_bot"]:
        principal.update(kind="bot", bot_id=user["profile"]["bot_id"], token_prefix="xoxb-")
    else:
        principal.update(kind="user", token_prefix="xoxp-")
    return principal


def seed(world: SlackWorld, request: dict[str, Any]) -> dict[str, Any]:
    """Add users, channels and messages; answers with the ids given to each."""
    data = _check_seed(request, "")
    users = {
        u["name"]: world.add_user(
            None,
            u["name"],
            real_name=u.get("real_name", ""),
            email=u.get("email"),
            is_bot=u.get("is_bot", False),
            is_admin=u.get("is_admin", False),
        )["id"]
        for u in data.get("users", [])
    }
    channels: dict[str, str] = {}
    for c in data.get("channels", []):
        check_channel_name(c["name"])
        creator = world.user(c.get("creator") or "ada", by_name=True)["id"]
        channel = world.add_channel(
            c["name"], creator=creator, is_private=c.get("is_private", False)
        )
        for ref in c.get("members", []):
            member = world.user(ref, by_name=True)["id"]
            if member not in channel["members"]:
                channel["members"].append(member)
        for key in ("topic", "purpose"):
            if c.get(key):
                channel[key] = {"value": c[key], "creator": creator, "last_set": int(time.time())}
        channels[c["name"]] = channel["id"]
    posted: list[dict[str, Any]] = []
    for m in data.get("messages", []):
        author = world.user(m.get("user") or "ada", by_name=True)["id"]
        channel = world.channel(m["channel"], author)
        parent = None
        if "reply_to" in m:
            if m["reply_to"] >= len(posted):
                raise Refusal("bad_reply_to", detail="reply_to must name an earlier message.")
            parent = posted[m["reply_to"]]
        posted.append(world.post(channel["id"], author, {"text": m["text"]}, parent=parent))
    return {"ok": True, "users": users, "channels": channels, "messages": [m["ts"] for m in posted]}


def auth_test(call: Call) -> dict[str, Any]:
    """Checks the token and says whose it is."""
    world: SlackWorld = call.state
    principal = call.principal or {}
    user = world.users.get(principal["user_id"], {})
    team = world.table("team")["team"]
    reply: dict[str, Any] = {
        "ok": True,
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": team["name"],
        "user": user.get("name", principal.get("user", "")),
        "team_id": team["id"],
        "user_id": principal["user_id"],
    }
    if principal.get("bot_id"):
        reply["bot_id"] = principal["bot_id"]
    reply["is_enterprise_install"] = False
    return reply


def users_list(call: Call) -> dict[str, Any]:
    """Every user of the workspace, bots and deleted users included, a page at a time."""
    world: SlackWorld = call.state
    everyone = list(world.users.values())
    page, metadata = paged(everyone, call.args, "user", len(everyone) or 1, 1000)
    return {
        "ok": True,
        "members": page,
        "cache_ts": int(time.time()),
        "response_metadata": metadata,
    }


def users_info(call: Call) -> dict[str, Any]:
    """One user."""
    world: SlackWorld = call.state
    return {"ok": True, "user": world.user(call.args.get("user"))}


def register(twin: Twin) -> None:
    locale = flag("Add the locale.")
    method(twin, "auth.test", auth_test)
    method(
        twin,
        "users.list",
        users_list,
        read=True,
        cursor=CURSOR,
        limit=limit(0, 1000),
        include_locale=locale,
        team_id=text("Workspace (org tokens only)."),
    )
    method(
        twin,
        "users.info",
        users_info,
        required=("user",),
        read=True,
        user=text("User id.", **{"x-missing-error": "user_not_found"}),
        include_locale=locale,
    )
