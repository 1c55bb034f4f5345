"""Signed requests as Slack sends them (tests/support/slack_requests.py), checked against Bolt.

Driven with the real slack_sdk WebClient, so a test that passes against the fake
exercises the same bytes as production.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from tests.support.fake_slack import BOT_TOKEN, BOT_USER_ID, USER_ID, FakeSlack
from tests.support.slack_requests import (
    FORM,
    JSON,
    app_home_opened_event,
    block_actions_body,
    event_body,
    post,
    reaction_event,
    sign,
    slash_command_body,
    url_verification_body,
)

SECRET = "test-signing-secret"


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
        headers: dict[str, str | Sequence[str]] = {**sign(secret, body), "Content-Type": content_type}
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

def test_event_builders_have_slacks_shape() -> None:
    event = reaction_event("+1", channel="C0SD", ts="1.000001", added=False)
    assert event["type"] == "reaction_removed" and event["item_user"] == BOT_USER_ID
    assert app_home_opened_event(USER_ID)["tab"] == "home"
