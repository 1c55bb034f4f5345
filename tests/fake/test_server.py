"""The fake's server: tokens, unknown methods, the control API, `wait_for`, `reset`.

Driven with the real slack_sdk WebClient, so a test that passes against the fake
exercises the same bytes as production.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from slack_sdk import WebClient

from tests.fake.conftest import api_error
from tests.support.fake_slack import BOT_TOKEN, BOT_USER_ID, FakeSlack


def test_auth_test_names_the_bot_and_accepts_header_or_param_tokens(
    fake: FakeSlack, client: WebClient
) -> None:
    assert client.auth_test()["user_id"] == BOT_USER_ID
    anonymous = WebClient(base_url=fake.api_url)
    assert anonymous.api_call("auth.test", params={"token": BOT_TOKEN})["ok"]
    assert [c.token for c in fake.calls("auth.test")] == [BOT_TOKEN, BOT_TOKEN]

def test_bad_or_missing_tokens_and_unknown_methods_are_errors(fake: FakeSlack) -> None:
    bad = WebClient(token="xoxb-wrong", base_url=fake.api_url)
    assert api_error(bad.auth_test).response["error"] == "invalid_auth"
    assert api_error(WebClient(base_url=fake.api_url).auth_test).response["error"] == "not_authed"
    good = WebClient(token=BOT_TOKEN, base_url=fake.api_url)
    assert api_error(lambda: good.api_call("nope.nope")).response["error"] == "unknown_method"
    fake.tokens.discard(BOT_TOKEN)  # a revoked token, at run time
    assert api_error(good.auth_test).response["error"] == "invalid_auth"

def test_wait_for_wakes_on_changes_and_times_out_quickly(
    fake: FakeSlack, client: WebClient
) -> None:
    threading.Timer(0.1, lambda: client.chat_postMessage(channel="C0SD", text="later")).start()
    messages = fake.wait_for(lambda: fake.messages("C0SD"), timeout=5)
    assert messages[0]["text"] == "later"

    started = time.monotonic()
    with pytest.raises(TimeoutError, match="chat.postMessage"):
        fake.wait_for(lambda: len(fake.messages("C0SD")) > 1, timeout=0.1)
    assert time.monotonic() - started < 1

def test_control_api_serves_messages_and_calls_over_http(
    fake: FakeSlack, client: WebClient
) -> None:
    client.chat_postMessage(channel="C0SD", text="hello")

    def get(path: str) -> Any:
        with urllib.request.urlopen(f"{fake.url}{path}", timeout=5) as answer:
            return json.load(answer)

    assert [m["text"] for m in get("/_fake/messages?channel=C0SD")["messages"]] == ["hello"]
    calls = get("/_fake/calls?method=chat.postMessage")["calls"]
    assert [c["params"]["text"] for c in calls] == ["hello"]
    assert get("/_fake/calls")["calls"][0]["method"] == "chat.postMessage"  # not itself recorded

def test_reset_forgets_everything_but_keeps_serving(fake: FakeSlack, client: WebClient) -> None:
    client.chat_postMessage(channel="C0SD", text="x")
    fake.not_member.add("C0SD")
    fake.fail("auth.test", "fatal_error", times=5)
    fake.reset()
    assert fake.calls() == [] and fake.messages("C0SD") == []
    assert client.auth_test()["ok"]
    assert client.chat_postMessage(channel="C0SD", text="y")["ok"]
