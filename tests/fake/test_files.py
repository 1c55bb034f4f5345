"""files_upload_v2 in the fake: the bytes kept and shared in a thread, failures surfaced.

Driven with the real slack_sdk WebClient, so a test that passes against the fake
exercises the same bytes as production.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from slack_sdk import WebClient

from tests.fake.conftest import api_error
from tests.support.fake_slack import BOT_TOKEN, BOT_USER_ID, USER_ID, FakeSlack

#: Whom the fake Slack knows: read by the `fake_slack` fixture (tests/conftest.py).
FAKE_SLACK_OPTIONS = {"users": {USER_ID: "alice", "U0BOB": "bob", BOT_USER_ID: "digest-bot"}}


def test_files_upload_v2_sends_the_bytes_and_shares_them_in_a_thread(fake: FakeSlack, plain_client: WebClient) -> None:
    dm = plain_client.conversations_open(users=USER_ID)["channel"]["id"]
    parent = plain_client.chat_postMessage(channel=dm, text="your saved papers")["ts"]
    content = "@article{x,\n  title = {Ünïcode}\n}\n"
    result = plain_client.files_upload_v2(
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

def test_upload_failures_surface_to_the_client(fake: FakeSlack, plain_client: WebClient) -> None:
    fake.fail("file_upload", "boom")
    with pytest.raises(urllib.error.HTTPError):  # slack_sdk lets urllib's error through for the upload URL
        plain_client.files_upload_v2(channel="C0SD", content="x", filename="a.txt")
    fake.fail("files.completeUploadExternal", "not_in_channel")
    failure = api_error(lambda: plain_client.files_upload_v2(channel="C0SD", content="x", filename="a.txt"))
    assert failure.response["error"] == "not_in_channel"
    fake.not_member.add("C0SD")
    failure = api_error(lambda: plain_client.files_upload_v2(channel="C0SD", content="x", filename="a.txt"))
    assert failure.response["error"] == "not_in_channel"
    assert fake.files("C0SD") == []
    with FakeSlack(scopes={"chat:write"}) as other:
        limited = WebClient(token=BOT_TOKEN, base_url=other.api_url)
        assert api_error(lambda: limited.files_upload_v2(channel="C0SD", content="x", filename="a.txt")).response["error"] == "missing_scope"
