"""The Slack twin driven by the official slack_sdk WebClient through realistic workflows."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from tests.twins.served import SlackTwin

pytestmark = pytest.mark.integration


def slack_error(call: Any, *args: Any, **kwargs: Any) -> str:
    """Run a WebClient call that must fail; return Slack's error code."""
    with pytest.raises(SlackApiError) as caught:
        call(*args, **kwargs)
    assert caught.value.response["ok"] is False
    error: str = caught.value.response["error"]
    return error


def test_auth_test_names_the_token_owner(slack: SlackTwin) -> None:
    me = slack.client().auth_test()
    assert me["user"] == "twinbot"
    assert me["bot_id"].startswith("B")
    info = slack.client().users_info(user=me["user_id"])["user"]
    assert info["name"] == "twinbot" and info["is_bot"] is True
    ada = slack.client(slack.user_token("ada")).auth_test()
    assert ada["user"] == "ada" and "bot_id" not in ada.data
    assert ada["team_id"] == me["team_id"]


def test_missing_bad_and_revoked_tokens(slack: SlackTwin) -> None:
    assert slack_error(slack.client(token="").auth_test) == "not_authed"
    assert slack_error(slack.client(token="xoxb-not-issued").auth_test) == "invalid_auth"
    slack.admin("DELETE", f"/_twin/tokens/{slack.token}")
    assert slack_error(slack.client().auth_test) == "token_revoked"


def test_channel_names_follow_slack_rules(slack: SlackTwin) -> None:
    client = slack.client()
    created = client.conversations_create(name="release-notes")["channel"]
    assert created["name"] == "release-notes" and created["is_member"] is True
    assert created["id"].startswith("C")
    assert slack_error(client.conversations_create, name="release-notes") == "name_taken"
    assert slack_error(client.conversations_create, name="Release Notes") == "invalid_name_specials"
    assert slack_error(client.conversations_create, name="x" * 81) == "invalid_name_maxlength"
    assert slack_error(client.conversations_create, name="--") == "invalid_name_punctuation"
    assert (
        slack_error(client.api_call, "conversations.create", params={}) == "invalid_name_required"
    )
    assert client.conversations_info(channel=created["id"])["channel"] == created
    info = client.conversations_info(channel=created["id"], include_num_members=True)["channel"]
    assert info["name"] == "release-notes" and info["num_members"] == 1


def test_bot_must_join_before_posting(slack: SlackTwin) -> None:
    client = slack.client()
    general = next(c for c in client.conversations_list()["channels"] if c["name"] == "general")
    assert general["is_member"] is False
    assert (
        slack_error(client.chat_postMessage, channel=general["id"], text="hi") == "not_in_channel"
    )
    joined = client.conversations_join(channel=general["id"])
    assert joined["channel"]["is_member"] is True and "warning" not in joined.data
    again = client.conversations_join(channel=general["id"])
    assert again["warning"] == "already_in_channel"
    posted = client.chat_postMessage(channel=general["id"], text="hello, world")
    assert posted["message"]["text"] == "hello, world"
    assert posted["message"]["bot_id"] == client.auth_test()["bot_id"]


