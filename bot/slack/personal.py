"""The personal layer's listeners: a person's `/papers` commands, Save / Follow buttons,
reactions as votes, and the Home tab.

Wired by `bot.slack.app.build_app` (`register`), with the same rules as every
listener there: acknowledge on the request's own path, queue the work. Reads
(a follow's check, a list, the Home tab) go on the answers queue, writes
(follow, save, forget, a vote) on the writes queue, Slack calls (a
response_url, an upload) on the deliveries queue, Home tab refreshes on the
home queue (`HomeTabs`: the newest per person, paced, rate limits waited out
there and nowhere else); a full
queue answers "busy, try again" (a command's acknowledgement says it, a
reaction event is answered 503 so Slack delivers it again). Everything a
person does here is answered to that person alone: ephemeral messages, their
DM, their Home tab.
"""

from __future__ import annotations

import http.client
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import Ack, App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from bot.archive import parse_arxiv_id
from bot.engagement import votes
from bot.lookup import PERSONAL_KINDS, Lookup, parse_command
from bot.personal import records
from bot.personal.answers import PersonalLookup
from bot.render import actions as act
from bot.render.blocks import Message
from bot.render.messages import error_message
from bot.render.personal import notice
from bot.slack import files
from bot.slack.client import rate_limit_wait, without_rate_limit_retries
from bot.slack.shapes import is_slack_ts
from bot.slack.work import RateLimited, Workers

log = logging.getLogger(__name__)

Deliver = Callable[..., None]
Render = Callable[[str, Callable[[], Message | None], str], Message]

#: The most digits a follow id read from a button value may have.
MAX_ID_DIGITS = 18

#: Words that turn the weekly DM off / on after `/papers follow`.
_OFF = ("off", "mute", "stop", "オフ", "停止")
_ON = ("on", "unmute", "オン", "再開")


class HomeTabs:
    """Home tab refreshes: rendered and published on the home queue, the newest per person.

    Every refresh (an open, a click in the tab, forget me) goes to
    `Workers.home`, where a person's refresh waiting replaces any older one and
    the tab is rendered when its turn comes (the newest data). `views.publish`
    goes through a client that raises a 429 at once: the home queue's own
    thread waits out `Retry-After` (`RateLimited`), never a delivery thread a
    `/papers` answer needs. The visit is recorded (writes queue) after a tab
    opened by the person is published; never after `forgotten`.
    """

    def __init__(self, people: PersonalLookup, client: WebClient, work: Workers, engine: Engine, *, now: Callable[[], Any]) -> None:
        self.people, self.work, self.engine, self.now = people, work, engine, now
        self.client = without_rate_limit_retries(client)
        self._lock = threading.Lock()
        self._opened: set[str] = set()
        self._forgets: dict[str, int] = {}

    def refresh(self, user: str, *, visit: bool = False) -> None:
        """Queue a refresh of `user`'s tab (`visit`: they opened it: record the visit once published)."""
        what = f"Home tab of {user}"
        if visit:
            with self._lock:
                self._opened.add(user)
        if not self.work.home.submit(user, lambda: self._publish(user, what), what):
            log.warning("Home tab refreshes are backed up: the %s is not refreshed", what)

    def forgotten(self, user: str) -> None:
        """`forget me` is done (called from the writes queue): republish an empty tab, record no visit."""
        with self._lock:
            self._opened.discard(user)
            self._forgets[user] = self._forgets.get(user, 0) + 1
        self.refresh(user)

    def _publish(self, user: str, what: str) -> None:
        try:
            view = self.people.home(user)
        except Exception:
            log.exception("could not render the %s", what)
            return
        try:
            self.client.views_publish(user_id=user, view=view)
        except SlackApiError as err:
            wait = rate_limit_wait(err)
            if wait is not None:
                raise RateLimited(wait, what) from None
            log.warning("could not publish the %s: %s", what, err.response.get("error"))
            return
        except (OSError, http.client.HTTPException) as err:
            log.warning("could not publish the %s: %s", what, err)
            return
        with self._lock:
            visited = user in self._opened
            self._opened.discard(user)
            forgets = self._forgets.get(user, 0)
        if visited and not self.work.writes.submit(lambda: self._record_visit(user, forgets), f"visit of {user}"):
            log.warning("store writes are backed up: the visit of %s is not recorded", user)

    def _record_visit(self, user: str, forgets: int) -> None:
        """On the writes queue, where forget me also runs: a visit seen before a forget is not written after it."""
        with self._lock:
            if self._forgets.get(user, 0) != forgets:
                return
        records.set_home_seen(self.engine, user, now=self.now())


