"""The weekly DM pass: once a week is posted, one DM per person with follows, exactly once.

For each recently posted week (`dm_weeks`), every person with follows (DMs
not muted) gets at most one DM: the week's papers that really match any of
their follows (`bot.follows.week_matches`, strict), best first, grouped by
follow, each linked to its thread in the channel. Nothing matches: no DM.
New papers indexed into the week later are added to that same DM
(`chat.update`), never a second one.

Exactly once, through the publisher's one mechanism (`bot.publisher.once`,
`bot.publisher.leases`), with the person's `dm_posts` rows as its intents:

1. Only the holder of the week's lease (`leases` row `dm|<week>`, renewed
   before every Slack write) sends its DMs; on PostgreSQL the pass also
   claims the week (`bot.store.locks.Claims`), so of three replicas one sends
   while the others leave it, and a dead holder's lease is taken over at once.
2. Before `chat.postMessage` the (user, week) row is committed `pending` with
   the DM channel (`bot.store.dms`); the message's metadata carries the row's
   id; Slack's ts is recorded right after.
3. Pending rows found at the start of a pass (a crash between post and
   record) are looked up in the DM's history by that metadata: found ones are
   adopted, the others were never sent and are sent again. An answer that is
   not a clear refusal (a 5xx, a dropped connection) gets the same look-up
   before any retry, never a blind re-send.
4. A refusal about one person (`user_not_found`, `cannot_dm_bot`, …) marks
   that row `failed` (tried again next pass) and the pass goes on; a refused
   token stops it. Writes are paced (`DM_INTERVAL` between any two) and 429s
   waited out with their Retry-After (`SlackCalls`).

A week whose pass finished with every DM settled is marked with the archive
version it saw (`state` key `dm_pass:<week>`): the next pass skips it until
the archive moves (new papers) or a follow is added.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import Engine, func, select, update

from bot.engagement import discussion
from bot.personal import follows
from bot.personal import records as personal
from bot.publisher.clock import RunClock
from bot.publisher.leases import Leases, default_holder
from bot.publisher.once import (
    MAX_ATTEMPTS,
    RECONCILE_MARGIN,
    ExactlyOnce,
    NoAnswer,
    NotSent,
    find_by_metadata,
)
from bot.publisher.slack_calls import AUTH_ERRORS, SlackCalls, SlackRefused, SlackUncertain
from bot.render.weekly_dm import PER_FOLLOW, FollowGroup, weekly_dm
from bot.search.engine import SearchEngine
from bot.store import dms as store
from bot.store.codec import content_hash
from bot.store.database import insert_ignoring_duplicates
from bot.store.marks import digest_marks
from bot.store.personal import follows as follows_table
from bot.store.schema import state
from bot.store.state import archive_version

log = logging.getLogger(__name__)

#: `event_type` of the metadata on every weekly DM.
DM_EVENT = "digest_bot_dm"
#: Seconds between any two DM writes (each DM is a channel of its own, so
#: Slack's per-channel pace does not space them; the workspace's limit does).
DM_INTERVAL = 0.5
#: Weeks whose digest was posted and began at most this long ago are DMed
#: (a backfill of old weeks sends no DMs).
DM_WINDOW = dt.timedelta(days=14)
#: Pages of a DM's history read back to find an interrupted DM.
FIND_PAGES = 20

Checkpoint = Callable[[str, store.DmRow | None], None]
"""Called at `after_intent`, `after_slack`, `after_record`, `after_uncertain`: tests raise
from it to crash the pass at exactly that point."""


@dataclass(slots=True)
class DmReport:
    """What a pass did: per week sent / adopted / updated, who had nothing, what failed."""

    weeks: list[str] = field(default_factory=list)
    sent: int = 0
    adopted: int = 0
    updated: int = 0
    nothing: int = 0
    busy: list[str] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok, "weeks": self.weeks, "sent": self.sent, "adopted": self.adopted,
            "updated": self.updated, "nothing": self.nothing, "busy": self.busy, "failed": self.failed,
            "error": self.error,
        }


class DmIntents:
    """A person's `dm_posts` rows as `bot.publisher.once` records them."""

    def __init__(
        self, engine: Engine, clock: Callable[[], dt.datetime], *, channel: str, papers: Sequence[str],
        content_hash: str,
    ) -> None:
        self.engine, self.clock = engine, clock
        self.channel, self.papers, self.content_hash = channel, papers, content_hash

    def posted(self, row: store.DmRow, ts: str, *, adopted: bool) -> None:
        store.mark_posted(self.engine, row.id, ts=ts, now=self.clock(), adopted=adopted)

    def failed(self, row: store.DmRow, error: str) -> None:
        store.mark_failed(self.engine, row.id, error=error, now=self.clock())

    def noted(self, row: store.DmRow, error: str) -> None:
        store.note_error(self.engine, row.id, error=error, now=self.clock())

    def retry(self, row: store.DmRow) -> store.DmRow | None:
        return store.retry_intent(
            self.engine, row, channel=self.channel, papers=self.papers, content_hash=self.content_hash,
            now=self.clock(),
        )


