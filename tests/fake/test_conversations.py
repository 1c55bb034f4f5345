"""conversations.* in the fake: membership, list pages, read scopes, history pages, DMs.

Driven with the real slack_sdk WebClient, so a test that passes against the fake
exercises the same bytes as production.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from tests.fake.conftest import api_error
from tests.support.fake_slack import BOT_TOKEN, BOT_USER_ID, USER_ID, FakeSlack

#: Whom the fake Slack knows: read by the `fake_slack` fixture (tests/conftest.py).
FAKE_SLACK_OPTIONS = {"users": {USER_ID: "alice", "U0BOB": "bob", BOT_USER_ID: "digest-bot"}}


def test_unknown_channel_and_membership_can_change_at_run_time(
    fake: FakeSlack, client: WebClient
) -> None:
    assert (
        api_error(lambda: client.chat_postMessage(channel="CNOPE", text="x")).response["error"]
        == "channel_not_found"
    )
    fake.not_member.add("C0FL")
    assert (
        api_error(lambda: client.chat_postMessage(channel="C0FL", text="x")).response["error"]
        == "not_in_channel"
    )
    assert client.conversations_info(channel="C0FL")["channel"]["is_member"] is False
    client.conversations_join(channel="C0FL")
    assert client.chat_postMessage(channel="C0FL", text="x")["ok"]

def test_conversations_list_pages_channels_and_hides_private_ones_the_bot_is_not_in(
    fake: FakeSlack, client: WebClient
) -> None:
    fake.add_channel("C0OLD", "old", archived=True)
    fake.add_channel("G0MINE", "mine", private=True)
    fake.add_channel("G0THEIRS", "theirs", private=True, member=False)
    names: list[str] = []
    cursor = ""
    while True:
        page = client.conversations_list(types="public_channel,private_channel", limit=2, cursor=cursor or None)
        assert len(page["channels"]) <= 2
        names += [c["name"] for c in page["channels"]]
        cursor = page["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert sorted(names) == ["all", "fl", "general", "mine", "old", "sd"]
    public = client.conversations_list(exclude_archived=True)["channels"]
    assert {c["name"] for c in public} == {"all", "fl", "general", "sd"}
    mine = client.conversations_info(channel="G0MINE")["channel"]
    assert mine["is_private"] and mine["is_member"]
    # Like Slack: conversations.info takes ids only, and a private channel is hidden from non-members.
    for ref in ("#sd", "G0THEIRS"):
        assert api_error(lambda ref=ref: client.conversations_info(channel=ref)).response["error"] == "channel_not_found"

def test_reading_channels_needs_the_read_scopes() -> None:
    with FakeSlack(scopes={"chat:write"}) as fake:
        scoped = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
        error = api_error(lambda: scoped.conversations_list()).response
        assert (error["error"], error["needed"]) == ("missing_scope", "channels:read")
        fake.scopes = {"chat:write", "channels:read"}
        assert scoped.conversations_info(channel="C0SD")["ok"]
        error = api_error(lambda: scoped.conversations_list(types="private_channel")).response
        assert error["needed"] == "groups:read"

def test_history_paginates_newest_first_over_top_level_messages(
    fake: FakeSlack, client: WebClient
) -> None:
    posted = [client.chat_postMessage(channel="C0SD", text=f"m{i}")["ts"] for i in range(7)]
    client.chat_postMessage(channel="C0SD", text="reply", thread_ts=posted[0])
    client.chat_postMessage(channel="C0SD", text="reply 2", thread_ts=posted[0])

    seen: list[dict[str, Any]] = []
    cursor, pages = None, 0
    while True:
        page = client.conversations_history(channel="C0SD", limit=3, cursor=cursor)
        seen += page["messages"]
        pages += 1
        cursor = page["response_metadata"]["next_cursor"]
        assert page["has_more"] == bool(cursor)
        if not cursor:
            break
    assert pages == 3
    assert [m["ts"] for m in seen] == posted[::-1]
    parent = seen[-1]
    assert (parent["reply_count"], parent["thread_ts"]) == (2, posted[0])

    window = client.conversations_history(
        channel="C0SD", oldest=posted[2], latest=posted[4], inclusive=True
    )
    assert [m["ts"] for m in window["messages"]] == posted[4:1:-1]
    exclusive = client.conversations_history(channel="C0SD", oldest=posted[2], latest=posted[4])
    assert [m["ts"] for m in exclusive["messages"]] == [posted[3]]

def test_conversations_open_gives_one_dm_channel_per_person(fake: FakeSlack, plain_client: WebClient) -> None:
    first = plain_client.conversations_open(users=USER_ID)["channel"]["id"]
    again = plain_client.conversations_open(users=USER_ID)
    assert again["channel"]["id"] == first and again["already_open"] is True
    assert plain_client.conversations_open(users="U0BOB")["channel"]["id"] != first
    assert fake.dm_channel(USER_ID) == first

    ts = plain_client.chat_postMessage(channel=first, text="your week", metadata={"event_type": "x", "event_payload": {"a": 1}})["ts"]
    assert [m["text"] for m in fake.dms(USER_ID)] == ["your week"]
    history = plain_client.conversations_history(channel=first, include_all_metadata=True)["messages"]
    assert [(m["ts"], m["metadata"]["event_payload"]) for m in history] == [(ts, {"a": 1})]
    assert fake.dms("U0BOB") == []

    assert api_error(lambda: plain_client.conversations_open(users="U0NOBODY")).response["error"] == "user_not_found"
    assert api_error(lambda: plain_client.conversations_open(users=BOT_USER_ID)).response["error"] == "cannot_dm_bot"

def test_conversations_open_needs_im_write() -> None:
    with FakeSlack(scopes={"chat:write"}) as fake:
        plain_client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
        failure = api_error(lambda: plain_client.conversations_open(users=USER_ID))
        assert (failure.response["error"], failure.response["needed"]) == ("missing_scope", "im:write")