class PersonalCommands:
    """Routes a person's own `/papers` commands to their queues (`handle`)."""

    def __init__(
        self, people: PersonalLookup, work: Workers, deliver: Deliver, render: Render, client: WebClient, lang: str,
        home: HomeTabs | None = None,
    ) -> None:
        self.people, self.work, self.deliver, self.render, self.client, self.lang = people, work, deliver, render, client, lang
        self.home = home

    # ---- plumbing ------------------------------------------------------------------

    def _answer(self, url: str | None, make: Callable[[], Message | None], what: str, *, replace: bool = False) -> Callable[[], None]:
        """A job: work the answer out, then hand its delivery to the deliveries queue."""

        def job() -> None:
            message = self.render(what, make, self.lang)
            self.work.send(lambda: self.deliver(url, message, response_type="ephemeral", replace_original=replace), what)

        return job

    def _then_write(self, url: str | None, write: Callable[[], Message], what: str, *, replace: bool = False) -> None:
        """From a read job: queue the write; a full write queue is said, not dropped."""
        job = self._answer(url, write, what, replace=replace)
        if not self.work.writes.submit(job, what):
            busy = error_message("busy", lang=self.lang)
            self.work.send(lambda: self.deliver(url, busy, response_type="ephemeral", replace_original=False), what)

    # ---- /papers -------------------------------------------------------------------

    def handle(self, ack: Ack, command: Mapping[str, Any]) -> bool:
        """Take `/papers` when it is a personal command (True); acknowledged here either way."""
        parsed = parse_command(command.get("text"))
        if parsed.kind not in PERSONAL_KINDS:
            return False
        user = str(command.get("user_id") or "")
        url = command.get("response_url")
        what = f"/papers {parsed.kind} from {user}"
        arg = parsed.arg.strip()
        word = arg.casefold()
        people = self.people
        queue = self.work.answers
        job: Callable[[], None]
        if not user:
            job = self._answer(url, lambda: notice("personal_needs_user", lang=self.lang), what)
        elif parsed.kind == "follow" and word in _OFF + _ON:
            queue, job = self.work.writes, self._answer(url, lambda: people.set_dms(user, word in _ON), what)
        elif parsed.kind == "follow":

            def check() -> None:
                plan = people.plan_follow(user, arg)
                if plan.answer is not None:
                    answer = plan.answer
                    self.work.send(lambda: self.deliver(url, answer, response_type="ephemeral"), what)
                else:
                    self._then_write(url, lambda: people.save_follow(user, plan), what)

            job = check
        elif parsed.kind == "following" or (parsed.kind == "unfollow" and not arg):
            job = self._answer(url, lambda: people.following(user), what)
        elif parsed.kind == "unfollow":
            queue, job = self.work.writes, self._answer(url, lambda: people.unfollow(user, arg), what)
        elif parsed.kind == "saved" and word in ("bibtex", "bib", "export"):
            job = self._bibtex(user, url, what)
        elif parsed.kind == "saved" and arg and (arxiv_id := parse_arxiv_id(arg)):
            queue, job = self.work.writes, self._answer(url, lambda: people.save(user, arxiv_id), what)
        elif parsed.kind == "saved":
            job = self._answer(url, lambda: people.saved(user), what)
        else:  # forget

            def forget() -> Message:
                answer = people.forget(user, arg)
                if self.home is not None:  # the Home tab showed their follows and saved papers: republish it
                    self.home.forgotten(user)
                return answer

            queue, job = self.work.writes, self._answer(url, forget, what)
        if queue.submit(job, what):
            ack()
        else:
            busy = error_message("busy", lang=self.lang)
            ack(text=busy["text"], blocks=busy["blocks"], response_type="ephemeral")
        return True

    def _bibtex(self, user: str, url: str | None, what: str) -> Callable[[], None]:
        """Read the reading list as BibTeX, then upload it to the person's DM (a delivery);
        where the upload fails, the BibTeX comes as text in the answer."""

        def job() -> None:
            try:
                text, count = self.people.bibtex(user)
            except Exception:
                log.exception("could not read the saved papers of %s", user)
                failed = error_message("unknown", lang=self.lang)
                self.work.send(lambda: self.deliver(url, failed, response_type="ephemeral"), what)
                return
            if count == 0:
                none = notice("bibtex_none", lang=self.lang)
                self.work.send(lambda: self.deliver(url, none, response_type="ephemeral"), what)
                return
            self.work.send(lambda: self._upload(user, url, text, count), what)

        return job

    def _upload(self, user: str, url: str | None, text: str, count: int) -> None:
        from bot.i18n import t

        error = files.upload_to_dm(
            self.client,
            user,
            content=text.encode("utf-8"),
            filename="saved-papers.bib",
            title=t(self.lang, "bibtex_title"),
            initial_comment=t(self.lang, "bibtex_comment", n=count),
        )
        if error is None:
            answer = notice("bibtex_uploaded", lang=self.lang, n=count)
        else:
            log.warning("could not upload the BibTeX of %s (%s): sending it as text", user, error)
            answer = self.people.bibtex_as_text(text, count)
        self.deliver(url, answer, response_type="ephemeral")

