"""reactions.add, reactions.get and reactions.remove on messages."""

from __future__ import annotations

from typing import Any

from localfactory.twins import Call, Twin

from .errors import flag, method, text
from .world import SlackWorld, refuse

NO_ITEM = {"x-missing-error": "no_item_specified"}
NAME = text(
    "Reaction (emoji) name, without colons: thumbsup.",
    pattern=r"^[a-z0-9_+'\-]+(::skin-tone-[2-6])?$",
    maxLength=100,
    **{"x-missing-error": "invalid_name", "x-invalid-error": "invalid_name"},
)


def _target(call: Call) -> tuple[str, dict[str, Any], str]:
    world: SlackWorld = call.state
    me = (call.principal or {})["user_id"]
    channel = world.channel(call.args.get("channel"), me)
    message = world.message(channel["id"], call.args.get("timestamp"))
    return channel["id"], message, me


def add(call: Call) -> dict[str, Any]:
    """Adds a reaction to a message."""
    _, message, me = _target(call)
    name = call.args["name"]
    reactions: list[dict[str, Any]] = message.setdefault("reactions", [])
    entry = next((r for r in reactions if r["name"] == name), None)
    if entry is None:
        reactions.append({"name": name, "users": [me], "count": 1})
    elif me in entry["users"]:
        raise refuse("already_reacted")
    else:
        entry["users"].append(me)
        entry["count"] += 1
    return {"ok": True}


def remove(call: Call) -> dict[str, Any]:
    """Removes the caller's reaction from a message."""
    _, message, me = _target(call)
    name = call.args["name"]
    reactions: list[dict[str, Any]] = message.get("reactions", [])
    entry = next((r for r in reactions if r["name"] == name), None)
    if entry is None or me not in entry["users"]:
        raise refuse("no_reaction")
    entry["users"].remove(me)
    entry["count"] -= 1
    if not entry["count"]:
        reactions.remove(entry)
    if not reactions:
        message.pop("reactions", None)
    return {"ok": True}


def get(call: Call) -> dict[str, Any]:
    """Gets the reactions on a message."""
    channel_id, message, _ = _target(call)
    world: SlackWorld = call.state
    domain = world.table("team")["team"]["domain"]
    permalink = (
        f"https://{domain}.slack.com/archives/{channel_id}/p{message['ts'].replace('.', '')}"
    )
    return {
        "ok": True,
        "type": "message",
        "channel": channel_id,
        "message": {**message, "permalink": permalink},
    }


def register(twin: Twin) -> None:
    channel = text("Channel of the message.", **NO_ITEM)
    ts = text("Timestamp of the message.", **NO_ITEM)
    change = ("channel", "timestamp", "name")
    method(twin, "reactions.add", add, required=change, channel=channel, timestamp=ts, name=NAME)
    method(
        twin, "reactions.remove", remove, required=change, channel=channel, timestamp=ts, name=NAME
    )
    full = flag("Return every reaction.")
    method(
        twin,
        "reactions.get",
        get,
        required=change[:2],
        read=True,
        channel=channel,
        timestamp=ts,
        full=full,
    )
