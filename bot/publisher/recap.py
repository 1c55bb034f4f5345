"""The weekly recap: one message per channel and digest week, exactly once, its chart in its thread.

Posted once a week's digests are all posted in a channel (or on
DIGEST_RECAP_SCHEDULE), with the same machinery and guarantees as a digest
(`bot.publisher`): the channel's claim (PostgreSQL), a lease per channel and
week (`Target` with slug `recap`), a `posts` row (kind `recap`, key
`recap:<week>`) committed as `pending` before `chat.postMessage`, the row id
in the message's metadata, interrupted posts looked up in the channel's
history before anything is posted again, and a fresh store adopting a recap
already in the channel.

The chart is then uploaded into the recap's thread (`files_upload_v2`). An
upload carries no metadata, so it is recorded the same way (kind `chart`,
key `chart:<week>`, the file id as its ts) and an interrupted upload is
looked for in the thread by its file name before it is uploaded again.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.config import Settings
from bot.publisher.clock import RunClock
from bot.publisher.leases import Leases, default_holder
from bot.publisher.messages import digest_payload
from bot.publisher.plan import Target, selected_topics
from bot.publisher.posting import Checkpoint, Writer
from bot.publisher.report import PublishReport
from bot.publisher.slack_calls import MIN_INTERVAL, SlackCalls, SlackRefused, SlackUncertain
from bot.publisher.stops import ChannelStop, RunStop
from bot.store import Catalog
from bot.store import marks as mark_store
from bot.store import posts as store
from bot.store.codec import content_hash
from bot.store.posts import PostRow, chart_key, recap_key
from bot.weekly.recap import VotesSource, build_recap

log = logging.getLogger("bot.publisher")

#: The `slug` of recap rows and leases (no topic is called that: slugs are the archive's folders).
RECAP_SLUG = "recap"
#: A week that ended longer ago than this gets no recap (a bot back from weeks away
#: recaps the newest week, not every week it missed).
MAX_AGE = dt.timedelta(days=14)


@dataclass(slots=True)
class ChannelRecap:
    """What the recap run did in one channel."""

    channel: str
    week: dt.date | None = None
    posted: bool = False
    adopted: bool = False
    chart: str | None = None  # "uploaded", "found", "already", "failed"
    busy: bool = False
    error: str | None = None
    problem: str | None = None
    reason: str | None = None  # why there was no recap to post
    #: The newest ended week, when it is over MAX_AGE old: no recap for it (logged by `run`).
    too_old: dt.date | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "week": self.week.isoformat() if self.week else None,
            "posted": self.posted,
            "adopted": self.adopted,
            "chart": self.chart,
            "busy": self.busy,
            "error": self.error,
            "problem": self.problem,
            "reason": self.reason,
        }


@dataclass(slots=True)
class RecapReport:
    channels: list[ChannelRecap] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.error is None for c in self.channels)

    @property
    def posted(self) -> int:
        return sum(c.posted for c in self.channels)

    @property
    def worth_retrying(self) -> bool:
        return any(c.busy or c.error in ("unreachable", "ratelimited", "lease_lost") for c in self.channels)

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "posted": self.posted, "channels": [c.as_dict() for c in self.channels]}


def chart_filename(channel: str, week: dt.date) -> str:
    """The uploaded chart's file name: how an interrupted upload is recognised in the thread."""
    return f"digest-bot-trends-{channel}-{week.isoformat()}.png"


def channel_topics(settings: Settings, known: Sequence[str]) -> dict[str, list[str]]:
    """channel -> the topics posted there (as the publisher posts them)."""
    out: dict[str, list[str]] = {}
    for slug in selected_topics(settings, known):
        channel = settings.channel_for(slug)
        if channel:
            out.setdefault(channel, []).append(slug)
    return out


def due_week(
    engine: Engine, catalog: Catalog, channel: str, slugs: Sequence[str], now: dt.datetime, settings: Settings
) -> tuple[dt.date | None, str]:
    """The digest week to recap in `channel` now, or None and why not.

    The newest week that has ended and that holds a digest of the channel's
    topics, once every such digest is posted there; nothing older than MAX_AGE.
    """
    today = now.astimezone(settings.tz).date()
    for start, end in catalog.week_spans()[:4]:
        if end >= today:
            continue  # not over yet: its digests are not due
        if today - end > MAX_AGE:
            return None, f"the newest week that has ended ({start}) is over {MAX_AGE.days} days old"
        present = sorted(
            {slug for slug, _, _ in catalog.digest_counts(start, start, include_aggregate=True) if slug in slugs}
        )
        if not present:
            continue
        marks = [mark_store.marks(engine, channel, slug).get(start) for slug in present]
        if all(m is not None and m.state == "posted" for m in marks):
            return start, ""
        return None, f"the digests of the week of {start} are not all posted in {channel} yet"
    return None, "no digest week has ended recently"