class _Stop(Exception):
    """The pass stops (a refused token, the lease lost, Slack out of reach)."""


def dm_weeks(engine: Engine, now: dt.datetime) -> list[dt.date]:
    """Weeks posted in some channel that began within `DM_WINDOW` of `now`, oldest first."""
    since = (now - DM_WINDOW).date()
    query = (
        select(digest_marks.c.week_start)
        .where(digest_marks.c.state == "posted", digest_marks.c.week_start >= since)
        .distinct()
        .order_by(digest_marks.c.week_start)
    )
    with engine.connect() as conn:
        return list(conn.scalars(query))


def _pass_key(week: dt.date) -> str:
    return f"dm_pass:{week.isoformat()}"


def _pass_mark(engine: Engine) -> str:
    """What a finished pass depends on: the archive version and the follows."""
    with engine.connect() as conn:
        version = archive_version(conn)
        newest = conn.execute(select(func.max(follows_table.c.id), func.count())).first()
    return json.dumps({"version": version, "follows": list(newest or ())})


def _done(engine: Engine, week: dt.date) -> str | None:
    with engine.connect() as conn:
        return conn.execute(select(state.c.value).where(state.c.key == _pass_key(week))).scalar()


def _mark_done(engine: Engine, week: dt.date, mark: str) -> None:
    with engine.begin() as conn:
        if conn.execute(update(state).where(state.c.key == _pass_key(week)).values(value=mark)).rowcount == 0:
            insert_ignoring_duplicates(conn, state, [{"key": _pass_key(week), "value": mark}])


def dm_metadata(row: store.DmRow) -> dict[str, Any]:
    payload = {"dm_id": row.id, "user": row.user_id, "week": row.week_start.isoformat()}
    return {"event_type": DM_EVENT, "event_payload": payload}


def describes(message: Mapping[str, Any], row: store.DmRow) -> bool:
    """Whether a message in a DM is the one sent for this row (its metadata names it)."""
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") if isinstance(metadata, Mapping) else None
    return (
        isinstance(payload, Mapping)
        and metadata.get("event_type") == DM_EVENT
        and payload.get("dm_id") == row.id
        and payload.get("user") == row.user_id
        and payload.get("week") == row.week_start.isoformat()
    )


