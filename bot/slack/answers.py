"""Questions answered in Slack: mentions, direct messages, a paper's thread, `/papers ask` and
its share button (the assistant panel: `bot.slack.assistant`, through the same asker).

A mention or a DM that asks something (`bot.ask.question.is_question`) gets the
archive's answer (`Asker.ask`, rendered by `bot.render.answer`) in the thread it was
asked in; keywords keep getting search results (`Lookup.answer`). In a paper's
thread, a mention naming the card, its related papers or its comment still gets
them (`Lookup.about_paper`); any other question is answered about that paper first.

With a language model configured the answer takes seconds: a short "Searching the
archive…" is posted first (the one Slack call an answers thread makes itself: the
answer cannot replace a message not yet posted) and `chat.update`d with the answer
on a deliveries thread (a new post when the update fails). The listeners only
acknowledge and queue, as everywhere in `bot.slack.app`; each person's questions are
counted by the app's `QuestionLimit`, here for the slash command and the share
button too, since both ask the model again.
"""

from __future__ import annotations

import http.client
import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine

from bot.ask.asker import Asker
from bot.ask.question import is_question
from bot.engagement import threads
from bot.i18n import t
from bot.lookup import Lookup, thread_intent
from bot.render import error_message
from bot.render.actions import parse_answer_value
from bot.render.answer import answer_message
from bot.render.blocks import Message, section
from bot.render.help import ask_help
from bot.slack.flood import QuestionLimit
from bot.slack.work import Workers

log = logging.getLogger(__name__)

Render = Callable[[str, Callable[[], Message | None], str], Message]
Deliver = Callable[..., None]


def asks(question: str, paper: str | None) -> bool:
    """Whether a mention or DM gets the archive's answer rather than search results or a card.

    Outside a paper's thread: when it is a question. Inside one: a question that does not
    name the card, related papers or the comment (those keep `Lookup.about_paper`).
    """
    return is_question(question) and (paper is None or thread_intent(question, named=True) == "search")


def post_in_thread(client: WebClient, channel: str, thread_ts: str | None, message: Message) -> str | None:
    """Post in a thread; the message's ts, or None (Slack's refusal and network errors logged)."""
    posted: list[str] = []

    def post() -> None:
        response = client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=message["text"], blocks=message["blocks"]
        )
        posted.append(str(response.get("ts") or ""))

    return (posted[0] or None) if attempt(post, f"answer in {channel}") else None


def attempt(call: Callable[[], Any], what: str) -> bool:
    """One Slack call made on a worker: Slack's refusal or a network error is one warning
    ("could not <what>: <error>") and False, never an exception that kills the worker."""
    try:
        call()
    except SlackApiError as err:
        log.warning("could not %s: %s", what, err.response.get("error"))
        return False
    except (OSError, http.client.HTTPException) as err:
        log.warning("could not %s: %s", what, err)
        return False
    return True


def update_in_place(client: WebClient, channel: str, ts: str, message: Message) -> bool:
    """Replace the bot's message `ts` with `message`; False when Slack (or the network) refused."""
    return attempt(
        lambda: client.chat_update(channel=channel, ts=ts, text=message["text"], blocks=message["blocks"]),
        f"update the progress message in {channel}",
    )


def thinking_message(lang: str) -> Message:
    """The short message shown while a language model writes the answer."""
    text = t(lang, "answer_thinking")
    return {"text": text, "blocks": [section(f"⏳ {text}", bid="answer:thinking")]}


