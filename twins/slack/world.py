"""The Slack workspace a twin holds: team, users, channels and their messages.

Records are kept in the shape the Web API returns them, so a handler mostly copies
them out. Tables: ``users`` (id -> user), ``channels`` (id -> channel, with a private
``members`` list), ``messages`` (channel id -> {ts -> message}, oldest first). Thread
membership is derived from the messages' ``thread_ts`` and rebuilt after a restore.
"""

from __future__ import annotations

import time
from typing import Any

from localfactory.twins import Refusal, TwinState

TEAM_ID = "T0TWIN0001"
TEAM_NAME = "Twin Workspace"
TEAM_DOMAIN = "twin-workspace"
SLACKBOT = "USLACKBOT"


def refuse(code: str, **extra: Any) -> Refusal:
    """A Slack error: ``{"ok": false, "error": code, ...extra}`` with HTTP 200."""
    return Refusal(code, extra=extra)


def ts_micros(ts: str) -> int:
    """``"1700000000.000100"`` as microseconds; raises ValueError for anything else."""
    seconds, _, fraction = ts.partition(".")
    if not seconds.isdigit() or (fraction and not fraction.isdigit()):
        raise ValueError(ts)
    return int(seconds) * 1_000_000 + int((fraction or "0").ljust(6, "0")[:6])


def ts_text(micros: int) -> str:
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