def send_weekly_dms(
    engine: Engine,
    client: WebClient,
    search: SearchEngine,
    *,
    now: dt.datetime,
    lang: str = "en",
    weeks: Sequence[dt.date] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    min_interval: float = DM_INTERVAL,
    holder: str | None = None,
    checkpoint: Checkpoint | None = None,
) -> DmReport:
    """DM every person with follows about each due week (`dm_weeks`, or `weeks`); never
    sends one person two DMs for a week. Never raises for Slack's sake: see the report."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    clock = RunClock.starting(now, monotonic=monotonic, sleep=sleep)
    run = _Pass(engine, SlackCalls.paced(client, clock, min_interval=min_interval), search, lang=lang,
                clock=clock, holder=holder or default_holder(), checkpoint=checkpoint)
    try:
        for week in weeks if weeks is not None else dm_weeks(engine, now):
            run.week(week)
    except _Stop as stop:
        run.report.error = str(stop)
        log.error("weekly DMs stopped: %s", stop)
    finally:
        run.leases.close()
    report = run.report
    if report.sent or report.adopted or report.updated or report.failed:
        log.info("weekly DMs: %d sent, %d adopted, %d updated, %d failed", report.sent, report.adopted, report.updated, len(report.failed))
    return report


class _Pass:
    def __init__(
        self, engine: Engine, slack: SlackCalls, search: SearchEngine, *, lang: str, clock: RunClock,
        holder: str, checkpoint: Checkpoint | None,
    ) -> None:
        self.engine, self.slack, self.search, self.lang = engine, slack, search, lang
        self.sleep, self.monotonic, self.holder, self.checkpoint = clock.sleep, clock.monotonic, holder, checkpoint
        self.clock = clock
        self.leases = Leases(engine, holder, self.clock)
        self.once = ExactlyOnce(clock.sleep, checkpoint, log)
        self.report = DmReport()
        self._last_write: float | None = None  # monotonic time of the last DM write

    # ---- the week's lease and claim ------------------------------------------------

    def _take(self, week: dt.date) -> bool:
        if not self.leases.claim(f"dm:{week.isoformat()}"):
            return False
        taken = self.leases.take_key(f"dm|{week.isoformat()}")
        if taken is False:
            self.leases.release_claim()
            return False
        if isinstance(taken, str):
            log.warning("took over the weekly DMs of %s from %s, which is no longer running", week, taken)
        return True

    def _renew(self) -> None:
        """Before every Slack write: still ours?"""
        if not self.leases.holds():
            raise _Stop("the weekly DM lease was lost (another process took it over)")

    def _release(self) -> None:
        self.leases.release()
        self.leases.release_claim()

    # ---- one week ------------------------------------------------------------------

    def week(self, week: dt.date) -> None:
        mark = _pass_mark(self.engine)
        if _done(self.engine, week) == mark:
            return  # nothing new since every DM of this week was settled
        if not self._take(week):
            self.report.busy.append(week.isoformat())
            log.info("the weekly DMs of %s are being sent by another process; left to it", week)
            return
        try:
            self.report.weeks.append(week.isoformat())
            self._reconcile(week)
            settled = self._send_all(week)
            if settled:
                _mark_done(self.engine, week, mark)
        finally:
            self._release()

    def _reconcile(self, week: dt.date) -> None:
        """Pending rows left by a pass that stopped: adopted when Slack has them, else failed."""
        for row in store.week_rows(self.engine, week).values():
            if row.state != "pending":
                continue
            ts = self._find(row) if row.channel else None
            if ts is None:
                store.mark_failed(self.engine, row.id, error="interrupted before Slack had it", now=self.clock())
            else:
                store.mark_posted(self.engine, row.id, ts=ts, now=self.clock(), adopted=True)
                self.report.adopted += 1
                log.info("weekly DM of %s for %s: adopted message %s of an interrupted send", row.user_id, week, ts)

    def _find(self, row: store.DmRow) -> str | None:
        """The ts of the DM carrying this row's id in its metadata, if Slack has it."""
        assert row.channel is not None
        channel, oldest = str(row.channel), row.attempted_at - RECONCILE_MARGIN
        found = find_by_metadata(
            lambda cursor: self._read(functools.partial(self.slack.history_page, channel, oldest, cursor)),
            lambda message: row.id if describes(message, row) else None,
            (row.id,),
            max_pages=FIND_PAGES,
        )
        return found.get(row.id)

    def _read(self, call: Callable[[], Any]) -> Any:
        """A read, retried while Slack does not answer; a refused token stops the pass."""
        try:
            return self.once.repeat(call)
        except SlackRefused as err:
            if err.error in AUTH_ERRORS:
                raise _Stop(f"Slack refused the token ({err.error})") from err
            raise
        except SlackUncertain as err:
            raise _Stop(f"Slack did not answer: {err.detail}") from err

    def _groups(self, week: dt.date, queries: Sequence[str], cache: dict[str, FollowGroup]) -> list[FollowGroup]:
        groups = []
        for query in queries:
            group = cache.get(query)
            if group is None:
                response = follows.week_matches(self.search, query, week, limit=PER_FOLLOW * 2)
                group = cache[query] = FollowGroup(query, tuple(h.paper for h in response.hits), response.total)
            if group.papers:
                groups.append(group)
        return groups  # in the order the person followed them; a paper stands under the first

    def _send_all(self, week: dt.date) -> bool:
        """Every person's DM for the week; True when all are settled (none left to retry).

        Each person's follows, mute and DM row are read when their turn comes,
        under their `person_mutex` held until their DM is recorded: the pass
        takes minutes, and whoever unfollowed, muted or said "forget me" in the
        meantime is taken at their word (forget me waits for a DM already on
        its way, and then deletes it with the rest).
        """
        cache: dict[str, FollowGroup] = {}
        settled = True
        for user in personal.followers(self.engine):
            self._pace()
            with personal.person_mutex(self.engine, user):
                settled &= self._person(user, week, cache)
        return settled

    def _pace(self) -> None:
        """Wait out the DM pace before taking the next person's mutex, not while holding it."""
        if self._last_write is not None:
            wait = self.slack.min_interval - (self.monotonic() - self._last_write)
            if wait > 0:
                self.sleep(wait)

    def _person(self, user: str, week: dt.date, cache: dict[str, FollowGroup]) -> bool:
        """One person's DM for the week, from their follows as they are now; True when settled."""
        user_follows = personal.dm_follows(self.engine, user)
        if not user_follows:
            return True  # unfollowed everything, muted, or forgotten since the pass began
        groups = self._groups(week, [f.query for f in user_follows], cache)
        row = store.user_week_row(self.engine, user, week)
        if not groups:
            if row is None:
                self.report.nothing += 1
            return True
        ids = list(dict.fromkeys(p.arxiv_id for g in groups for p in g.papers))
        threads = discussion.threads_for(self.engine, ids)
        rendered = weekly_dm(week, groups, threads=threads, lang=self.lang)
        if rendered is None:
            return True
        message, papers = rendered
        hash_ = content_hash(message)
        if row is not None and row.posted:
            if row.content_hash != hash_ and row.channel and row.ts and set(papers) - set(row.papers):
                self._update(row, message, papers, hash_)
            return True
        if row is not None and row.state == "failed" and row.attempts >= MAX_ATTEMPTS:
            return True  # refused again and again: left (`status` shows it)
        return self._send(user, week, row, message, papers, hash_)

    def _send(
        self, user: str, week: dt.date, row: store.DmRow | None, message: dict[str, Any],
        papers: Sequence[str], hash_: str,
    ) -> bool:
        """One person's DM exactly once; True when it is settled (sent or adopted)."""
        self._renew()
        try:
            channel = self._dm_channel(user)
        except SlackRefused as err:
            self._failed(user, week, err.error)
            return True  # a refusal about this person (gone, a bot): asking again changes nothing
        if row is None:
            row = store.create_intent(
                self.engine, user_id=user, week=week, channel=channel, papers=papers, content_hash=hash_, now=self.clock()
            )
        else:
            row = store.retry_intent(self.engine, row, channel=channel, papers=papers, content_hash=hash_, now=self.clock())
        if row is None:
            return True  # another process took it: theirs now
        try:
            sent = self.once.post(
                row,
                DmIntents(self.engine, self.clock, channel=channel, papers=papers, content_hash=hash_),
                send=lambda r: self._wrote(
                    functools.partial(self.slack.post, channel, message, dm_metadata(r), pace="dms")
                ),
                find=self._find,
                what=f"weekly DM to {user}",
            )
        except NotSent as err:
            error = err.refusal.error
            if error in AUTH_ERRORS:
                raise _Stop(f"Slack refused the token ({error})") from err.refusal
            if error in ("channel_not_found", "not_in_channel", "is_archived"):
                personal.set_dm_channel(self.engine, user, None, now=self.clock())  # ask again next time
            self.report.failed.append({"user": user, "week": week.isoformat(), "error": error})
            log.warning("weekly DM to %s for %s refused: %s", user, week, error)
            return False
        except NoAnswer as err:
            raise _Stop(f"Slack did not answer: {err.detail}") from err
        if sent is not None:
            if sent.adopted:
                self.report.adopted += 1
            else:
                self.report.sent += 1
        return True

    def _wrote(self, call: Callable[[], Any]) -> Any:
        """A DM write (post or update), timed for `_pace`."""
        try:
            return call()
        finally:
            self._last_write = self.monotonic()

    def _failed(self, user: str, week: dt.date, error: str) -> None:
        if error in AUTH_ERRORS:
            raise _Stop(f"Slack refused the token ({error})")
        self.report.failed.append({"user": user, "week": week.isoformat(), "error": error})
        log.warning("no weekly DM to %s for %s: conversations.open refused (%s)", user, week, error)

    def _dm_channel(self, user: str) -> str:
        known = personal.person(self.engine, user).dm_channel
        if known:
            return known
        try:
            channel: str = self.once.repeat(functools.partial(self.slack.open_dm, user))  # safe to repeat
        except SlackUncertain as err:
            raise _Stop(f"Slack did not answer: {err.detail}") from err
        personal.set_dm_channel(self.engine, user, channel, now=self.clock())
        return channel

    def _update(self, row: store.DmRow, message: dict[str, Any], papers: Sequence[str], hash_: str) -> None:
        """New papers for a DM already sent: the same DM, brought up to date (safe to repeat)."""
        assert row.channel is not None and row.ts is not None
        self._renew()
        update = functools.partial(self.slack.update, row.channel, row.ts, message, dm_metadata(row), pace="dms")
        try:
            self.once.repeat(functools.partial(self._wrote, update))
        except SlackRefused as err:
            if err.error in AUTH_ERRORS:
                raise _Stop(f"Slack refused the token ({err.error})") from err
            store.note_error(self.engine, row.id, error=err.error, now=self.clock())
            store.record_update(self.engine, row.id, papers=papers, content_hash=hash_, now=self.clock())
            return
        except SlackUncertain as err:
            raise _Stop(f"Slack did not answer: {err.detail}") from err
        store.record_update(self.engine, row.id, papers=papers, content_hash=hash_, now=self.clock())
        self.report.updated += 1
