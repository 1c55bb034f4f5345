"""The fake Slack's personal-layer methods behave like Slack where our tests rely on them.

`conversations.open`, `views.publish`, the three steps of `files_upload_v2` and
reactions, driven with the real slack_sdk WebClient.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.support.fake_slack import BOT_TOKEN, BOT_USER_ID, USER_ID, FakeSlack, validate_view
from tests.support.slack_requests import app_home_opened_event, reaction_event


#: Whom the fake Slack knows: read by the `fake_slack` fixture (tests/conftest.py).
FAKE_SLACK_OPTIONS = {"users": {USER_ID: "alice", "U0BOB": "bob", BOT_USER_ID: "digest-bot"}}


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token=BOT_TOKEN, base_url=fake.api_url)


def api_error(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value


def test_conversations_open_gives_one_dm_channel_per_person(fake: FakeSlack, client: WebClient) -> None:
    first = client.conversations_open(users=USER_ID)["channel"]["id"]
    again = client.conversations_open(users=USER_ID)
    assert again["channel"]["id"] == first and again["already_open"] is True
    assert client.conversations_open(users="U0BOB")["channel"]["id"] != first
    assert fake.dm_channel(USER_ID) == first

    ts = client.chat_postMessage(channel=first, text="your week", metadata={"event_type": "x", "event_payload": {"a": 1}})["ts"]
    assert [m["text"] for m in fake.dms(USER_ID)] == ["your week"]
    history = client.conversations_history(channel=first, include_all_metadata=True)["messages"]
    assert [(m["ts"], m["metadata"]["event_payload"]) for m in history] == [(ts, {"a": 1})]
    assert fake.dms("U0BOB") == []

    assert api_error(lambda: client.conversations_open(users="U0NOBODY")).response["error"] == "user_not_found"
    assert api_error(lambda: client.conversations_open(users=BOT_USER_ID)).response["error"] == "cannot_dm_bot"


def test_conversations_open_needs_im_write() -> None:
    with FakeSlack(scopes={"chat:write"}) as fake:
        client = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
        failure = api_error(lambda: client.conversations_open(users=USER_ID))
        assert (failure.response["error"], failure.response["needed"]) == ("missing_scope", "im:write")


def test_views_publish_records_the_home_tab(fake: FakeSlack, client: WebClient) -> None:
    view = {"type": "home", "blocks": [section("hello")]}
    published = client.views_publish(user_id=USER_ID, view=view)["view"]
    assert fake.home(USER_ID) is not None and fake.home(USER_ID)["blocks"] == view["blocks"]
    stale = published["hash"]
    client.views_publish(user_id=USER_ID, view={"type": "home", "blocks": [section("v2")]}, hash=stale)
    conflict = api_error(lambda: client.views_publish(user_id=USER_ID, view=view, hash=stale))
    assert conflict.response["error"] == "hash_conflict"
    assert [v["blocks"][0]["text"]["text"] for v in fake.views(USER_ID)] == ["hello", "v2"]
    assert fake.home("U0BOB") is None


@pytest.mark.parametrize(
    ("view", "pointer"),
    [
        ({"type": "modal", "blocks": []}, "/view/type"),
        ({"type": "home", "blocks": [section("x")] * 101}, "/view/blocks"),
        ({"type": "home", "blocks": [section("")]}, "/view/blocks/0/text/text"),
        ({"type": "home", "blocks": [section("x", block_id="a"), section("y", block_id="a")]}, "/view/blocks/1/block_id"),
        ({"type": "home", "blocks": [], "private_metadata": "x" * 3001}, "/view/private_metadata"),
        ({"type": "home", "blocks": [], "title": "nope"}, "/view/title"),
    ],
)
def test_views_slack_would_reject_are_rejected(
    fake: FakeSlack, client: WebClient, view: dict[str, Any], pointer: str
) -> None:
    failure = api_error(lambda: client.views_publish(user_id=USER_ID, view=view))
    assert failure.response["error"] == "invalid_arguments"
    assert any(m.endswith(f"[json-pointer:{pointer}]") for m in failure.response["response_metadata"]["messages"])
    assert fake.home(USER_ID) is None


def test_a_home_tab_of_100_blocks_is_valid_and_needs_no_message_text_budget() -> None:
    validate_view({"type": "home", "blocks": [section("x" * 2900) for _ in range(100)]})


def test_files_upload_v2_sends_the_bytes_and_shares_them_in_a_thread(fake: FakeSlack, client: WebClient) -> None:
    dm = client.conversations_open(users=USER_ID)["channel"]["id"]
    parent = client.chat_postMessage(channel=dm, text="your saved papers")["ts"]
    content = "@article{x,\n  title = {Ünïcode}\n}\n"
    result = client.files_upload_v2(
        channel=dm, thread_ts=parent, content=content, filename="saved.bib", title="Saved papers", initial_comment="here"
    )
    assert result["file"]["name"] == "saved.bib"
    [upload] = fake.files(dm)
    assert (upload.text, upload.title, upload.thread_ts, upload.initial_comment) == (content, "Saved papers", parent, "here")
    assert [c.method for c in fake.calls() if c.method.startswith("file")] == [
        "files.getUploadURLExternal",
        "file_upload",
        "files.completeUploadExternal",
    ]
    assert fake.calls("files.completeUploadExternal")[0].params["channel_id"] == dm
    shared = fake.messages(dm)[-1]
    assert shared["thread_ts"] == parent and shared["files"][0]["title"] == "Saved papers"
    # The control API serves the bytes to subprocess tests.
    with urllib.request.urlopen(f"{fake.url}/_fake/files?channel={dm}") as answer:
        served = json.load(answer)["files"]
    assert [f["id"] for f in served] == [upload.id]


def test_upload_failures_surface_to_the_client(fake: FakeSlack, client: WebClient) -> None:
    fake.fail("file_upload", "boom")
    with pytest.raises(urllib.error.HTTPError):  # slack_sdk lets urllib's error through for the upload URL
        client.files_upload_v2(channel="C0SD", content="x", filename="a.txt")
    fake.fail("files.completeUploadExternal", "not_in_channel")
    failure = api_error(lambda: client.files_upload_v2(channel="C0SD", content="x", filename="a.txt"))
    assert failure.response["error"] == "not_in_channel"
    fake.not_member.add("C0SD")
    failure = api_error(lambda: client.files_upload_v2(channel="C0SD", content="x", filename="a.txt"))
    assert failure.response["error"] == "not_in_channel"
    assert fake.files("C0SD") == []
    with FakeSlack(scopes={"chat:write"}) as other:
        limited = WebClient(token=BOT_TOKEN, base_url=other.api_url)
        assert api_error(lambda: limited.files_upload_v2(channel="C0SD", content="x", filename="a.txt")).response["error"] == "missing_scope"


def test_react_changes_the_message_and_gives_the_event(fake: FakeSlack, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C0SD", text="a paper")["ts"]
    event = fake.react("C0SD", ts, USER_ID, "eyes")
    fake.react("C0SD", ts, "U0BOB", "eyes")
    assert event["type"] == "reaction_added" and event["item"] == {"type": "message", "channel": "C0SD", "ts": ts}
    assert event["item_user"] == BOT_USER_ID
    assert fake.messages("C0SD")[0]["reactions"] == [{"name": "eyes", "users": [USER_ID, "U0BOB"], "count": 2}]
    removed = fake.react("C0SD", ts, USER_ID, "eyes", added=False)
    assert removed["type"] == "reaction_removed" and float(removed["event_ts"]) > float(event["event_ts"])
    fake.react("C0SD", ts, "U0BOB", "eyes", added=False)
    assert "reactions" not in fake.messages("C0SD")[0]


def test_event_builders_have_slacks_shape() -> None:
    event = reaction_event("+1", channel="C0SD", ts="1.000001", added=False)
    assert event["type"] == "reaction_removed" and event["item_user"] == BOT_USER_ID
    assert app_home_opened_event(USER_ID)["tab"] == "home"