def register(
    app: App,
    *,
    lookup: Lookup,
    engine: Engine,
    client: WebClient,
    work: Workers,
    lang: str,
    bot_user_id: str | None,
    deliver: Deliver,
    render: Render,
) -> PersonalCommands:
    """Add the personal layer's listeners to `app`; the `/papers` listener calls `handle`."""
    people = PersonalLookup(lookup)
    tabs = HomeTabs(people, client, work, engine, now=lookup.now)
    commands = PersonalCommands(people, work, deliver, render, client, lang, tabs)

    publish_home = tabs.refresh

    @app.event("app_home_opened")
    def home_opened(event: Mapping[str, Any]) -> None:
        user = event.get("user")
        if event.get("tab", "home") != "home" or not isinstance(user, str) or not user or user == bot_user_id:
            return
        publish_home(user, visit=True)

    def on_reaction(event: Mapping[str, Any], added: bool) -> BoltResponse | None:
        item = event.get("item")
        if not isinstance(item, dict) or item.get("type") != "message":
            return None
        if not isinstance(item.get("channel"), str) or not is_slack_ts(item.get("ts")) or not isinstance(event.get("user"), str):
            return None  # not shaped like Slack's (HTTP mode refuses it before; Socket Mode lands here)
        if event.get("user") == bot_user_id:
            return None
        if bot_user_id is not None and event.get("item_user") not in (None, bot_user_id):
            return None  # not the bot's message: nothing to count, no store write queued
        fields = {
            "channel": str(item["channel"]),
            "ts": str(item["ts"]),
            "user": event.get("user"),
            "reaction": event.get("reaction"),
            "added": added,
            "bot_user_id": bot_user_id,
            "item_user": event.get("item_user"),
            "event_ts": event.get("event_ts"),
        }
        what = f"reaction {fields['reaction']} on {fields['ts']} in {fields['channel']}"
        if not work.writes.submit(lambda: _count(fields), what):
            log.warning("store writes are backed up: asking Slack to deliver %s again later", what)
            return BoltResponse(status=503, body="busy: deliver this event again later")
        return None

    def _count(fields: Mapping[str, Any]) -> None:
        try:
            votes.record_reaction(engine, **fields)
        except DBAPIError as err:  # a lock held too long, the store gone: logged, the worker lives on
            log.error("could not count a reaction on %s in %s: %s", fields.get("ts"), fields.get("channel"), err)

    @app.event("reaction_added")
    def reaction_added(event: Mapping[str, Any]) -> BoltResponse | None:
        return on_reaction(event, True)

    @app.event("reaction_removed")
    def reaction_removed(event: Mapping[str, Any]) -> BoltResponse | None:
        return on_reaction(event, False)

    # ---- buttons -------------------------------------------------------------------

    def clicked(body: Mapping[str, Any]) -> tuple[str, str | None, bool]:
        """(who clicked, the response_url, whether the click came from the Home tab)."""
        user = str((body.get("user") or {}).get("id") or "")
        home = (body.get("container") or {}).get("type") == "view" or (body.get("view") or {}).get("type") == "home"
        return user, body.get("response_url"), home

    def write_click(ack: Ack, body: Mapping[str, Any], write: Callable[[str], Message], what: str, *, replace: bool = False) -> None:
        ack()
        user, url, home = clicked(body)
        if not user:
            return

        def job() -> None:
            message = render(what, lambda: write(user), lang)
            if home:
                publish_home(user)
            else:
                work.send(lambda: deliver(url, message, response_type="ephemeral", replace_original=replace), what)

        if not work.writes.submit(job, what):
            busy = error_message("busy", lang=lang)
            if not home:
                work.send(lambda: deliver(url, busy, response_type="ephemeral", replace_original=False), what)

    @app.action(act.action_pattern(act.PAPER_SAVE))
    def save(ack: Ack, action: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        arxiv_id = str(action.get("value") or "")
        write_click(ack, body, lambda user: people.save(user, arxiv_id), f"save of {arxiv_id}")

    @app.action(act.action_pattern(act.PAPER_UNSAVE))
    def unsave(ack: Ack, action: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        arxiv_id = str(action.get("value") or "")
        write_click(ack, body, lambda user: people.unsave(user, arxiv_id), f"removal of {arxiv_id}")

    @app.action(act.action_pattern(act.UNFOLLOW))
    def unfollow(ack: Ack, action: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        value = str(action.get("value") or "")
        # A follow's id is a row id: a longer number was not made by the bot (and overflows SQLite's integers).
        follow_id = int(value) if value.isdigit() and len(value) <= MAX_ID_DIGITS else -1
        write_click(ack, body, lambda user: people.unfollow_id(user, follow_id), f"unfollow {value}", replace=True)

    @app.action(act.action_pattern(act.DMS_TOGGLE))
    def dms_toggle(ack: Ack, action: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        on = action.get("value") == "on"
        write_click(ack, body, lambda user: people.set_dms(user, on), "weekly DM switch")

    @app.action(act.action_pattern(act.FOLLOW))
    def follow(ack: Ack, action: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        ack()
        user, url, home = clicked(body)
        query = act.parse_follow_value(action.get("value")) or ""
        anyway = str(action.get("action_id") or "").endswith(":anyway")
        what = f"follow button of {user}"
        if not user or not query:
            return

        def check() -> None:
            plan = people.follow_anyway(user, query) if anyway else people.plan_follow(user, query)

            def write() -> None:
                message = render(what, lambda: people.save_follow(user, plan), lang)
                if home:
                    publish_home(user)
                else:
                    work.send(lambda: deliver(url, message, response_type="ephemeral", replace_original=False), what)

            if plan.answer is not None and not home:
                answer = plan.answer
                work.send(lambda: deliver(url, answer, response_type="ephemeral", replace_original=False), what)
            elif plan.answer is None and not work.writes.submit(write, what):
                log.warning("store writes are backed up: %s not saved", what)

        if not work.answers.submit(check, what) and not home:
            busy = error_message("busy", lang=lang)
            work.send(lambda: deliver(url, busy, response_type="ephemeral", replace_original=False), what)

    @app.action(act.action_pattern(act.SAVED_MORE))
    def saved_more(ack: Ack, action: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        ack()
        user, url, _home = clicked(body)
        offset = act.parse_saved_value(action.get("value")) or 0
        what = f"saved papers of {user}"
        if user and not work.answers.submit(commands._answer(url, lambda: people.saved(user, offset), what, replace=True), what):
            busy = error_message("busy", lang=lang)
            work.send(lambda: deliver(url, busy, response_type="ephemeral", replace_original=False), what)

    return commands