def too_old_week(catalog: Catalog, now: dt.datetime, settings: Settings) -> dt.date | None:
    """The newest digest week that has ended, if it ended over MAX_AGE ago: `due_week`
    recaps nothing then, and `run` says which week and why (`ChannelRecap.too_old`)."""
    today = now.astimezone(settings.tz).date()
    for start, end in catalog.week_spans()[:4]:
        if end < today:
            return start if today - end > MAX_AGE else None
    return None


def post_recaps(
    engine: Engine,
    client: WebClient,
    *,
    settings: Settings,
    now: dt.datetime,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    min_interval: float = MIN_INTERVAL,
    holder: str | None = None,
    checkpoint: Checkpoint | None = None,
    week: dt.date | None = None,
    votes: VotesSource | None = None,
) -> RecapReport:
    """Post each channel's recap that is due (or that of `week`), with its chart."""
    clock = RunClock.starting(now, monotonic=monotonic, sleep=sleep)
    catalog = Catalog(engine)
    slack = SlackCalls.paced(client, clock, min_interval=min_interval)
    leases = Leases(engine, holder or default_holder(), clock)
    report = RecapReport()
    known = [s.topic.slug for s in catalog.topics()]
    try:
        for channel, slugs in channel_topics(settings, known).items():
            result = ChannelRecap(channel)
            report.channels.append(result)
            if not leases.claim_channel(channel):
                result.busy = True
                continue
            try:
                _Channel(engine, catalog, slack, leases, settings, clock, sleep, checkpoint, votes).run(
                    result, slugs, week, now
                )
            except ChannelStop as stop:
                log.error("%s", stop.problem)
                result.error, result.problem = stop.error, stop.problem
                if isinstance(stop, RunStop):
                    break
            finally:
                leases.release()
                leases.release_channel()
    finally:
        leases.close()
    return report