class Answering:
    """The answers of every Slack path that asks the archive (the asker), with their delivery."""

    def __init__(
        self,
        *,
        asker: Asker,
        lookup: Lookup,
        engine: Engine,
        client: WebClient,
        work: Workers,
        limit: QuestionLimit,
        lang: str,
        render: Render,
        deliver: Deliver,
    ) -> None:
        self.asker = asker
        self.lookup = lookup
        self.engine = engine
        self.client = client
        self.work = work
        self.limit = limit
        self.lang = lang
        self.render = render
        self.deliver = deliver

    @property
    def shows_progress(self) -> bool:
        """A language model writes the answers: seconds, worth a "Searching…" message first."""
        return self.asker.writer is not None

    # Mentions and direct messages (on an answers thread) -------------------------

    def in_thread(self, channel: str, thread_ts: str | None, asked_in: str | None, question: str) -> None:
        """Answer a mention or DM in `thread_ts`; `asked_in` is the thread it was written in, if any."""
        what = f"a question in {channel}"
        paper = None
        if asked_in:
            try:
                paper = threads.paper_for_thread(self.engine, channel, asked_in)
            except Exception:  # the store: answered as a question outside any paper's thread
                log.exception("could not tell which paper thread %s in %s is", asked_in, channel)
        if not asks(question, paper):
            about = paper
            message = self.render(
                what, lambda: self.lookup.about_paper(about, question) if about else self.lookup.answer(question), self.lang
            )
            self.work.send(lambda: post_in_thread(self.client, channel, thread_ts, message), f"an answer in {channel}")
            return
        progress = post_in_thread(self.client, channel, thread_ts, thinking_message(self.lang)) if self.shows_progress else None
        message = self.render(
            what, lambda: answer_message(self.asker.ask(question, about=paper), lang=self.lang), self.lang
        )
        self.work.send(lambda: self._finish(channel, thread_ts, progress, message), f"an answer in {channel}")

    def _finish(self, channel: str, thread_ts: str | None, progress: str | None, message: Message) -> None:
        """The progress message becomes the answer; without one (or when the update fails), a new post."""
        if progress is not None and update_in_place(self.client, channel, progress, message):
            return
        post_in_thread(self.client, channel, thread_ts, message)

    # /papers ask and its share button (on the request's thread: only queue) ---------

    def command(self, ack: Ack, question: str, command: Mapping[str, Any]) -> None:
        """`/papers ask <question>`: the answer through the response_url, only to the asker, with Share."""
        url, user = command.get("response_url"), str(command.get("user_id") or "")
        what = f"/papers ask from {user}"
        if not question.strip():
            job: Callable[[], None] = lambda: self.work.send(
                lambda: self.deliver(url, ask_help(lang=self.lang), response_type="ephemeral"), what
            )
        else:
            if self._over_limit(user):
                notice = self._slow_down(user)
                ack(text=notice["text"], blocks=notice["blocks"], response_type="ephemeral")
                return

            def job() -> None:
                message = self.render(what, lambda: self.lookup.ask(question, share=True), self.lang)
                self.work.send(lambda: self.deliver(url, message, response_type="ephemeral"), what)

        if self.work.answers.submit(job, what):
            ack()
        else:
            busy = error_message("busy", lang=self.lang)
            ack(text=busy["text"], blocks=busy["blocks"], response_type="ephemeral")

    def share(self, ack: Ack, action: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        """*Share in channel* on an answer: asked again, posted for everyone, saying who shared it.

        The user id comes from Slack's payload (`body.user.id`), never from the value.
        """
        ack()
        user = str((body.get("user") or {}).get("id") or "")
        url = body.get("response_url")
        question = parse_answer_value(action.get("value"))
        what = f"answer share by {user}"
        if question is None:
            failed = error_message("share_failed", lang=self.lang)
            self._notice(lambda: self.deliver(url, failed, response_type="ephemeral", replace_original=False), what)
            return
        if self._over_limit(user):
            notice = self._slow_down(user)
            self._notice(lambda: self.deliver(url, notice, response_type="ephemeral", replace_original=False), what)
            return

        def job() -> None:
            message = self.render(
                what, lambda: answer_message(self.asker.ask(question), lang=self.lang, shared_by=user), self.lang
            )
            # The response_url posts for everyone, even where the bot is not a member.
            self.work.send(lambda: self.deliver(url, message, response_type="in_channel", replace_original=False), what)

        if not self.work.answers.submit(job, what):
            busy = error_message("busy", lang=self.lang)
            self._notice(lambda: self.deliver(url, busy, response_type="ephemeral", replace_original=False), what)

    def _over_limit(self, user: str) -> bool:
        verdict = self.limit.check(user)
        if verdict != "answer":
            log.info("not answering %s: over %d questions a minute", user, self.limit.limit)
        return verdict != "answer"

    def _slow_down(self, user: str) -> Message:
        return error_message("slow_down", lang=self.lang, n=self.limit.seconds_to_say(user))

    def _notice(self, job: Callable[[], None], what: str) -> None:
        if not self.work.notices.submit(job, f"notice for {what}"):
            log.error("every queue is full: %s got no notice", what)
