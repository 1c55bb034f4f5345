"""chat.* in the fake: ts order, form bodies, Block Kit rejections, metadata, threads, reactions.

Driven with the real slack_sdk WebClient, so a test that passes against the fake
exercises the same bytes as production.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from slack_sdk import WebClient

from tests.fake.conftest import api_error, section
from tests.support.fake_slack import BOT_USER_ID, USER_ID, FakeSlack
from tests.support.slack_requests import FORM

TS = re.compile(r"^\d{10}\.\d{6}$")

#: Whom the fake Slack knows: read by the `fake_slack` fixture (tests/conftest.py).
FAKE_SLACK_OPTIONS = {"users": {USER_ID: "alice", "U0BOB": "bob", BOT_USER_ID: "digest-bot"}}


def test_posts_get_increasing_ts_and_form_bodies_are_decoded(
    fake: FakeSlack, client: WebClient
) -> None:
    first = client.chat_postMessage(channel="C0SD", text="one", blocks=[section("one")])
    # slack_sdk sends chat.postMessage as JSON; other callers may send a form with
    # blocks as a JSON string: the fake decodes it the same way Slack does.
    second = client.api_call(
        "chat.postMessage",
        params={"channel": "#sd", "text": "two", "blocks": json.dumps([section("two")])},
    )
    assert TS.match(first["ts"]) and TS.match(second["ts"])
    assert float(second["ts"]) > float(first["ts"])
    assert second["channel"] == "C0SD"
    assert fake.calls("chat.postMessage")[1].params["blocks"] == [section("two")]
    assert [m["blocks"] for m in fake.messages("C0SD")] == [[section("one")], [section("two")]]
    assert fake.calls("chat.postMessage")[0].headers["content-type"].startswith("application/json")
    assert fake.calls("chat.postMessage")[1].headers["content-type"] == FORM

@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
@pytest.mark.parametrize(
    ("kwargs", "error", "pointer"),
    [
        ({"blocks": [section("x")] * 51}, "invalid_blocks", "/blocks"),
        ({"blocks": [section("")]}, "invalid_blocks", "/blocks/0/text/text"),
        (
            {
                "blocks": [
                    section("ok"),
                    {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}},
                ]
            },
            "invalid_blocks",
            "/blocks/1/text/text",
        ),
        (
            {"blocks": [section("a", block_id="b"), section("b", block_id="b")]},
            "invalid_blocks",
            "/blocks/1/block_id",
        ),
        ({"blocks": [section("x" * 2500)] * 5}, "msg_blocks_too_long", "/blocks"),
        ({}, "no_text", None),
        ({"text": "x" * 40_001}, "msg_too_long", None),
        ({"metadata": {"event_payload": {}}}, "invalid_metadata_schema", None),
    ],
)
def test_messages_slack_would_reject_are_rejected(
    fake: FakeSlack, client: WebClient, kwargs: dict[str, Any], error: str, pointer: str | None
) -> None:
    kwargs = {"text": "fallback", **kwargs} if error not in ("no_text",) else kwargs
    failure = api_error(lambda: client.chat_postMessage(channel="C0SD", **kwargs))
    assert failure.response["error"] == error
    if pointer is not None:
        messages = failure.response["response_metadata"]["messages"]
        assert any(m.endswith(f"[json-pointer:{pointer}]") for m in messages), messages
    assert fake.messages("C0SD") == []

def test_a_valid_full_message_is_accepted(client: WebClient) -> None:
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Weekly digest"}},
        section("*<https://arxiv.org/abs/2408.00707|A paper>*"),
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "next_page",
                    "text": {"type": "plain_text", "text": "Next"},
                    "value": "2",
                }
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "page 1/3"}]},
    ]
    assert client.chat_postMessage(channel="C0SD", text="digest", blocks=blocks)["ok"]

def test_metadata_is_returned_only_when_asked_for(fake: FakeSlack, client: WebClient) -> None:
    metadata = {"event_type": "digest_posted", "event_payload": {"week": "2024-W32"}}
    ts = client.chat_postMessage(channel="C0SD", text="digest", metadata=metadata)["ts"]
    client.chat_postMessage(channel="C0SD", text="paper", thread_ts=ts, metadata=metadata)

    plain = client.conversations_history(channel="C0SD")["messages"][0]
    full = client.conversations_history(channel="C0SD", include_all_metadata=True)["messages"][0]
    assert "metadata" not in plain
    assert full["metadata"] == metadata
    replies = client.conversations_replies(channel="C0SD", ts=ts, include_all_metadata=True)
    assert [m.get("metadata") for m in replies["messages"]] == [metadata, metadata]
    assert fake.calls("conversations.history")[1].params["include_all_metadata"] == "1"

def test_replies_update_delete_and_permalinks(fake: FakeSlack, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C0SD", text="digest", blocks=[section("v1")])["ts"]
    reply = client.chat_postMessage(channel="C0SD", text="paper", thread_ts=parent)["ts"]
    nested = client.chat_postMessage(channel="C0SD", text="p2", thread_ts=reply)["ts"]

    thread = client.conversations_replies(channel="C0SD", ts=parent)["messages"]
    assert [m["ts"] for m in thread] == [
        parent,
        reply,
        nested,
    ]  # a reply's ts threads to the parent

    updated = client.chat_update(channel="C0SD", ts=parent, text="digest v2")
    assert updated["ts"] == parent
    assert fake.messages("C0SD")[0]["blocks"] == [section("v1")]  # omitted blocks are kept
    client.chat_update(channel="C0SD", ts=parent, text="v3", blocks=[section("v3")])
    assert fake.messages("C0SD")[0]["blocks"] == [section("v3")]

    missing = api_error(lambda: client.chat_update(channel="C0SD", ts="1.000001", text="x"))
    assert missing.response["error"] == "message_not_found"
    theirs = fake.add_message("C0SD", "a person wrote this")
    forbidden = api_error(lambda: client.chat_update(channel="C0SD", ts=theirs, text="x"))
    assert forbidden.response["error"] == "cant_update_message"

    link = client.chat_getPermalink(channel="C0SD", message_ts=parent)["permalink"]
    assert link == f"https://fake.slack.com/archives/C0SD/p{parent.replace('.', '')}"
    reply_link = client.chat_getPermalink(channel="C0SD", message_ts=reply)["permalink"]
    assert reply_link.endswith(f"?thread_ts={parent}&cid=C0SD")

    client.chat_delete(channel="C0SD", ts=nested)
    assert nested not in [m["ts"] for m in fake.messages("C0SD")]

def test_react_changes_the_message_and_gives_the_event(fake: FakeSlack, plain_client: WebClient) -> None:
    ts = plain_client.chat_postMessage(channel="C0SD", text="a paper")["ts"]
    event = fake.react("C0SD", ts, USER_ID, "eyes")
    fake.react("C0SD", ts, "U0BOB", "eyes")
    assert event["type"] == "reaction_added" and event["item"] == {"type": "message", "channel": "C0SD", "ts": ts}
    assert event["item_user"] == BOT_USER_ID
    assert fake.messages("C0SD")[0]["reactions"] == [{"name": "eyes", "users": [USER_ID, "U0BOB"], "count": 2}]
    removed = fake.react("C0SD", ts, USER_ID, "eyes", added=False)
    assert removed["type"] == "reaction_removed" and float(removed["event_ts"]) > float(event["event_ts"])
    fake.react("C0SD", ts, "U0BOB", "eyes", added=False)
    assert "reactions" not in fake.messages("C0SD")[0]
