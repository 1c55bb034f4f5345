"""The Bolt app: `/papers`, its buttons, mentions, direct messages, thread replies and link unfurls
(the personal layer's commands, buttons, reactions and Home tab: `bot.slack.personal`; questions
answered from the archive, `/papers ask` and its share button: `bot.slack.answers`; the
assistant panel: `bot.slack.assistant`).

The app only wires Slack to `Lookup` (the answers) and `discussion` (thread
counts). Every listener acknowledges on the request's own path and does no
work there: the answer, its delivery and every store write are queued
(`bot.slack.work`) and done by other threads, so neither a slow search, a
response_url that takes its time nor a write waiting for another process's
database lock ever delays an acknowledgement. A full queue is said at once:
the slash command's acknowledgement itself carries "busy, try again"; a
button or a question gets that notice from the notices queue; a thread reply
that cannot be queued is answered 503, so Slack delivers it again later.

Questions (mentions, direct messages) from bots, the bot itself included,
are never answered (two bots would answer each other forever), and each
person's questions are limited per minute (`bot.slack.flood`). arXiv link
unfurls (`link_shared`) are `bot.slack.unfurls`' job, registered here.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import Ack, App, BoltRequest, BoltResponse
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from bot.ask.asker import Asker
from bot.engagement import discussion
from bot.lookup import Lookup, parse_command
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
from bot.render.actions import ANSWER_SHARE
from bot.render.blocks import Message
from bot.slack import assistant as assistant_panel
from bot.slack import personal as personal_listeners
from bot.slack import shapes, trends, unfurls
from bot.slack.answers import Answering, post_in_thread
from bot.slack.flood import QuestionLimit
from bot.slack.work import Workers

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

    def forget(self, event_id: str | None) -> None:
        """Not handled after all (its work could not be queued): Slack's retry is welcome."""
        if event_id:
            with self._lock:
                self._seen.pop(event_id, None)


#: Seconds a response_url (or a Web API call) may take before the delivery is given up.
DELIVERY_TIMEOUT = 15
#: A store write that found the database locked (another process's long
#: transaction outlasted the busy timeout) is tried this many times in all.
WRITE_ATTEMPTS = 3
#: Questions per user per minute before the one "slow down" notice.
QUESTIONS_PER_MINUTE = 6


def _deliver(response_url: str | None, message: Message, **options: Any) -> None:
    """Send through the response_url; Slack's refusal (expired, invalid) is logged, not lost silently."""
    if not response_url:
        log.warning("no response_url to deliver an answer to")
        return
    try:
        result = WebhookClient(response_url, timeout=DELIVERY_TIMEOUT).send(
            text=message["text"], blocks=message["blocks"], **options
        )
    except Exception:  # a network error reaching Slack: nothing more to do for this click
        log.exception("could not deliver an answer through the response_url")
        return
    if result.status_code != 200:
        log.warning("Slack refused an answer (HTTP %s): %s", result.status_code, str(result.body)[:200])


def _render(what: str, render: Callable[[], Message | None], lang: str) -> Message:
    """The answer, or a polite error when rendering it failed (the user is never left waiting)."""
    try:
        message = render()
    except Exception:
        log.exception("could not answer %s", what)
        return error_message("unknown", lang=lang)
    return message if message is not None else error_message("expired", lang=lang)


def from_a_bot(event: Mapping[str, Any], bot_user_id: str | None) -> bool:
    """A message or mention written by a bot (another app, a workflow, or this bot itself)."""
    user = event.get("user")
    return (
        bool(event.get("bot_id") or event.get("bot_profile"))
        or event.get("subtype") == "bot_message"
        or not user
        or (bot_user_id is not None and user == bot_user_id)
    )


def question_text(text: str | None) -> str:
    """A message's text without the mentions of the bot (or anyone)."""
    return " ".join(_MENTION_RE.sub(" ", text or "").split())


class SlackShaped(Middleware):
    """What is not shaped like Slack's (`bot.slack.shapes`) stops before any listener, in
    Socket Mode too (HTTP mode refused it at the door): a 400 and one log line.

    A plain `Middleware`, not a function: Bolt builds a function middleware's
    arguments from the body first (`to_action`), which itself raises on `actions: []`.
    """

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]) -> BoltResponse | None:
        body = req.body
        wrong = shapes.problem(body) if isinstance(body, dict) else "the body is not an object"
        if wrong is None:
            return next()
        log.info("ignored a payload not shaped like Slack's: %s", wrong)
        return BoltResponse(status=400, body=f"not shaped like Slack's: {wrong}")


