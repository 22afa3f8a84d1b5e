"""chat.postMessage, chat.update and chat.delete, threads included."""

from __future__ import annotations

from typing import Any

from localfactory.twins import Call, Twin

from .errors import channel_arg, flag, method, text
from .world import SlackWorld, refuse

MAX_TEXT = 40_000
BLOCKS = {"type": "array", "items": {"type": "object"}, "description": "Block Kit blocks."}
ATTACHMENTS = {"type": "array", "items": {"type": "object"}, "description": "Legacy attachments."}


def _content(args: dict[str, Any], required: bool = True) -> dict[str, Any]:
    """The message content in ``args``; ``no_text`` when there is none, ``msg_too_long`` when too much."""
    content = {key: args[key] for key in ("text", "blocks", "attachments") if args.get(key)}
    if required and not content:
        raise refuse("no_text")
    if len(content.get("text", "")) > MAX_TEXT:
        raise refuse("msg_too_long")
    return content


def _writable_channel(world: SlackWorld, ref: Any, me: str) -> dict[str, Any]:
    channel = world.channel(ref, me)
    if channel["is_archived"]:
        raise refuse("is_archived")
    if me not in channel["members"]:
        raise refuse("not_in_channel")
    return channel


def post_message(call: Call) -> dict[str, Any]:
    """Sends a message to a channel, or a reply into a thread."""
    world: SlackWorld = call.state
    principal = call.principal or {}
    me = principal["user_id"]
    channel = _writable_channel(world, call.args.get("channel"), me)
    content = _content(call.args)
    messages = world.messages_in(channel["id"])
    parent: dict[str, Any] | None = None
    if call.args.get("thread_ts"):
        parent = messages.get(call.args["thread_ts"])
        if parent is None:
            raise refuse("thread_not_found")
        if parent.get("thread_ts") and parent["thread_ts"] != parent["ts"]:
            parent = messages[parent["thread_ts"]]
    message = world.post(
        channel["id"],
        me,
        content,
        parent=parent,
        broadcast=bool(call.args.get("reply_broadcast")),
        bot_id=principal.get("bot_id"),
    )
    ts = message["ts"]
    return {"ok": True, "channel": channel["id"], "ts": ts, "message": message}


def update(call: Call) -> dict[str, Any]:
    """Updates a message its caller posted."""
    world: SlackWorld = call.state
    me = (call.principal or {})["user_id"]
    channel = world.channel(call.args.get("channel"), me)
    message = world.message(channel["id"], call.args.get("ts"))
    if message.get("subtype") == "tombstone":
        raise refuse("message_not_found")
    if message.get("user") != me:
        raise refuse("cant_update_message")
    content = _content(call.args)
    if "text" in content and "blocks" not in content:
        message.pop("blocks", None)
    message.update(content)
    message["edited"] = {"user": me, "ts": world.next_ts()}
    return {
        "ok": True,
        "channel": channel["id"],
        "ts": message["ts"],
        "text": message.get("text", ""),
        "message": message,
    }


def delete(call: Call) -> dict[str, Any]:
    """Deletes a message; a thread's parent with replies left becomes a tombstone."""
    world: SlackWorld = call.state
    principal = call.principal or {}
    me = principal["user_id"]
    channel = world.channel(call.args.get("channel"), me)
    message = world.message(channel["id"], call.args.get("ts"))
    ts: str = message["ts"]
    admin = principal.get("kind") == "user" and world.users[me].get("is_admin")
    if message.get("subtype") == "tombstone" or (message.get("user") != me and not admin):
        raise refuse("cant_delete_message")
    messages = world.messages_in(channel["id"])
    parent_ts = message.get("thread_ts")
    if parent_ts and parent_ts != ts:
        del messages[ts]
        world.threads[(channel["id"], parent_ts)].remove(ts)
        parent = messages[parent_ts]
        world.refresh_thread(channel["id"], parent)
        if parent.get("subtype") == "tombstone" and not parent.get("reply_count"):
            del messages[parent_ts]
    elif world.replies_of(channel["id"], ts):
        keep = {
            k: message[k] for k in ("ts", "thread_ts", "reply_count", "reply_users") if k in message
        }
        message.clear()
        message.update(
            type="message",
            subtype="tombstone",
            text="This message was deleted.",
            user="USLACKBOT",
            hidden=True,
            **keep,
        )
        world.refresh_thread(channel["id"], message)
    else:
        del messages[ts]
    return {"ok": True, "channel": channel["id"], "ts": ts}


def register(twin: Twin) -> None:
    message_ts = text("Timestamp of the message.", **{"x-missing-error": "message_not_found"})
    method(
        twin,
        "chat.postMessage",
        post_message,
        required=("channel",),
        channel=channel_arg(),
        text=text("The message text (required unless blocks or attachments are given)."),
        blocks=BLOCKS,
        attachments=ATTACHMENTS,
        thread_ts=text("Reply in the thread of this message."),
        reply_broadcast=flag("Also show a thread reply in the channel."),
        username=text("Display name override (bots)."),
        icon_emoji=text("Icon override (bots)."),
        icon_url=text("Icon override (bots)."),
        mrkdwn=flag("Format the text as mrkdwn (default true)."),
        parse=text("none or full."),
        link_names=flag("Link channel and user names."),
        unfurl_links=flag("Unfurl text links."),
        unfurl_media=flag("Unfurl media links."),
        metadata={"type": "object", "description": "Message metadata."},
    )
    method(
        twin,
        "chat.update",
        update,
        required=("channel", "ts"),
        channel=channel_arg(),
        ts=message_ts,
        text=text("New text."),
        blocks=BLOCKS,
        attachments=ATTACHMENTS,
        parse=text("none or full."),
        link_names=flag("Link channel and user names."),
    )
    method(
        twin,
        "chat.delete",
        delete,
        required=("channel", "ts"),
        channel=channel_arg(),
        ts=message_ts,
        as_user=flag("Delete as the authed user."),
    )