def test_thread_reactions_edit_and_delete(slack: SlackTwin) -> None:
    bot = slack.client()
    ada = slack.client(slack.user_token("ada"))
    ada_id = ada.auth_test()["user_id"]
    bot_id = bot.auth_test()["user_id"]
    channel = bot.conversations_create(name="incidents")["channel"]["id"]
    bot.conversations_invite(channel=channel, users=[ada_id])
    assert (
        slack_error(bot.conversations_invite, channel=channel, users=[ada_id])
        == "already_in_channel"
    )

    parent = bot.chat_postMessage(channel=channel, text="Deploy failed")
    first = ada.chat_postMessage(channel=channel, text="Looking", thread_ts=parent["ts"])
    second = bot.chat_postMessage(channel=channel, text="Rolled back", thread_ts=parent["ts"])
    after = bot.chat_postMessage(channel=channel, text="All clear")
    stamps = [Decimal(m["ts"]) for m in (parent, first, second, after)]
    assert stamps == sorted(stamps) and len(set(stamps)) == 4

    history = bot.conversations_history(channel=channel)["messages"]
    assert [m["text"] for m in history] == ["All clear", "Deploy failed"]
    top = history[1]
    assert top["reply_count"] == 2
    assert top["reply_users"] == [ada_id, bot_id]
    assert top["latest_reply"] == second["ts"]
    thread = bot.conversations_replies(channel=channel, ts=parent["ts"])["messages"]
    assert [m["text"] for m in thread] == ["Deploy failed", "Looking", "Rolled back"]
    assert all(m["thread_ts"] == parent["ts"] for m in thread)
    assert thread[1]["parent_user_id"] == bot_id

    bot.reactions_add(channel=channel, timestamp=parent["ts"], name="eyes")
    ada.reactions_add(channel=channel, timestamp=parent["ts"], name="eyes")
    ada.reactions_add(channel=channel, timestamp=parent["ts"], name="white_check_mark")
    add_again = slack_error(ada.reactions_add, channel=channel, timestamp=parent["ts"], name="eyes")
    assert add_again == "already_reacted"
    reactions = bot.reactions_get(channel=channel, timestamp=parent["ts"])["message"]["reactions"]
    assert reactions == [
        {"name": "eyes", "users": [bot_id, ada_id], "count": 2},
        {"name": "white_check_mark", "users": [ada_id], "count": 1},
    ]
    bot.reactions_remove(channel=channel, timestamp=parent["ts"], name="eyes")
    no_reaction = slack_error(
        bot.reactions_remove, channel=channel, timestamp=parent["ts"], name="white_check_mark"
    )
    assert no_reaction == "no_reaction"
    reactions = bot.reactions_get(channel=channel, timestamp=parent["ts"])["message"]["reactions"]
    assert reactions[0] == {"name": "eyes", "users": [ada_id], "count": 1}

    edited = bot.chat_update(channel=channel, ts=parent["ts"], text="Deploy failed (fixed)")
    assert edited["text"] == "Deploy failed (fixed)"
    assert edited["message"]["edited"]["user"] == bot_id
    cant = slack_error(ada.chat_update, channel=channel, ts=parent["ts"], text="mine now")
    assert cant == "cant_update_message"
    assert (
        slack_error(bot.chat_update, channel=channel, ts="1.000001", text="x")
        == "message_not_found"
    )

    bot.chat_delete(channel=channel, ts=second["ts"])
    thread = bot.conversations_replies(channel=channel, ts=parent["ts"])["messages"]
    assert [m["text"] for m in thread] == ["Deploy failed (fixed)", "Looking"]
    assert thread[0]["reply_count"] == 1 and thread[0]["reply_users"] == [ada_id]
    bot.chat_delete(channel=channel, ts=parent["ts"])
    history = bot.conversations_history(channel=channel)["messages"]
    assert history[1]["subtype"] == "tombstone" and history[1]["reply_count"] == 1
    assert slack_error(bot.chat_delete, channel=channel, ts=parent["ts"]) == "cant_delete_message"
    ada.chat_delete(channel=channel, ts=first["ts"])
    assert [m["text"] for m in bot.conversations_history(channel=channel)["messages"]] == [
        "All clear"
    ]


def test_history_pages_newest_first(slack: SlackTwin) -> None:
    client = slack.client()
    channel = client.conversations_create(name="busy")["channel"]["id"]
    sent = [client.chat_postMessage(channel=channel, text=f"m{i}")["ts"] for i in range(25)]
    pages = [page.data for page in client.conversations_history(channel=channel, limit=10)]
    assert [len(p["messages"]) for p in pages] == [10, 10, 5]
    assert [p["has_more"] for p in pages] == [True, True, False]
    seen = [m["ts"] for p in pages for m in p["messages"]]
    assert seen == list(reversed(sent))
    window = client.conversations_history(
        channel=channel, oldest=sent[4], latest=sent[8], inclusive=True
    )["messages"]
    assert [m["text"] for m in window] == ["m8", "m7", "m6", "m5", "m4"]
    bad = slack_error(client.conversations_history, channel=channel, cursor="bm90LWEtY3Vyc29y")
    assert bad == "invalid_cursor"


