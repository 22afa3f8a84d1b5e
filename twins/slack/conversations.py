"""conversations.create, list, info, history, replies, join and invite."""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import islice
from typing import Any

from localfactory.twins import Call, Twin

from .errors import (
    CURSOR,
    INCLUSIVE,
    LATEST,
    OLDEST,
    channel_arg,
    cursor_start,
    flag,
    limit,
    method,
    next_cursor,
    page_size,
    paged,
    text,
)
from .world import SlackWorld, refuse, ts_micros

_NAME_CHARS = re.compile(r"^[a-z0-9_\-\u00c0-\uffff]+$")
_PUNCTUATION_ONLY = re.compile(r"^[_\-]+$")
MAX_NAME = 80


def check_channel_name(name: str) -> None:
    """Slack's naming rules: lower case letters, digits, hyphens and underscores, at most 80."""
    if not name:
        raise refuse("invalid_name_required")
    if len(name) > MAX_NAME:
        raise refuse("invalid_name_maxlength")
    if _PUNCTUATION_ONLY.match(name):
        raise refuse("invalid_name_punctuation")
    if not _NAME_CHARS.match(name) or name != name.lower():
        raise refuse("invalid_name_specials")


def _me(call: Call) -> str:
    me: str = (call.principal or {})["user_id"]
    return me


def create(call: Call) -> dict[str, Any]:
    """Creates a public or private channel."""
    world: SlackWorld = call.state
    name = call.args.get("name", "")
    check_channel_name(name)
    channel = world.add_channel(
        name, creator=_me(call), is_private=bool(call.args.get("is_private"))
    )
    return {"ok": True, "channel": world.visible_channel(channel, _me(call), count=False)}


def list_channels(call: Call) -> dict[str, Any]:
    """Lists the channels the caller can see, a page at a time."""
    world: SlackWorld = call.state
    me = _me(call)
    types = {t.strip() for t in (call.args.get("types") or "public_channel").split(",")}
    unknown = types - {"public_channel", "private_channel", "mpim", "im"}
    if unknown:
        raise refuse("invalid_types")
    skip_archived = bool(call.args.get("exclude_archived"))
    visible = [
        c
        for c in world.channels.values()
        if (
            ("private_channel" in types and c["is_private"] and me in c["members"])
            or ("public_channel" in types and not c["is_private"])
        )
        and not (skip_archived and c["is_archived"])
    ]
    page, metadata = paged(visible, call.args, "channel", 100, 1000)
    return {
        "ok": True,
        "channels": [world.visible_channel(c, me, count=True) for c in page],
        "response_metadata": metadata,
    }


def info(call: Call) -> dict[str, Any]:
    """Information about one conversation."""
    world: SlackWorld = call.state
    channel = world.channel(call.args.get("channel"), _me(call))
    count = bool(call.args.get("include_num_members"))
    return {"ok": True, "channel": world.visible_channel(channel, _me(call), count=count)}


_NO_OLDEST = 0
_NO_LATEST = 1 << 62


def _window(args: dict[str, Any]) -> tuple[int, int, bool] | None:
    """The ``oldest``/``latest`` bounds asked for; None when none were (every message is in)."""
    if not args.get("oldest") and not args.get("latest"):
        return None
    try:
        oldest = ts_micros(str(args["oldest"])) if args.get("oldest") else _NO_OLDEST
        latest = ts_micros(str(args["latest"])) if args.get("latest") else _NO_LATEST
    except ValueError:
        raise refuse("invalid_ts_oldest" if "oldest" in args else "invalid_ts_latest") from None
    return oldest, latest, bool(args.get("inclusive"))


def _inside(ts: str, window: tuple[int, int, bool]) -> bool:
    oldest, latest, inclusive = window
    micros = ts_micros(ts)
    if inclusive:
        return oldest <= micros <= latest
    return oldest < micros < latest


