"""The fake Slack behaves like Slack where our tests rely on it.

Driven with the real slack_sdk WebClient (and Bolt for the signed-request helpers),
so a test that passes against the fake exercises the same bytes as production.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import FixedValueRetryIntervalCalculator
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from tests.support.fake_slack import BOT_TOKEN, BOT_USER_ID, Call, FakeSlack
from tests.support.slack_requests import (
    FORM,
    JSON,
    block_actions_body,
    event_body,
    post,
    sign,
    slash_command_body,
    url_verification_body,
)

SECRET = "test-signing-secret"
TS = re.compile(r"^\d{10}\.\d{6}$")


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    """The client the bot is meant to build: rate limits and connection errors retried."""
    return WebClient(
        token=BOT_TOKEN,
        base_url=fake.api_url,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(
                max_retry_count=2, interval_calculator=FixedValueRetryIntervalCalculator(0.01)
            ),
        ],
    )


def api_error(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value


# ---- auth and basics -------------------------------------------------------------------


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


# ---- faults --------------------------------------------------------------------------------


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


# ---- message validation ----------------------------------------------------------------------


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


# ---- reading channels ------------------------------------------------------------------


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


# ---- response_url, waiting, control API, reset ---------------------------------------------


def test_response_url_records_payloads_and_expires_after_five_uses(fake: FakeSlack) -> None:
    url = fake.new_response_url()
    webhook = WebhookClient(url)
    first = webhook.send(text="results", blocks=[section("r")], response_type="ephemeral")
    assert (first.status_code, first.body) == (200, "ok")
    webhook.send(text="page 2", replace_original=True)

    bad = webhook.send(text="x", blocks=[section("")])
    assert bad.status_code == 400 and "invalid_blocks" in bad.body

    for _ in range(3):
        webhook.send(text="more")
    expired = webhook.send(text="sixth")
    assert expired.status_code == 404 and json.loads(expired.body) == {"error": "expired_url"}

    payloads = fake.responses(url)
    assert len(payloads) == 5
    assert payloads[0]["response_type"] == "ephemeral" and payloads[0]["blocks"] == [section("r")]
    assert payloads[1]["replace_original"] is True
    assert [c.status for c in fake.calls("response_url")] == [200, 200, 400, 200, 200, 200, 404]


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


# ---- signed requests -------------------------------------------------------------------


def test_signatures_verify_and_reject_tampering_and_replays() -> None:
    body = slash_command_body("diffusion", response_url="http://127.0.0.1:9/response/x")
    verifier = SignatureVerifier(SECRET)
    headers = sign(SECRET, body)
    timestamp, signature = headers["X-Slack-Request-Timestamp"], headers["X-Slack-Signature"]
    assert verifier.is_valid(body, timestamp, signature)
    assert verifier.is_valid_request(body, headers)
    assert not verifier.is_valid(body + b"&x=1", timestamp, signature)
    assert not SignatureVerifier("other-secret").is_valid(body, timestamp, signature)
    old = sign(SECRET, body, timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, old)


def test_request_bodies_drive_a_real_bolt_app(fake: FakeSlack, client: WebClient) -> None:
    """Bolt parses our bodies as Slack's: command, button click, event, url_verification."""
    app = App(client=client, signing_secret=SECRET, process_before_response=True)
    seen: dict[str, Any] = {}

    @app.command("/papers")
    def papers(ack: Any, command: dict[str, Any], respond: Any) -> None:
        ack()
        seen["command"] = command["text"]
        respond(text=f"results for {command['text']}")

    @app.action("next_page")
    def next_page(ack: Any, body: dict[str, Any], respond: Any) -> None:
        ack()
        seen["action"] = body["actions"][0]["value"]
        respond(text="page 2", replace_original=True)

    @app.event("app_mention")
    def mention(event: dict[str, Any], say: Any) -> None:
        say(text="hi", thread_ts=event["ts"])

    def dispatch(body: bytes, content_type: str, secret: str = SECRET) -> Any:
        headers = {**sign(secret, body), "Content-Type": content_type}
        return app.dispatch(BoltRequest(body=body.decode(), headers=headers))

    url = fake.new_response_url()
    assert dispatch(slash_command_body("diffusion models", response_url=url), FORM).status == 200
    assert dispatch(block_actions_body("next_page", "2", response_url=url), FORM).status == 200
    mention_ts = fake.add_message("C0SD", f"<@{BOT_USER_ID}> hello")
    event = {
        "type": "app_mention",
        "user": "U0USER",
        "text": "hello",
        "ts": mention_ts,
        "channel": "C0SD",
    }
    assert dispatch(event_body(event), JSON).status == 200
    challenge = dispatch(url_verification_body("abc"), JSON)
    assert (challenge.status, json.loads(challenge.body)) == (200, {"challenge": "abc"})
    assert dispatch(event_body(event), JSON, secret="wrong-secret").status == 401

    assert seen == {"command": "diffusion models", "action": "2"}
    assert [p["text"] for p in fake.responses(url)] == ["results for diffusion models", "page 2"]
    assert fake.messages("C0SD")[-1]["thread_ts"] == mention_ts


def test_post_returns_status_headers_and_body_without_raising(fake: FakeSlack) -> None:
    status, headers, body = post(
        f"{fake.api_url}auth.test", f"token={BOT_TOKEN}".encode(), {}, FORM
    )
    assert status == 200 and json.loads(body)["ok"]
    assert headers["Content-Type"].startswith("application/json")
    status, _, body = post(f"{fake.url}/response/unknown", b"{}", {}, JSON)
    assert status == 404 and json.loads(body)["error"] == "unknown_response_url"
