"""Faults injected into the fake: rate limits, errors, 5xx, drops, hooks, latency, holds, garbled answers.

Driven with the real slack_sdk WebClient, so a test that passes against the fake
exercises the same bytes as production.
"""

from __future__ import annotations

import http.client
import threading
import time
import urllib.error
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from tests.fake.conftest import api_error
from tests.support.fake_slack import BOT_TOKEN, Call, FakeSlack


def test_rate_limit_429_is_honoured_by_the_retry_handler(
    fake: FakeSlack, client: WebClient
) -> None:
    fake.rate_limit("chat.postMessage", every=2, retry_after=1)
    client.chat_postMessage(channel="C0SD", text="a")
    client.chat_postMessage(channel="C0SD", text="b")  # 429 first, then retried

    calls = fake.calls("chat.postMessage")
    assert [(c.status, c.fault) for c in calls] == [
        (200, None),
        (429, "rate_limited"),
        (200, None),
    ]
    assert calls[2].received - calls[1].received >= 1.0  # waited for Retry-After
    assert [m["text"] for m in fake.messages("C0SD")] == ["a", "b"]

def test_rate_limit_without_retry_handler_surfaces_429(fake: FakeSlack) -> None:
    plain = WebClient(token=BOT_TOKEN, base_url=fake.api_url)  # slack_sdk default handlers
    fake.rate_limit("chat.postMessage", every=1, retry_after=7)
    error = api_error(lambda: plain.chat_postMessage(channel="C0SD", text="x"))
    assert error.response.status_code == 429
    assert error.response.headers["Retry-After"] == "7"
    assert error.response["error"] == "ratelimited"

def test_fail_targets_a_method_and_channel_for_n_calls(fake: FakeSlack, client: WebClient) -> None:
    fake.fail("chat.postMessage", "is_archived", times=1, channel="C0FL")
    client.chat_postMessage(channel="C0SD", text="unaffected")
    error = api_error(lambda: client.chat_postMessage(channel="C0FL", text="x"))
    assert error.response["error"] == "is_archived"
    assert client.chat_postMessage(channel="C0FL", text="x")["ok"]
    assert [c.fault for c in fake.calls("chat.postMessage")] == [None, "failed", None]

def test_server_error_surfaces_as_slack_api_error(fake: FakeSlack, client: WebClient) -> None:
    fake.server_error("conversations.history", status=503)
    error = api_error(lambda: client.conversations_history(channel="C0SD"))
    assert error.response.status_code == 503
    assert client.conversations_history(channel="C0SD")["ok"]  # times=1: recovered

def test_dropped_connection_is_retried_by_the_connection_error_handler(
    fake: FakeSlack, client: WebClient
) -> None:
    fake.drop_connection("chat.postMessage")
    assert client.chat_postMessage(channel="C0SD", text="x")["ok"]
    assert [(c.status, c.fault) for c in fake.calls("chat.postMessage")] == [
        (None, "dropped"),
        (200, None),
    ]
    assert len(fake.messages("C0SD")) == 1

def test_dropped_connection_without_retry_is_a_connection_error(fake: FakeSlack) -> None:
    no_retry = WebClient(token=BOT_TOKEN, base_url=fake.api_url, retry_handlers=[])
    fake.drop_connection("auth.test")
    with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
        no_retry.auth_test()

def test_drop_after_accept_makes_retrying_clients_post_twice(
    fake: FakeSlack, client: WebClient
) -> None:
    """Why idempotency matters: Slack stored the post, the client never heard, retried."""
    fake.drop_connection("chat.postMessage", after_accept=True)
    client.chat_postMessage(channel="C0SD", text="digest")
    assert [m["text"] for m in fake.messages("C0SD")] == ["digest", "digest"]
    assert fake.calls("chat.postMessage")[0].fault == "dropped_after_accept"

def test_on_post_runs_after_storing_but_before_answering(
    fake: FakeSlack, client: WebClient
) -> None:
    answered = threading.Event()
    seen: list[tuple[bool, int]] = []

    def hook(call: Call) -> None:
        seen.append((answered.is_set(), len(fake.messages(call.params["channel"]))))

    fake.on_post(hook)
    client.chat_postMessage(channel="C0SD", text="x")
    answered.set()
    assert seen == [(False, 1)]

def test_a_raising_on_post_hook_drops_the_connection(fake: FakeSlack) -> None:
    def crash(call: Call) -> None:
        raise RuntimeError("bot killed")

    fake.on_post(crash)
    no_retry = WebClient(token=BOT_TOKEN, base_url=fake.api_url, retry_handlers=[])
    with pytest.raises((urllib.error.URLError, ConnectionError, http.client.HTTPException)):
        no_retry.chat_postMessage(channel="C0SD", text="x")
    assert len(fake.messages("C0SD")) == 1
    assert fake.calls("chat.postMessage")[0].fault == "hook_raised"

def test_latency_delays_answers(fake: FakeSlack, client: WebClient) -> None:
    fake.latency(0.2, method="auth.test")
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started >= 0.2

def test_response_url_latency_delays_only_the_response_url(fake: FakeSlack, client: WebClient) -> None:
    fake.latency(0.3, method="response_url")
    url = fake.new_response_url()
    started = time.monotonic()
    client.auth_test()
    assert time.monotonic() - started < 0.3
    started = time.monotonic()
    assert WebhookClient(url).send(text="answer").status_code == 200
    assert time.monotonic() - started >= 0.3

def test_a_held_method_waits_until_released_while_others_are_served(
    fake: FakeSlack, client: WebClient
) -> None:
    gate = fake.hold("response_url")
    url = fake.new_response_url()
    sent = threading.Thread(target=lambda: WebhookClient(url).send(text="answer"))
    sent.start()
    client.chat_postMessage(channel="C0SD", text="served meanwhile")
    sent.join(timeout=0.3)
    assert sent.is_alive() and fake.responses(url) == []
    gate.set()
    sent.join(timeout=5)
    assert [r["text"] for r in fake.responses(url)] == ["answer"]
    # clear_faults releases whatever is still parked
    fake.hold("response_url")
    again = threading.Thread(target=lambda: WebhookClient(url).send(text="second"))
    again.start()
    fake.clear_faults()
    again.join(timeout=5)
    assert not again.is_alive()

def test_garble_stores_the_post_then_answers_200_with_a_body_that_is_not_json(
    fake: FakeSlack,
) -> None:
    no_retry = WebClient(token=BOT_TOKEN, base_url=fake.api_url, retry_handlers=[])
    fake.garble("chat.postMessage")
    error = api_error(lambda: no_retry.chat_postMessage(channel="C0SD", text="stored"))
    assert error.response.status_code == 200
    assert "non-JSON" in str(error.response.get("error"))
    assert [m["text"] for m in fake.messages("C0SD")] == ["stored"]
    assert fake.calls("chat.postMessage")[0].fault == "garbled_after_accept"
    no_retry.chat_postMessage(channel="C0SD", text="next one is answered normally")