class _Channel:
    """One channel's recap: settle, adopt or post the message, then the chart."""

    def __init__(
        self,
        engine: Engine,
        catalog: Catalog,
        slack: SlackCalls,
        leases: Leases,
        settings: Settings,
        clock: Callable[[], dt.datetime],
        sleep: Callable[[float], None],
        checkpoint: Checkpoint | None,
        votes: VotesSource | None,
    ) -> None:
        self.engine, self.catalog, self.slack, self.leases = engine, catalog, slack, leases
        self.settings, self.clock, self.checkpoint, self.votes = settings, clock, checkpoint, votes
        self.report = PublishReport(started_at=clock())
        self.writer = Writer(
            engine, slack, self.report, clock=clock, sleep=sleep, renew=leases.renew, checkpoint=checkpoint
        )

    def run(self, result: ChannelRecap, slugs: Sequence[str], week: dt.date | None, now: dt.datetime) -> None:
        channel = result.channel
        if week is None:
            week, reason = due_week(self.engine, self.catalog, channel, slugs, now, self.settings)
            if week is None:
                result.reason = reason
                result.too_old = too_old_week(self.catalog, now, self.settings)
                return
        result.week = week
        target = Target(channel, RECAP_SLUG, week, "schedule")
        if not self.leases.take(target):
            result.busy = True
            log.info("the recap of %s in %s is being posted by another process; left to it", week, channel)
            return
        rows, adopted = self._settle(target)
        result.adopted = adopted
        recap_row = rows.get(recap_key(week))
        if recap_row is None:
            recap_row = self._adopt(target)
            result.adopted = recap_row is not None
        if recap_row is None or not recap_row.posted:
            recap = build_recap(
                self.engine, self.catalog, channel=channel, week_start=week, slugs=slugs, tz=self.settings.tz,
                votes=self.votes,
            )
            if recap is None:
                result.reason = f"the store has no digest of the week of {week}"
                return
            from bot.render.recap import recap_message

            message = recap_message(recap, lang=self.settings.lang)
            posted = self.writer.post(
                target, self.report.channel(channel), "recap", recap_key(week), None, recap_row, message,
                content_hash(message),
            )
            if posted is None:
                result.busy = True
                return
            recap_row = posted
            result.posted = self.report.channel(channel).posted > 0
            result.adopted = result.adopted or self.report.channel(channel).adopted > 0
            log.info("posted the recap of the week of %s in %s", week, channel)
        result.chart = self._chart(target, recap_row, rows.get(chart_key(week)), slugs)

    # ---- the message --------------------------------------------------------------

    def _settle(self, target: Target) -> tuple[dict[str, PostRow], bool]:
        """An interrupted recap post: found in the channel (adopted) or `failed` (posted again)."""
        own = store.digest_rows(self.engine, target.channel, RECAP_SLUG, target.week_start)
        pending = [row for row in own if row.state == "pending" and row.kind == "recap"]
        found = self.writer._find(target, pending) if pending else {}
        for row in pending:
            ts = found.get(row.id)
            if ts is None:
                store.mark_failed(self.engine, row.id, error="interrupted before Slack had it", now=self.clock())
            else:
                store.mark_posted(self.engine, row.id, ts=ts, now=self.clock(), adopted=True)
                log.info("the recap of %s in %s: adopted message %s of an interrupted post", target.week_start,
                         target.channel, ts)
        rows = store.digest_rows(self.engine, target.channel, RECAP_SLUG, target.week_start)
        return {row.key: row for row in rows}, bool(found)

    def _adopt(self, target: Target) -> PostRow | None:
        """A recap an earlier store posted (found by its metadata), recorded instead of posted again."""
        oldest = dt.datetime.combine(target.week_start, dt.time(), dt.UTC) - dt.timedelta(days=1)
        try:
            messages = self.writer.own_messages(target, oldest)
        except ChannelStop as stop:
            if isinstance(stop, RunStop) or stop.error not in ("not_in_channel", "missing_scope"):
                raise
            return None
        week = target.week_start.isoformat()
        for message in messages:
            payload = digest_payload(message) or {}
            if payload.get("kind") == "recap" and payload.get("slug") == RECAP_SLUG and payload.get("week") == week:
                return self.writer.adopt(
                    target, self.report.channel(target.channel), "recap", recap_key(target.week_start),
                    RECAP_SLUG, target.week_start, None, message, None,
                )
        return None

    # ---- the chart ----------------------------------------------------------------

    def _chart(self, target: Target, recap_row: PostRow, row: PostRow | None, slugs: Sequence[str]) -> str:
        """Upload the chart into the recap's thread, once: recorded, and looked for after an interruption."""
        if row is not None and row.posted:
            return "already"
        assert recap_row.ts is not None
        channel, week = target.channel, target.week_start
        filename = chart_filename(channel, week)
        if row is not None and row.state == "pending":
            file_id = self._find_chart(channel, recap_row.ts, filename)
            if file_id is not None:
                store.mark_posted(self.engine, row.id, ts=file_id, now=self.clock(), adopted=True)
                return "found"
            store.mark_failed(self.engine, row.id, error="interrupted before Slack had it", now=self.clock())
            row = store.get_post(self.engine, row.id)
        elif row is None and recap_row.last_error and "adopted" in recap_row.last_error:
            # A recap found in the channel (an earlier store's): its chart may be there too.
            file_id = self._find_chart(channel, recap_row.ts, filename)
            if file_id is not None:
                store.adopt_post(
                    self.engine, channel=channel, key=chart_key(week), kind="chart", slug=RECAP_SLUG,
                    week_start=week, arxiv_id=None, ts=file_id, content_hash=None, now=self.clock(),
                )
                return "found"
        from bot.charts import trends_chart
        from bot.render.recap import chart_title
        from bot.weekly.recap import build_recap

        today = self.clock().astimezone(self.settings.tz).date()
        recap = build_recap(self.engine, self.catalog, channel=channel, week_start=week, slugs=slugs,
                            tz=self.settings.tz, votes=lambda *_: (), today=today)
        if recap is None or recap.trends.empty:
            log.warning("no chart for the recap of %s in %s: no papers of its topics (%s) to chart", week, channel,
                        ", ".join(slugs))
            return "failed"
        chart = trends_chart(recap.trends, lang=self.settings.lang)
        self.leases.renew(target)
        if row is None:
            row = store.create_intent(
                self.engine, channel=channel, key=chart_key(week), kind="chart", slug=RECAP_SLUG, week_start=week,
                arxiv_id=None, content_hash=None, now=self.clock(),
            )
        else:
            row = store.retry_intent(self.engine, row, content_hash=None, now=self.clock())
        if row is None:
            return "failed"  # another process took it: it uploads
        if self.checkpoint is not None:
            self.checkpoint("chart_after_intent", row)
        from bot.render.trends import chart_alt_text

        try:
            file_id = self.slack.upload(
                channel, recap_row.ts, chart.png, filename=filename, title=chart_title(recap, lang=self.settings.lang),
                alt_text=chart_alt_text(recap.trends, lang=self.settings.lang),
            )
        except SlackRefused as err:
            store.mark_failed(self.engine, row.id, error=err.error, now=self.clock())
            log.warning("could not upload the recap's chart in %s: %s", channel, err.error)
            return "failed"
        except SlackUncertain as err:
            log.warning("no answer to the chart's upload in %s (%s); looked for on the next run", channel, err.detail)
            found = self._find_chart(channel, recap_row.ts, filename)
            if found is None:
                store.note_error(self.engine, row.id, error=err.detail, now=self.clock())
                return "failed"
            file_id = found
        if self.checkpoint is not None:
            self.checkpoint("chart_after_upload", row)
        store.mark_posted(self.engine, row.id, ts=file_id, now=self.clock())
        return "uploaded"

    def _find_chart(self, channel: str, thread_ts: str, filename: str) -> str | None:
        """The id of a file named `filename` in the recap's thread, if one is there."""
        cursor: str | None = None
        for _ in range(20):
            try:
                page = self.slack.replies_page(channel, thread_ts, cursor)
            except (SlackRefused, SlackUncertain) as err:
                log.warning("could not look for the recap's chart in %s: %s", channel, err)
                return None
            for message in page.get("messages") or []:
                for file in message.get("files") or []:
                    if isinstance(file, Mapping) and file.get("name") == filename and isinstance(file.get("id"), str):
                        return str(file["id"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None
        return None
