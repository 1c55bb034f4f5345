"""The Bolt app: `/papers`, its buttons, mentions, direct messages and thread replies.

The app only wires Slack to `Lookup` (the answers) and `discussion` (thread
counts): every listener acknowledges first, then works, then delivers, so a
slow search never makes Slack show an error to the user.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookResponse
from sqlalchemy import Engine

from bot import discussion
from bot.lookup import Lookup
from bot.render import (
    PAPER_PDF,
    PAPER_SHARE,
    RESULTS_MORE,
    RESULTS_SUGGEST,
    TOPIC_MORE,
    TOPIC_SHOW,
    WEEK_MORE,
    action_pattern,
    error_message,
    parse_results_value,
    parse_topic_value,
    parse_week_value,
)
from bot.render.blocks import Message

log = logging.getLogger(__name__)

COMMAND = "/papers"
_MENTION_RE = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")


class _SeenEvents:
    """Event ids handled lately: Slack retries an event it thinks was lost, and a
    question must not be answered twice (bounded, thread-safe)."""

    def __init__(self, size: int = 2048, ttl: float = 3600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._seen: OrderedDict[str, float] = OrderedDict()
        self._size, self._ttl, self._clock = size, ttl, clock
        self._lock = threading.Lock()

    def first_time(self, event_id: str | None) -> bool:
        if not event_id:
            return True
        now = self._clock()
        with self._lock:
            while self._seen and (len(self._seen) >= self._size or next(iter(self._seen.values())) < now - self._ttl):
                self._seen.popitem(last=False)
            if event_id in self._seen:
                return False
            self._seen[event_id] = now
            return True


def _deliver(respond: Respond, message: Message, **options: Any) -> None:
    """Send through the response_url; Slack's refusal (expired, invalid) is logged, not lost silently."""
    try:
        result = respond(text=message["text"], blocks=message["blocks"], **options)
    except Exception:  # a network error reaching Slack: nothing more to do for this click
        log.exception("could not deliver an answer through the response_url")
        return
    if isinstance(result, WebhookResponse) and result.status_code != 200:
        log.warning("Slack refused an answer (HTTP %s): %s", result.status_code, str(result.body)[:200])


def question_text(text: str | None) -> str:
    """A message's text without the mentions of the bot (or anyone)."""
    return " ".join(_MENTION_RE.sub(" ", text or "").split())


def build_app(
    *,
    lookup: Lookup,
    engine: Engine,
    client: WebClient,
    signing_secret: str | None,
    bot_user_id: str | None = None,
    lang: str = "en",
) -> App:
    """A Bolt App with every listener; `signing_secret=None` means Socket Mode (no signing)."""
    app = App(
        client=client,
        signing_secret=signing_secret,
        request_verification_enabled=signing_secret is not None,
        token_verification_enabled=False,  # the caller checks the token once (auth.test) at start-up
        ignoring_self_events_enabled=False,  # done below with the bot user id we were given
    )
    seen = _SeenEvents()

    @app.command(COMMAND)
    def papers(ack: Ack, command: Mapping[str, Any], respond: Respond) -> None:
        ack()
        _deliver(respond, lookup.answer(command.get("text")), response_type="ephemeral")

    def _page(render: Callable[[str | None], Message | None]) -> Callable[..., None]:
        def listener(ack: Ack, action: Mapping[str, Any], respond: Respond) -> None:
            ack()
            message = render(action.get("value"))
            if message is None:
                message = error_message("expired", lang=lang)
            _deliver(respond, message, response_type="ephemeral", replace_original=True)

        return listener

    def _results(value: str | None) -> Message | None:
        parsed = parse_results_value(value)
        return lookup.search(parsed[0], parsed[1]) if parsed else None

    def _topic(value: str | None) -> Message | None:
        parsed = parse_topic_value(value)
        return lookup.topic_page(*parsed) if parsed else None

    def _week(value: str | None) -> Message | None:
        parsed = parse_week_value(value)
        return lookup.week_page(*parsed) if parsed else None

    app.action(action_pattern(RESULTS_MORE))(_page(_results))
    app.action(action_pattern(RESULTS_SUGGEST))(_page(_results))
    app.action(action_pattern(TOPIC_MORE))(_page(_topic))
    app.action(action_pattern(TOPIC_SHOW))(_page(_topic))
    app.action(action_pattern(WEEK_MORE))(_page(_week))

    @app.action(action_pattern(PAPER_SHARE))
    def share(ack: Ack, action: Mapping[str, Any], body: Mapping[str, Any], respond: Respond) -> None:
        ack()
        user = (body.get("user") or {}).get("id", "")
        message = lookup.share(str(action.get("value") or ""), user)
        if message is None:
            _deliver(respond, error_message("share_failed", lang=lang), response_type="ephemeral", replace_original=False)
            return
        # The response_url posts for everyone even where the bot is not a member.
        _deliver(respond, message, response_type="in_channel", replace_original=False)

    @app.action(action_pattern(PAPER_PDF))
    def pdf(ack: Ack) -> None:
        ack()  # a link button: Slack opens the URL, and still tells us about the click

    @app.event("app_mention")
    def mention(event: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        if not seen.first_time(body.get("event_id")):
            return
        _answer_in_thread(event)

    @app.event("message")
    def message_event(event: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        channel = event.get("channel") or ""
        discussion.record_reply(
            engine,
            channel=channel,
            thread_ts=event.get("thread_ts"),
            user=event.get("user"),
            ts=str(event.get("ts") or ""),
            bot_user_id=bot_user_id,
            subtype=event.get("subtype"),
            bot_id=event.get("bot_id"),
        )
        is_question = (
            event.get("channel_type") == "im"
            and not event.get("subtype")
            and not event.get("bot_id")
            and event.get("user") not in (None, bot_user_id)
        )
        if is_question and seen.first_time(body.get("event_id")):
            _answer_in_thread(event)

    def _answer_in_thread(event: Mapping[str, Any]) -> None:
        """Answer a mention or a direct message in the thread it was asked in."""
        channel = event.get("channel")
        if not channel:
            return
        thread_ts = event.get("thread_ts") or event.get("ts")
        question = question_text(event.get("text"))
        arxiv_id = discussion.paper_for_thread(engine, channel, event["thread_ts"]) if event.get("thread_ts") else None
        answer = lookup.about_paper(arxiv_id, question) if arxiv_id else lookup.answer(question)
        try:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=answer["text"], blocks=answer["blocks"])
        except SlackApiError as err:
            log.warning("could not answer in %s: %s", channel, err.response.get("error"))

    @app.error
    def on_error(error: Exception, body: Mapping[str, Any]) -> None:
        log.error("unhandled error in a Slack listener (%s): %s", body.get("type"), error, exc_info=error)

    return app
