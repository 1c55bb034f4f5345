"""Build and send the signed requests Slack sends to a bot's `/slack/events` endpoint.

Why not call the handlers directly: end-to-end tests should go through Bolt's own
signature check and body parsing, so the bodies here mirror Slack's (slash commands
and interactions form-encoded, events as JSON) and are signed like Slack signs them.

    body = slash_command_body("diffusion", response_url=fake.new_response_url())
    status, _, _ = post(f"{bot_url}/slack/events", body, sign(SECRET, body), FORM)
"""

from __future__ import annotations

import itertools
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from tests.support.fake_slack import APP_ID, BOT_USER_ID, TEAM_ID, USER_ID

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
VERIFICATION_TOKEN = "fake-verification-token"  # Slack's deprecated `token` field

_counter = itertools.count(1)


def _unique() -> int:
    return next(_counter)


def _trigger_id() -> str:
    """Shaped like Slack's ("13345224609.738474920.8088930838d88f008e0")."""
    return f"{int(time.time())}.{_unique()}.{secrets.token_hex(10)}"


def _action_ts() -> str:
    return f"{time.time():.6f}"


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """Slack's signature headers for `body`; pass an old `timestamp` to test replay checks."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    assert signature is not None
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}


def slash_command_body(
    text: str,
    *,
    response_url: str,
    command: str = "/papers",
    user_id: str = USER_ID,
    channel_id: str = "C0SD",
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
    api_app_id: str = APP_ID,
) -> bytes:
    """A slash command invocation, form-encoded with the fields Slack sends.

    `response_url` is required so a test can never make the bot call the real Slack:
    use `FakeSlack.new_response_url()`.
    """
    fields = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "team_domain": "fake",
        "channel_id": channel_id,
        "channel_name": channel_id.lower(),
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": api_app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or _trigger_id(),
    }
    return urlencode(fields).encode()


def block_actions_body(
    action_id: str,
    value: str,
    *,
    response_url: str,
    user_id: str = USER_ID,
    channel_id: str = "C0SD",
    message_ts: str | None = None,
    block_id: str = "actions",
    message: Mapping[str, Any] | None = None,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    view: Mapping[str, Any] | None = None,
) -> bytes:
    """A button click, as Slack's interactivity `payload=` form field.

    Without `message_ts` the click came from an ephemeral message (e.g. a slash
    command's paginated answer); with it, from a channel message (`message` is then
    the clicked message, e.g. one of `FakeSlack.messages(...)`). With `view` (a
    published Home tab, e.g. `FakeSlack.home(user)`) it came from the Home tab:
    Slack sends no response_url then.
    """
    ephemeral = message_ts is None
    container_ts = message_ts or _action_ts()
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {
            "id": user_id,
            "username": user_id.lower(),
            "name": user_id.lower(),
            "team_id": team_id,
        },
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "container": {
            "type": "message",
            "message_ts": container_ts,
            "channel_id": channel_id,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": _trigger_id(),
        "team": {"id": team_id, "domain": "fake"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel_id, "name": channel_id.lower()},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "text": {"type": "plain_text", "text": action_id, "emoji": True},
                "value": value,
                "action_ts": _action_ts(),
            }
        ],
    }
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.get("id")}
        payload["view"] = dict(view)
        payload.pop("response_url")
        payload.pop("channel")
    elif not ephemeral:
        payload["message"] = dict(message or {"type": "message", "ts": container_ts, "text": ""})
    return urlencode({"payload": json.dumps(payload)}).encode()


def event_body(
    event: Mapping[str, Any],
    *,
    team_id: str = TEAM_ID,
    api_app_id: str = APP_ID,
    event_id: str | None = None,
) -> bytes:
    """An Events API `event_callback` envelope with a unique event_id (Slack retries reuse it)."""
    envelope = {
        "token": VERIFICATION_TOKEN,
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id or f"Ev{_unique():08d}{secrets.token_hex(3).upper()}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
    }
    return json.dumps(envelope).encode()


def link_shared_event(
    urls: list[str],
    *,
    channel: str = "C0SD",
    message_ts: str,
    user: str = USER_ID,
    thread_ts: str | None = None,
    source: str = "conversations_history",
    unfurl_id: str | None = None,
) -> dict[str, Any]:
    """The `link_shared` event Slack sends for links of an `unfurl_domains` domain.

    For a link still in the message composer Slack sends `channel: "COMPOSER"`,
    a made-up `message_ts`, `source: "composer"` and an `unfurl_id`.
    """
    event: dict[str, Any] = {
        "type": "link_shared",
        "channel": channel,
        "is_bot_user_member": True,
        "user": user,
        "message_ts": message_ts,
        "unfurl_id": unfurl_id or f"C{_unique():06d}.{message_ts}.{secrets.token_hex(8)}",
        "source": source,
        "event_ts": message_ts,
        "links": [{"domain": "arxiv.org", "url": url} for url in urls],
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def reaction_event(
    reaction: str,
    *,
    channel: str,
    ts: str,
    user: str = USER_ID,
    item_user: str | None = BOT_USER_ID,
    added: bool = True,
    event_ts: str | None = None,
) -> dict[str, Any]:
    """A `reaction_added` / `reaction_removed` event on the message `ts` in `channel`.

    `item_user` is the message's author (the bot's by default). `FakeSlack.react`
    builds the same event and also changes the message's reactions.
    """
    event: dict[str, Any] = {
        "type": "reaction_added" if added else "reaction_removed",
        "user": user,
        "reaction": reaction,
        "item": {"type": "message", "channel": channel, "ts": ts},
        "event_ts": event_ts or f"{time.time():.6f}",
    }
    if item_user is not None:
        event["item_user"] = item_user
    return event


def app_home_opened_event(user: str = USER_ID, *, tab: str = "home", view: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`app_home_opened`: the person opened the app's Home (or Messages) tab."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user,
        "channel": f"D{user.lstrip('UW')}",
        "tab": tab,
        "event_ts": f"{time.time():.6f}",
    }
    if view is not None:
        event["view"] = dict(view)
    return event


def url_verification_body(challenge: str) -> bytes:
    """The handshake Slack sends when the Request URL is saved."""
    return json.dumps(
        {"token": VERIFICATION_TOKEN, "challenge": challenge, "type": "url_verification"}
    ).encode()


def post(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    content_type: str,
    *,
    timeout: float = 10.0,
) -> tuple[int, dict[str, str], bytes]:
    """POST like Slack does; returns (status, headers, body) for any status, never raises on 4xx/5xx."""
    request = urllib.request.Request(
        url, data=body, method="POST", headers={**headers, "Content-Type": content_type}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, dict(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers.items()), error.read()