def test_conversations_list_pages_and_hides_private_channels(slack: SlackTwin) -> None:
    seeded = slack.admin(
        "POST",
        "/_twin/seed",
        {
            "channels": [{"name": f"team-{i:02d}"} for i in range(11)]
            + [{"name": "secret", "is_private": True, "members": ["ada"]}]
        },
    )
    bot = slack.client()
    pages = [page.data for page in bot.conversations_list(limit=5)]
    assert [len(p["channels"]) for p in pages] == [5, 5, 2]
    names = [c["name"] for p in pages for c in p["channels"]]
    assert names == ["general"] + [f"team-{i:02d}" for i in range(11)]
    assert pages[-1]["response_metadata"]["next_cursor"] == ""
    assert (
        slack_error(bot.conversations_info, channel=seeded["channels"]["secret"])
        == "channel_not_found"
    )
    ada = slack.client(slack.user_token("ada"))
    private = ada.conversations_list(types="private_channel")["channels"]
    assert [c["name"] for c in private] == ["secret"]


def test_users_list_and_info(slack: SlackTwin) -> None:
    slack.admin("POST", "/_twin/seed", {"users": [{"name": f"dev{i}"} for i in range(5)]})
    client = slack.client()
    pages = [page.data for page in client.users_list(limit=3)]
    names = [u["name"] for p in pages for u in p["members"]]
    assert names == ["slackbot", "ada", "twinbot", "dev0", "dev1", "dev2", "dev3", "dev4"]
    assert len(pages) == 3
    assert slack_error(client.users_info, user="U0NOBODY00") == "user_not_found"


def test_message_errors_use_slack_codes(slack: SlackTwin) -> None:
    client = slack.client()
    channel = client.conversations_create(name="errors")["channel"]["id"]
    assert (
        slack_error(client.chat_postMessage, channel="C0MISSING0", text="x") == "channel_not_found"
    )
    with pytest.warns(UserWarning, match="text"):  # slack_sdk's own advice, before it sends
        assert slack_error(client.chat_postMessage, channel=channel, text="") == "no_text"
    assert (
        slack_error(client.api_call, "chat.postMessage", json={"text": "x"}) == "channel_not_found"
    )
    thread = slack_error(client.chat_postMessage, channel=channel, text="x", thread_ts="1.000001")
    assert thread == "thread_not_found"
    bad_limit = slack_error(
        client.api_call, "conversations.history", params={"channel": channel, "limit": "many"}
    )
    assert bad_limit == "invalid_arguments"
    ts = client.chat_postMessage(channel=channel, text="x")["ts"]
    bad_name = slack_error(client.reactions_add, channel=channel, timestamp=ts, name="Not An Emoji")
    assert bad_name == "invalid_name"


def test_form_json_and_token_in_body_are_all_accepted(slack: SlackTwin) -> None:
    client = slack.client()
    channel = client.conversations_create(name="formats")["channel"]["id"]
    by_form = client.api_call("chat.postMessage", data={"channel": channel, "text": "form"})
    by_json = client.api_call("chat.postMessage", json={"channel": channel, "text": "json"})
    anonymous = slack.client(token="")
    by_body_token = anonymous.api_call(
        "chat.postMessage", data={"channel": channel, "text": "token in form", "token": slack.token}
    )
    blocks = '[{"type": "section", "text": {"type": "mrkdwn", "text": "*bold*"}}]'
    with_blocks = client.api_call("chat.postMessage", data={"channel": channel, "blocks": blocks})
    assert with_blocks["message"]["blocks"][0]["type"] == "section"
    texts = [m["text"] for m in client.conversations_history(channel=channel)["messages"]]
    assert texts == ["", "token in form", "json", "form"]
    assert by_form["ok"] and by_json["ok"] and by_body_token["ok"]