def _page(
    messages: Iterable[dict[str, Any]], start: str | None, size: int, kind: str, newest_first: bool
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Up to ``size`` messages from ``start`` on, plus has_more and the next cursor.

    ``start`` is the ts a previous page ended before; a message deleted since does not
    break the cursor, the page simply starts at the next one still there.
    """
    if start is not None:
        try:
            begin = ts_micros(start)
        except ValueError:
            raise refuse("invalid_cursor") from None
        if newest_first:
            messages = (m for m in messages if ts_micros(m["ts"]) <= begin)
        else:
            messages = (m for m in messages if ts_micros(m["ts"]) >= begin)
    chosen = list(islice(messages, size + 1))  # one more than asked says whether there are more
    if len(chosen) > size:
        following = chosen.pop()
        return chosen, {"has_more": True, "response_metadata": next_cursor(kind, following["ts"])}
    return chosen, {"has_more": False, "response_metadata": next_cursor(kind, None)}


def history(call: Call) -> dict[str, Any]:
    """A channel's messages, newest first; thread replies stay in their threads."""
    world: SlackWorld = call.state
    channel = world.channel(call.args.get("channel"), _me(call))
    window = _window(call.args)
    stored = world.messages_in(channel["id"])
    shown: Iterable[dict[str, Any]] = (
        m
        for ts in reversed(stored)
        if (m := stored[ts]).get("thread_ts") in (None, ts)
        or m.get("subtype") == "thread_broadcast"
    )
    if window is not None:
        shown = (m for m in shown if _inside(m["ts"], window))
    start = cursor_start(call.args, "history")
    chosen, more = _page(shown, start, page_size(call.args, 100, 999), "history", newest_first=True)
    return {"ok": True, "messages": chosen, **more, "pin_count": 0}


def replies(call: Call) -> dict[str, Any]:
    """A thread: its parent first, then the replies oldest first."""
    world: SlackWorld = call.state
    channel = world.channel(call.args.get("channel"), _me(call))
    stored = world.messages_in(channel["id"])
    ts = call.args.get("ts")
    parent = stored.get(ts) if isinstance(ts, str) else None
    if parent is None:
        raise refuse("thread_not_found")
    window = _window(call.args)
    thread = [parent] + [stored[r] for r in world.replies_of(channel["id"], parent["ts"])]
    shown = (
        m for i, m in enumerate(thread) if i == 0 or window is None or _inside(m["ts"], window)
    )
    start = cursor_start(call.args, "thread")
    chosen, more = _page(
        shown, start, page_size(call.args, 1000, 1000), "thread", newest_first=False
    )
    return {"ok": True, "messages": chosen, **more}


def join(call: Call) -> dict[str, Any]:
    """Joins a public channel."""
    world: SlackWorld = call.state
    me = _me(call)
    channel = world.channel(call.args.get("channel"), me)
    if channel["is_private"]:
        raise refuse("method_not_supported_for_channel_type")
    if channel["is_archived"]:
        raise refuse("is_archived")
    reply: dict[str, Any] = {"ok": True}
    if me in channel["members"]:
        reply["warning"] = "already_in_channel"
        reply["response_metadata"] = {"warnings": ["already_in_channel"]}
    else:
        channel["members"].append(me)
    reply["channel"] = world.visible_channel(channel, me, count=False)
    return reply


def invite(call: Call) -> dict[str, Any]:
    """Invites users (comma-separated ids) to a channel the caller is in."""
    world: SlackWorld = call.state
    me = _me(call)
    channel = world.channel(call.args.get("channel"), me)
    if channel["is_archived"]:
        raise refuse("is_archived")
    if me not in channel["members"]:
        raise refuse("not_in_channel")
    wanted = [u.strip() for u in call.args["users"].split(",") if u.strip()]
    if not wanted:
        raise refuse("no_user")
    users = [world.user(u)["id"] for u in wanted]
    if me in users:
        raise refuse("cant_invite_self")
    if any(u in channel["members"] for u in users):
        raise refuse("already_in_channel")
    channel["members"].extend(u for u in dict.fromkeys(users))
    return {"ok": True, "channel": world.visible_channel(channel, me, count=False)}


def register(twin: Twin) -> None:
    team_id = text("Workspace (org tokens only).")
    method(
        twin,
        "conversations.create",
        create,
        required=("name",),
        name=text("Channel name.", **{"x-missing-error": "invalid_name_required"}),
        is_private=flag("Create a private channel."),
        team_id=team_id,
    )
    method(
        twin,
        "conversations.list",
        list_channels,
        read=True,
        cursor=CURSOR,
        limit=limit(100, 1000),
        exclude_archived=flag("Leave archived channels out."),
        types=text("Comma-separated: public_channel, private_channel, mpim, im."),
        team_id=team_id,
    )
    method(
        twin,
        "conversations.info",
        info,
        required=("channel",),
        read=True,
        channel=channel_arg(),
        include_num_members=flag("Add num_members."),
        include_locale=flag("Add the locale."),
    )
    window = {"latest": LATEST, "oldest": OLDEST, "inclusive": INCLUSIVE, "cursor": CURSOR}
    method(
        twin,
        "conversations.history",
        history,
        required=("channel",),
        read=True,
        channel=channel_arg(),
        limit=limit(100, 999),
        **window,
    )
    method(
        twin,
        "conversations.replies",
        replies,
        required=("channel", "ts"),
        read=True,
        channel=channel_arg(),
        ts=text("Timestamp of the thread's parent.", **{"x-missing-error": "thread_not_found"}),
        limit=limit(1000, 1000),
        **window,
    )
    method(twin, "conversations.join", join, required=("channel",), channel=channel_arg())
    method(
        twin,
        "conversations.invite",
        invite,
        required=("channel", "users"),
        channel=channel_arg(),
        users=text("Comma-separated user ids.", **{"x-missing-error": "no_user"}),
        force=flag("Invite the valid users even if some are not."),
    )