class SlackWorld(TwinState):
    """One Slack workspace."""

    threads: dict[tuple[str, str], list[str]]

    def populate(self) -> None:
        self.table("team")["team"] = {"id": TEAM_ID, "name": TEAM_NAME, "domain": TEAM_DOMAIN}
        self.add_user(SLACKBOT, "slackbot", real_name="Slackbot")
        owner = self.add_user(None, "ada", real_name="Ada Lovelace", is_admin=True, is_owner=True)
        self.add_user(None, "twinbot", real_name="Twin Bot", is_bot=True)
        general = self.add_channel("general", creator=owner["id"], is_general=True)
        general["members"] = [u["id"] for u in self.users.values() if _is_person(u)]

    def reindex(self) -> None:
        self.threads = {}
        for channel_id, messages in self.table("messages").items():
            for ts, message in messages.items():
                parent = message.get("thread_ts")
                if parent and parent != ts:
                    self.threads.setdefault((channel_id, parent), []).append(ts)

    # -- tables -----------------------------------------------------------------------

    @property
    def users(self) -> dict[str, Any]:
        return self.table("users")

    @property
    def channels(self) -> dict[str, Any]:
        return self.table("channels")

    def messages_in(self, channel_id: str) -> dict[str, Any]:
        messages: dict[str, dict[str, Any]] = self.table("messages")
        found = messages.get(channel_id)
        if found is None:
            found = messages[channel_id] = {}
        return found

    def next_ts(self) -> str:
        """A fresh message timestamp: now, and always later than every earlier one."""
        counters: dict[str, int] = self.data["counters"]
        micros = max(int(time.time() * 1_000_000), counters.get("ts", 0) + 1)
        counters["ts"] = micros
        return ts_text(micros)

    # -- users --------------------------------------------------------------------------

    def add_user(
        self,
        user_id: str | None,
        name: str,
        *,
        real_name: str = "",
        email: str | None = None,
        is_bot: bool = False,
        is_admin: bool = False,
        is_owner: bool = False,
    ) -> dict[str, Any]:
        if any(u["name"] == name for u in self.users.values()):
            raise refuse("name_taken")
        uid = user_id or self.next_id("user", "U")
        profile: dict[str, Any] = {
            "real_name": real_name or name,
            "display_name": name,
            "real_name_normalized": real_name or name,
            "display_name_normalized": name,
            "team": TEAM_ID,
        }
        if email:
            profile["email"] = email
        user: dict[str, Any] = {
            "id": uid,
            "team_id": TEAM_ID,
            "name": name,
            "deleted": False,
            "real_name": real_name or name,
            "tz": "Europe/London",
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "profile": profile,
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_primary_owner": is_owner,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": int(time.time()),
        }
        if is_bot:
            profile["bot_id"] = self.next_id("bot", "B")
        self.users[uid] = user
        return user

    def user(self, ref: Any, *, by_name: bool = False) -> dict[str, Any]:
        """A user by id (or by name too, for seeding); ``user_not_found`` otherwise."""
        found = self.users.get(ref) if isinstance(ref, str) else None
        if found is None and by_name and isinstance(ref, str):
            found = next((u for u in self.users.values() if u["name"] == ref), None)
        if found is None:
            raise refuse("user_not_found")
        return found

    # -- channels -----------------------------------------------------------------------

    def add_channel(
        self, name: str, *, creator: str, is_private: bool = False, is_general: bool = False
    ) -> dict[str, Any]:
        if any(c["name"] == name for c in self.channels.values()):
            raise refuse("name_taken")
        channel_id = self.next_id("channel", "C")
        now = int(time.time())
        channel: dict[str, Any] = {
            "id": channel_id,
            "name": name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": is_private,
            "created": now,
            "is_archived": False,
            "is_general": is_general,
            "unlinked": 0,
            "name_normalized": name,
            "is_shared": False,
            "is_org_shared": False,
            "is_ext_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "context_team_id": TEAM_ID,
            "creator": creator,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
            "members": [creator],
        }
        self.channels[channel_id] = channel
        return channel

    def channel(self, ref: Any, viewer: str) -> dict[str, Any]:
        """A channel ``viewer`` may see, by id or name (``#name`` too); ``channel_not_found`` otherwise."""
        found = self.channels.get(ref) if isinstance(ref, str) and ref else None
        if found is None and isinstance(ref, str) and ref:
            name = ref.removeprefix("#")
            found = next((c for c in self.channels.values() if c["name"] == name), None)
        if found is None or (found["is_private"] and viewer not in found["members"]):
            raise refuse("channel_not_found")
        return found

    def visible_channel(self, channel: dict[str, Any], viewer: str, count: bool) -> dict[str, Any]:
        """The channel as the Web API shows it to ``viewer``."""
        shown = {k: v for k, v in channel.items() if k != "members"}
        shown["is_member"] = viewer in channel["members"]
        if count:
            shown["num_members"] = len(channel["members"])
        return shown

    # -- messages -----------------------------------------------------------------------

    def message(self, channel_id: str, ts: Any) -> dict[str, Any]:
        found = self.messages_in(channel_id).get(ts) if isinstance(ts, str) else None
        if found is None:
            raise refuse("message_not_found")
        return found

    def post(
        self,
        channel_id: str,
        author: str,
        content: dict[str, Any],
        *,
        parent: dict[str, Any] | None = None,
        broadcast: bool = False,
        bot_id: str | None = None,
    ) -> dict[str, Any]:
        """Store a new message (a reply when ``parent`` is given) and return it."""
        ts = self.next_ts()
        message: dict[str, Any] = {"user": author, "type": "message", "ts": ts, "text": ""}
        message.update(content)
        message["team"] = TEAM_ID
        if bot_id:
            message["bot_id"] = bot_id
        if parent is not None:
            message["thread_ts"] = parent["ts"]
            message["parent_user_id"] = parent.get("user", "")
            if broadcast:
                message["subtype"] = "thread_broadcast"
        self.messages_in(channel_id)[ts] = message
        if parent is not None:
            self.threads.setdefault((channel_id, parent["ts"]), []).append(ts)
            self.refresh_thread(channel_id, parent)
        return message

    def replies_of(self, channel_id: str, parent_ts: str) -> list[str]:
        return self.threads.get((channel_id, parent_ts), [])

    def refresh_thread(self, channel_id: str, parent: dict[str, Any]) -> None:
        """Recount a parent's reply fields from its replies."""
        replies = self.replies_of(channel_id, parent["ts"])
        messages = self.messages_in(channel_id)
        if not replies:
            for key in ("reply_count", "reply_users", "reply_users_count", "latest_reply"):
                parent.pop(key, None)
            if parent.get("subtype") != "tombstone":
                parent.pop("thread_ts", None)
            return
        users: list[str] = []
        for ts in replies:
            user = messages[ts].get("user")
            if user and user not in users:
                users.append(user)
        parent["thread_ts"] = parent["ts"]
        parent["reply_count"] = len(replies)
        parent["reply_users"] = users
        parent["reply_users_count"] = len(users)
        parent["latest_reply"] = replies[-1]
        parent.setdefault("is_locked", False)


def _is_person(user: dict[str, Any]) -> bool:
    return not user["is_bot"] and user["id"] != SLACKBOT
