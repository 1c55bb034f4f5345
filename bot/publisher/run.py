"""A publishing run: channels in turn, each digest under its lease, messages one by one.

`publish_due` plans the run (`bot.publisher.plan`), records it in the store's
`runs`, and hands it to `_Run`, which owns the order of the work: a channel
only under its claim, a digest only under its lease (`bot.publisher.leases`);
for each digest, settle what an earlier run left, post the header and each
new paper, update edited ones, then the header again if it changed, and mark
the digest. Sending one message exactly once is `bot.publisher.posting`'s job
(a dry run's stand-in is `bot.publisher.dry_run`); why a channel stops is
`bot.publisher.stops`'.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.config import Settings
from bot.model import Digest
from bot.publisher.dry_run import DryRun
from bot.publisher.leases import Leases, default_holder
from bot.publisher.messages import BlockKitRenderer, DigestRenderer
from bot.publisher.plan import Outlook, Plan, Target, outlook, plan_run
from bot.publisher.posting import Checkpoint, Writer
from bot.publisher.report import ChannelReport, PublishReport
from bot.publisher.slack_calls import MIN_INTERVAL, SlackCalls
from bot.publisher.stops import _ChannelStop, _RunStop
from bot.store import posts as store
from bot.store.catalog import Catalog
from bot.store.codec import content_hash
from bot.store.posts import PostRow, header_key, paper_key
from bot.store.sync import Progress, archive_version

# The package's one logger, named as before it was split into modules.
log = logging.getLogger("bot.publisher")


def publish_due(
    engine: Engine,
    client: WebClient | None,
    *,
    settings: Settings,
    now: dt.datetime,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
    week: dt.date | None = None,
    topic: str | None = None,
    backfill_since: dt.date | None = None,
    dry_run: bool = False,
    min_interval: float = MIN_INTERVAL,
    renderer: DigestRenderer | None = None,
    trigger: str = "cli",
    holder: str | None = None,
    checkpoint: Checkpoint | None = None,
    announce: Callable[[Outlook], None] | None = None,
    progress: Progress | None = None,
) -> PublishReport:
    """Post what is due (or the chosen digests) and report what happened.

    `now` is the time of the run (aware); later times are `now` plus the
    elapsed `monotonic()`, so a test's fake clock drives pacing, backoff and
    lease expiry alike. With `dry_run` nothing is written and Slack is not
    called: the report's `previews` hold the exact messages.

    Before any post, what is about to be posted and how long it takes at
    Slack's pace is logged and handed to `announce`; `progress(done, total,
    label)` hears of every message posted or updated.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    slack: SlackCalls | None = None
    if not dry_run:
        if client is None:
            raise ValueError("a Slack client is needed unless dry_run")
        slack = SlackCalls(client, sleep=sleep, monotonic=monotonic, min_interval=min_interval)
    plan = plan_run(engine, settings, now, week=week, topic=topic, backfill_since=backfill_since)
    expected = outlook(engine, plan, min_interval=min_interval)
    if not dry_run and not expected.empty:
        log.info("about to post: %s", expected.describe())
    if announce is not None:
        announce(expected)
    run = _Run(
        engine,
        slack,
        lang=settings.lang,
        now=now,
        sleep=sleep,
        monotonic=monotonic,
        renderer=renderer or BlockKitRenderer(),
        holder=holder or default_holder(),
        checkpoint=checkpoint,
        dry_run=dry_run,
        progress=progress,
        total=expected.messages,
    )
    report = run.report
    report.unmapped_topics = plan.unmapped
    report.unknown_topics = plan.unknown
    for slug in plan.unknown:
        log.warning("topic %r is not in the archive; check DIGEST_TOPICS or --topic", slug)
    if not dry_run:
        report.run_id = store.start_run(engine, trigger=trigger, holder=run.holder, now=now)
    try:
        run.execute(plan)
    finally:
        report.finished_at = run.clock()
        if report.run_id is not None:
            store.finish_run(
                engine,
                report.run_id,
                now=report.finished_at,
                posted=report.posted,
                adopted=report.adopted,
                updated=report.updated,
                errors=report.errors,
            )
    return report


class _Run:
    """One publishing run: channels in turn, digests in order, messages one by one."""

    def __init__(
        self,
        engine: Engine,
        slack: SlackCalls | None,
        *,
        lang: str,
        now: dt.datetime,
        sleep: Callable[[float], None],
        monotonic: Callable[[], float],
        renderer: DigestRenderer,
        holder: str,
        checkpoint: Checkpoint | None,
        dry_run: bool,
        progress: Progress | None = None,
        total: int = 0,
    ) -> None:
        self.engine = engine
        self.progress = progress
        self.total = total
        self.done = 0
        self.slack = slack
        self.lang = lang
        self.sleep = sleep
        self.monotonic = monotonic
        self.renderer = renderer
        self.holder = holder
        self.checkpoint = checkpoint
        self.dry_run = dry_run
        self.catalog = Catalog(engine)
        self._now = now.astimezone(dt.UTC)
        self._started = monotonic()
        self.report = PublishReport(started_at=self._now, dry_run=dry_run)
        with engine.connect() as conn:
            self.version = archive_version(conn)
        self.leases = Leases(engine, holder, self.clock)
        self.writer: Writer | DryRun
        if dry_run:
            self.writer = DryRun(engine, self.report, clock=self.clock)
        else:
            assert slack is not None
            self.writer = Writer(
                engine,
                slack,
                self.report,
                clock=self.clock,
                sleep=sleep,
                renew=self._renew_lease,
                checkpoint=checkpoint,
            )

    def clock(self) -> dt.datetime:
        """The run's `now` moved on by the (injected) monotonic clock."""
        return self._now + dt.timedelta(seconds=self.monotonic() - self._started)

    # ---- channels and digests -------------------------------------------------------

    def execute(self, plan: Plan) -> None:
        by_channel: dict[str, list[Target]] = {}
        for target in plan.targets:
            by_channel.setdefault(target.channel, []).append(target)
        for (channel, slug), weeks in plan.skipped.items():
            self.report.channel(channel).skipped_weeks.extend(
                f"{slug} {w.isoformat()}" for w in weeks
            )
            if not self.dry_run:
                store.add_skipped(self.engine, channel, slug, weeks, self.clock())
                log.info(
                    "first start in %s for %s: %d older week(s) marked skipped",
                    channel,
                    slug,
                    len(weeks),
                )
        try:
            for channel, targets in by_channel.items():
                report = self.report.channel(channel)
                if not self._claim_channel(channel):
                    report.busy.extend(target.label for target in targets)
                    log.info("%s is being posted to by another process; left to it", channel)
                    continue
                try:
                    for target in targets:
                        self._digest(target, report)
                except _ChannelStop as stop:
                    log.error("%s", stop.problem)
                    report.error, report.problem = stop.error, stop.problem
                    if isinstance(stop, _RunStop):
                        return
                finally:
                    self._release_channel()
        finally:
            self.leases.close()

    def _digest(self, target: Target, report: ChannelReport) -> None:
        """Post (or bring up to date) one digest in one channel, under its lease."""
        if not self.dry_run and not self._take_lease(target):
            report.busy.append(target.label)
            log.info(
                "%s in %s is being posted by another process; left to it",
                target.label,
                target.channel,
            )
            return
        try:
            digest = self.catalog.digest(target.slug, target.week_start)
            if digest is None or digest.week_start != target.week_start:
                return  # removed from the archive since the plan was made
            mark = store.marks(self.engine, target.channel, target.slug).get(target.week_start)
            if not self.dry_run and (mark is None or mark.state == "skipped"):
                self._mark(target, "posting", None)
            self.writer.reconcile(target, digest)
            settled = self._publish(target, digest, report)
            if not self.dry_run:
                self._mark(target, "posted", self.version if settled else None)
            report.digests.append(target.label)
        finally:
            self.leases.release()

    def _advance(self, target: Target) -> None:
        """One message more posted or updated (the total is an estimate: edits add to it)."""
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, max(self.total, self.done), target.label)

    def _mark(self, target: Target, state: store.MarkState, checked: int | None) -> None:
        store.set_mark(
            self.engine,
            channel=target.channel,
            slug=target.slug,
            week_start=target.week_start,
            state=state,
            origin=target.origin,
            checked_version=checked,
            now=self.clock(),
        )

    def _publish(self, target: Target, digest: Digest, report: ChannelReport) -> bool:
        """Header, new papers, edited papers, then the header again if it changed.

        True when the digest is settled: every paper is posted here or linked to
        its message from another topic, so it needs no look until it changes.
        """
        ids = [p.arxiv_id for p in digest.papers]
        hkey = header_key(target.slug, target.week_start)
        rows = self.writer.rows(target.channel, [hkey, *map(paper_key, ids)])
        hashes = store.paper_hashes(self.engine, ids)
        settled = True

        header = rows.get(hkey)
        if header is None or not header.posted:
            message = self._header_message(target, digest, rows)
            header = self.writer.post(
                target, report, "header", hkey, None, header, message, content_hash(message)
            )
            self._advance(target)
            if header is None:
                return False
            rows[hkey] = header

        for paper in digest.papers:
            key = paper_key(paper.arxiv_id)
            row = rows.get(key)
            wanted = hashes.get(paper.arxiv_id)
            if row is not None and not row.belongs_to(target.slug, target.week_start):
                settled &= row.posted  # another topic's message: linked from the header once posted
                continue
            if row is None or not row.posted:
                message = self.renderer.paper(paper, digest, lang=self.lang)
                posted = self.writer.post(
                    target, report, "paper", key, paper.arxiv_id, row, message, wanted
                )
                self._advance(target)
                if posted is None:
                    settled = False
                    continue
                rows[key] = posted
            elif row.content_hash != wanted:
                message = self.renderer.paper(paper, digest, lang=self.lang)
                rows[key] = self.writer.update(target, report, row, message, wanted)
                self._advance(target)

        message = self._header_message(target, digest, rows)
        if header.content_hash != content_hash(message):
            self.writer.update(target, report, header, message, content_hash(message))
        return settled

    def _header_message(
        self, target: Target, digest: Digest, rows: Mapping[str, PostRow]
    ) -> dict[str, Any]:
        """The header, linking the papers that stand in this channel from another topic."""
        linked: dict[str, str] = {}
        for paper in digest.papers:
            row = rows.get(paper_key(paper.arxiv_id))
            if row is None or not row.posted or row.belongs_to(target.slug, target.week_start):
                continue
            permalink = row.permalink or self.writer.permalink(row)
            if permalink:
                linked[paper.arxiv_id] = permalink
        return self.renderer.header(
            digest, lang=self.lang, paper_count=len(digest.papers), already_posted=linked
        )

    # ---- claims and leases (`Leases`; tests replace these to show what they prevent) ----

    def _claim_channel(self, channel: str) -> bool:
        """One process posts to a channel at a time (PostgreSQL; always True on SQLite)."""
        if self.dry_run:
            return True
        return self.leases.claim_channel(channel)

    def _release_channel(self) -> None:
        self.leases.release_channel()

    def _take_lease(self, target: Target) -> bool:
        return self.leases.take(target)

    def _renew_lease(self, target: Target) -> None:
        """Before each Slack write: still ours? (Raises `lease_lost` when not.)"""
        self.leases.renew(target)