def build_app(
    *,
    lookup: Lookup,
    asker: Asker,
    engine: Engine,
    client: WebClient,
    signing_secret: str | None,
    bot_user_id: str | None = None,
    lang: str = "en",
    workers: Workers | None = None,
    questions: QuestionLimit | None = None,
) -> App:
    """A Bolt App with every listener; `signing_secret=None` means Socket Mode (no signing).

    `workers` runs everything after the acknowledgement (default: a fresh set
    with the default sizes); `questions` limits each person's questions (mentions,
    direct messages, `/papers ask`, an answer's share, the assistant panel).
    `asker` answers questions from the archive.
    """
    work = workers if workers is not None else Workers.start()
    limit = questions if questions is not None else QuestionLimit(QUESTIONS_PER_MINUTE)
    app = App(
        client=client,
        signing_secret=signing_secret,
        request_verification_enabled=signing_secret is not None,
        token_verification_enabled=False,  # the caller checks the token once (auth.test) at start-up
        ignoring_self_events_enabled=False,  # done below with the bot user id we were given
        # Listeners run on the request's own thread and only queue work, so the
        # acknowledgement never waits in Bolt's small listener pool behind the
        # answers of earlier requests.
        process_before_response=True,
    )
    seen = _SeenEvents()

    app.use(SlackShaped())
    answering = Answering(
        asker=asker, lookup=lookup, engine=engine, client=client, work=work, limit=limit, lang=lang,
        render=_render, deliver=_deliver,
    )
    # Before every listener: the assistant panel's events (its thread's messages are the
    # panel's alone, never also answered as a direct message below).
    app.use(
        assistant_panel.build(
            asker=asker, catalog=lookup.catalog, work=work, limit=limit, seen=seen, lang=lang,
            bot_user_id=bot_user_id, render=_render,
        )
    )

    def busy_notice(response_url: str | None, what: str) -> None:
        """Tell the user the answers queue is full (from the notices queue, never from here)."""
        busy = error_message("busy", lang=lang)
        job = lambda: _deliver(response_url, busy, response_type="ephemeral", replace_original=False)
        if not work.notices.submit(job, f"busy notice for {what}"):
            log.error("every queue is full: %s got no answer and no busy notice", what)

    # A person's own commands, Save / Follow buttons, reactions as votes, the Home tab.
    mine = personal_listeners.register(
        app, lookup=lookup, engine=engine, client=client, work=work, lang=lang,
        bot_user_id=bot_user_id, deliver=_deliver, render=_render,
    )

    @app.command(COMMAND)
    def papers(ack: Ack, command: Mapping[str, Any]) -> None:
        if mine.handle(ack, command):
            return
        asked = parse_command(command.get("text"))
        if asked.kind == "ask":
            answering.command(ack, asked.arg, command)
            return
        url, text, user = command.get("response_url"), command.get("text"), command.get("user_id")
        what = f"/papers from {user}"

        def answer() -> None:
            message = _render(what, lambda: lookup.answer(text), lang)
            work.send(lambda: _deliver(url, message, response_type="ephemeral"), what)

        if trends.is_trends(text):  # the numbers here, the chart uploaded to the person's DM
            answer = trends.command_job(command, lookup=lookup, client=client, work=work, deliver=_deliver, lang=lang)
        if work.answers.submit(answer, what):
            ack()
        else:  # the acknowledgement itself says so: no second request to Slack
            busy = error_message("busy", lang=lang)
            ack(text=busy["text"], blocks=busy["blocks"], response_type="ephemeral")

    def _page(render: Callable[[str | None], Message | None]) -> Callable[..., None]:
        def listener(ack: Ack, action: Mapping[str, Any], body: Mapping[str, Any]) -> None:
            ack()
            url, value = body.get("response_url"), action.get("value")
            what = f"button {action.get('action_id')}"

            def answer() -> None:
                message = _render(what, lambda: render(value), lang)
                work.send(lambda: _deliver(url, message, response_type="ephemeral", replace_original=True), what)

            if not work.answers.submit(answer, what):
                busy_notice(url, what)

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
    def share(ack: Ack, action: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        ack()
        user = (body.get("user") or {}).get("id", "")
        url, value = body.get("response_url"), str(action.get("value") or "")

        def answer() -> None:
            try:
                message = lookup.share(value, user)
            except Exception:
                log.exception("could not share %s", value)
                message = None
            if message is None:
                failed = error_message("share_failed", lang=lang)
                work.send(lambda: _deliver(url, failed, response_type="ephemeral", replace_original=False), value)
                return
            # The response_url posts for everyone even where the bot is not a member.
            shared = message
            work.send(lambda: _deliver(url, shared, response_type="in_channel", replace_original=False), value)

        if not work.answers.submit(answer, f"share of {value}"):
            busy_notice(url, f"share of {value}")

    app.action(action_pattern(ANSWER_SHARE))(answering.share)

    @app.action(action_pattern(PAPER_PDF))
    def pdf(ack: Ack) -> None:
        ack()  # a link button: Slack opens the URL, and still tells us about the click

    @app.event("app_mention")
    def mention(event: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        if from_a_bot(event, bot_user_id) or not seen.first_time(body.get("event_id")):
            return
        _question(event)

    @app.event("message")
    def message_event(event: Mapping[str, Any], body: Mapping[str, Any]) -> BoltResponse | None:
        channel = event.get("channel") or ""
        fields: dict[str, Any] = {
            "thread_ts": event.get("thread_ts"),
            "user": event.get("user"),
            "ts": str(event.get("ts") or ""),
            "bot_user_id": bot_user_id,
            "subtype": event.get("subtype"),
            "bot_id": event.get("bot_id"),
        }
        if discussion.may_be_reply(**fields):
            reply = f"reply {fields['ts']} in {channel}"
            if not work.writes.submit(lambda: _record(channel, fields), reply):
                # Not lost: Slack delivers an event again when it is not acknowledged with a 2xx.
                log.warning("store writes are backed up: asking Slack to deliver %s again later", reply)
                return BoltResponse(status=503, body="busy: deliver this event again later")
        is_question = event.get("channel_type") == "im" and not event.get("subtype") and not from_a_bot(event, bot_user_id)
        if is_question and seen.first_time(body.get("event_id")):
            _question(event)
        return None

    def _record(channel: str, fields: Mapping[str, Any]) -> None:
        """Count one thread reply; a database lock that outlasts the busy timeout is waited out again."""
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                discussion.record_reply(engine, channel=channel, **fields)
                return
            except OperationalError as err:
                if attempt == WRITE_ATTEMPTS or "locked" not in str(err).lower():
                    log.error("could not count reply %s in %s: %s", fields.get("ts"), channel, err.orig)
                    return
                log.warning("the store is locked by another process; counting reply %s again", fields.get("ts"))

    def _question(event: Mapping[str, Any]) -> None:
        """A mention or a direct message: answered in its thread, within the person's limit."""
        channel = event.get("channel")
        if not channel:
            return
        user = str(event.get("user") or "")
        thread_ts = event.get("thread_ts") or event.get("ts")
        verdict = limit.check(user)
        if verdict == "quiet":
            log.info("not answering %s in %s: over %d questions a minute", user, channel, limit.limit)
            return
        if verdict == "notice":
            notice = error_message("slow_down", lang=lang, n=limit.seconds_to_say(user))
            if not work.notices.submit(lambda: _post(channel, thread_ts, notice), f"slow-down notice to {user}"):
                log.error("could not queue the slow-down notice to %s", user)
            return
        what = f"question from {user} in {channel}"
        if not work.answers.submit(lambda: _answer_in_thread(event), what):
            busy = error_message("busy", lang=lang)
            if not work.notices.submit(lambda: _post(channel, thread_ts, busy), f"busy notice for {what}"):
                log.error("every queue is full: %s got no answer and no busy notice", what)

    def _answer_in_thread(event: Mapping[str, Any]) -> None:
        """Answer a mention or a direct message in the thread it was asked in (`bot.slack.answers`)."""
        channel = str(event.get("channel"))
        thread_ts = event.get("thread_ts") or event.get("ts")
        answering.in_thread(channel, thread_ts, event.get("thread_ts"), question_text(event.get("text")))

    def _post(channel: str, thread_ts: str | None, message: Message) -> None:
        post_in_thread(client, channel, thread_ts, message)

    unfurls.register(app, papers=lookup.catalog, engine=engine, client=client, work=work, seen=seen, lang=lang)
    trends.register(app, lookup=lookup, client=client, work=work, deliver=_deliver, lang=lang)

    @app.error
    def on_error(error: Exception, body: Mapping[str, Any]) -> None:
        log.error("unhandled error in a Slack listener (%s): %s", body.get("type"), error, exc_info=error)

    return app
