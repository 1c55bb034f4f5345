"""A publishing run: channels in turn, each digest under its lease, messages one by one.

`publish_due` plans the run (`bot.publisher.plan`), records it in the store's
`runs`, and hands a `Publisher` (what the run works with: the store, Slack,
its clock, the renderer, the settings it needs) to `DigestRun`, which owns the
order of the work: a channel
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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from bot.config import Settings
from bot.model import Digest
from bot.progress import Progress
from bot.publisher.clock import RunClock
from bot.publisher.dry_run import DryRun
from bot.publisher.leases import Leases, default_holder
from bot.publisher.messages import BlockKitRenderer, DigestRenderer, digest_payload
from bot.publisher.plan import Outlook, Plan, Target, outlook, plan_run
from bot.publisher.posting import Checkpoint, Writer
from bot.publisher.report import ChannelReport, PublishReport
from bot.publisher.slack_calls import MIN_INTERVAL, SlackCalls
from bot.publisher.stops import ChannelStop, RunStop
from bot.store import freshness
from bot.store import marks as mark_store
from bot.store import posts as store
from bot.store import runs as run_store
from bot.store.catalog import Catalog
from bot.store.codec import content_hash
from bot.store.posts import PostRow, header_key, note_key, paper_key
from bot.store.state import archive_version

# The package's one logger, named as before it was split into modules.
log = logging.getLogger("bot.publisher")

#: How long before a digest's week began its messages are looked for in the channel.
ADOPT_MARGIN = dt.timedelta(days=1)
#: History refusals after which posting is still tried (it needs other rights).
UNREADABLE_HISTORY = frozenset({"not_in_channel", "missing_scope"})


def _date(value: object) -> dt.date | None:
    """A metadata `week` ("2025-01-17") as a date, None for anything else."""
    try:
        return dt.date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Publisher:
    """What a publishing run works with, injected: the store, Slack (None: a dry
    run, nothing sent), the clock, the renderer, and what it needs of the settings."""

    engine: Engine
    slack: SlackCalls | None
    clock: RunClock
    renderer: DigestRenderer
    lang: str
    max_papers: int
    holder: str
    checkpoint: Checkpoint | None = None

    @property
    def dry_run(self) -> bool:
        return self.slack is None


@dataclass(frozen=True, slots=True)
class Selection:
    """Which digests a run takes: those due (the default), one week, one topic, or
    every week since `backfill_since`."""

    week: dt.date | None = None
    topic: str | None = None
    backfill_since: dt.date | None = None


@dataclass(frozen=True, slots=True)
class RunHooks:
    """What a run tells its caller: the outlook before any post (`announce`), each
    message (`progress`), and each step of a post (`checkpoint`, tests' crash points)."""

    announce: Callable[[Outlook], None] | None = None
    progress: Progress | None = None
    checkpoint: Checkpoint | None = None


DUE = Selection()
NO_HOOKS = RunHooks()


def publish_due(
    engine: Engine,
    slack: SlackCalls | None,
    clock: RunClock,
    settings: Settings,
    *,
    selection: Selection = DUE,
    hooks: RunHooks = NO_HOOKS,
    trigger: str = "cli",
    renderer: DigestRenderer | None = None,
) -> PublishReport:
    """Post what is due (or the `selection`) through `slack` at `clock`'s time, and
    report what happened.

    `slack` is the Slack poster (`SlackCalls.paced(client, clock)`); None is a
    dry run: nothing is written, Slack is not called, and the report's
    `previews` hold the exact messages. The clock's `now` plus its monotonic
    time drives pacing, backoff and lease expiry alike, so a test's fake clock
    runs the whole run. A digest posts at most DIGEST_MAX_PAPERS_PER_DIGEST
    paper messages in a channel; the rest are held back, said in one reply in
    the header's thread, in the report and in `digest-bot status`.

    Before any post, what is about to be posted and how long it takes at
    Slack's pace is logged and handed to `hooks.announce`; `hooks.progress(done,
    total, label)` hears of every message posted or updated.
    """
    now = clock.start
    dry_run = slack is None
    plan = plan_run(
        engine, settings, now, week=selection.week, topic=selection.topic, backfill_since=selection.backfill_since
    )
    cap = settings.max_papers_per_digest
    pace = slack.min_interval if slack is not None else MIN_INTERVAL
    expected = outlook(engine, plan, min_interval=pace, max_papers=cap)
    if not dry_run and not expected.empty:
        log.info("about to post: %s", expected.describe())
    if hooks.announce is not None:
        hooks.announce(expected)
    publisher = Publisher(
        engine,
        slack,
        clock,
        renderer or BlockKitRenderer(),
        lang=settings.lang,
        max_papers=cap,
        holder=default_holder(),
        checkpoint=hooks.checkpoint,
    )
    run = DigestRun(publisher, progress=hooks.progress, total=expected.messages)
    report = run.report
    report.unmapped_topics = plan.unmapped
    report.unknown_topics = plan.unknown
    for slug in plan.unknown:
        log.warning("topic %r is not in the archive; check DIGEST_TOPICS or --topic", slug)
    if not dry_run:
        report.run_id = run_store.start_run(engine, trigger=trigger, holder=run.holder, now=now)
    try:
        run.execute(plan)
    finally:
        report.finished_at = run.clock()
        if report.run_id is not None:
            run_store.finish_run(
                engine,
                report.run_id,
                now=report.finished_at,
                posted=report.posted,
                adopted=report.adopted,
                updated=report.updated,
                errors=report.errors,
            )
    return report


class DigestRun:
    """One publishing run: channels in turn, digests in order, messages one by one."""

    def __init__(self, publisher: Publisher, *, progress: Progress | None = None, total: int = 0) -> None:
        self.engine = publisher.engine
        self.renderer = publisher.renderer
        self.lang = publisher.lang
        self.max_papers = publisher.max_papers
        self.holder = publisher.holder
        self.dry_run = publisher.dry_run
        self.clock = publisher.clock
        self.progress = progress
        self.total = total
        self.done = 0
        self.catalog = Catalog(self.engine)
        self.report = PublishReport(started_at=self.clock.start, dry_run=self.dry_run)
        with self.engine.connect() as conn:
            self.version = archive_version(conn)
        self.leases = Leases(self.engine, self.holder, self.clock)
        self.writer: Writer | DryRun
        if publisher.slack is None:
            self.writer = DryRun(self.engine, self.report, clock=self.clock)
        else:
            self.writer = Writer(
                self.engine,
                publisher.slack,
                self.report,
                clock=self.clock,
                sleep=self.clock.sleep,
                renew=self._renew_lease,
                checkpoint=publisher.checkpoint,
            )

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
                mark_store.add_skipped(self.engine, channel, slug, weeks, self.clock())
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
                except ChannelStop as stop:
                    log.error("%s", stop.problem)
                    report.error, report.problem = stop.error, stop.problem
                    if isinstance(stop, RunStop):
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
            mark = mark_store.marks(self.engine, target.channel, target.slug).get(target.week_start)
            if not self.dry_run and (mark is None or mark.state == "skipped"):
                self._mark(target, "posting", None)
            if not self.dry_run:
                self._adopt(target, digest, report)
            self.writer.reconcile(target, digest)
            settled, held = self._publish(target, digest, report)
            if not self.dry_run:
                self._mark(target, "posted", self.version if settled else None, held)
            report.digests.append(target.label)
            if held:
                report.held_back.append(
                    f"{target.label}: {held:,} of {len(digest.papers):,} papers not posted "
                    f"(at most {self.max_papers:,} per digest)"
                )
                log.warning(
                    "%s in %s: %d papers held back (DIGEST_MAX_PAPERS_PER_DIGEST=%d)",
                    target.label,
                    target.channel,
                    held,
                    self.max_papers,
                )
        finally:
            self.leases.release()

    def _advance(self, target: Target) -> None:
        """One message more posted or updated (the total is an estimate: edits add to it)."""
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, max(self.total, self.done), target.label)

    def _mark(
        self, target: Target, state: mark_store.MarkState, checked: int | None, held: int = 0
    ) -> None:
        mark_store.set_mark(
            self.engine,
            channel=target.channel,
            slug=target.slug,
            week_start=target.week_start,
            state=state,
            origin=target.origin,
            checked_version=checked,
            now=self.clock(),
            held_back=held,
        )

    def _adopt(self, target: Target, digest: Digest, report: ChannelReport) -> None:
        """Before the first post of a digest this store has no record of: adopt its messages
        already in the channel (posted by an earlier store, lost or restored from an old
        backup), found by their metadata, instead of posting them again.

        One read of the channel's history per run (since the oldest such digest's
        week began, less a day), and, for a header with held-back papers, of its thread.
        """
        hkey, nkey = header_key(target.slug, target.week_start), note_key(target.slug, target.week_start)
        papers = {p.arxiv_id: p for p in digest.papers}
        rows = self.writer.rows(target.channel, [hkey, nkey, *map(paper_key, papers)])
        if hkey in rows:
            return  # this store has posted (or tried to post) the digest: it knows
        oldest = dt.datetime.combine(target.week_start, dt.time(), dt.UTC) - ADOPT_MARGIN
        hashes = freshness.paper_hashes(self.engine, list(papers))
        week = target.week_start.isoformat()
        try:
            messages = self.writer.own_messages(target, oldest)
        except ChannelStop as stop:
            if isinstance(stop, RunStop) or stop.error not in UNREADABLE_HISTORY:
                raise
            # Posting may still work (chat:write.public needs no membership): the
            # post itself says what is wrong if it does not.
            log.warning(
                "%s: cannot look for the bot's earlier messages (%s); posting %s without that check",
                target.channel,
                stop.error,
                target.label,
            )
            return
        adopted = 0
        for message in messages:
            payload = digest_payload(message) or {}
            kind, slug = payload.get("kind"), payload.get("slug")
            row: PostRow | None = None
            if kind == "header" and slug == target.slug and payload.get("week") == week and hkey not in rows:
                row = self.writer.adopt(target, report, "header", hkey, target.slug, target.week_start, None, message, None)
            elif kind == "paper" and isinstance(slug, str) and (arxiv_id := payload.get("arxiv_id")) in papers:
                key = paper_key(arxiv_id)
                posted_for = _date(payload.get("week"))
                if key in rows or posted_for is None:
                    continue
                hash_ = None  # not known: the message is brought up to date by chat.update
                if (slug, posted_for) == (target.slug, target.week_start):
                    rendered = self.renderer.paper(papers[arxiv_id], digest, lang=self.lang)
                    if message.get("blocks") == rendered.get("blocks"):
                        hash_ = hashes.get(arxiv_id)  # shows exactly what it should
                row = self.writer.adopt(target, report, "paper", key, slug, posted_for, arxiv_id, message, hash_)
            if row is not None:
                rows[row.key] = row
                adopted += 1
        header = rows.get(hkey)
        if header is not None and header.content_hash is None:
            adopted_header = next(
                (m for m in messages if str(m.get("ts")) == header.ts), None
            )
            rendered = self._header_message(target, digest, rows)
            if adopted_header is not None and adopted_header.get("blocks") == rendered.get("blocks"):
                store.record_update(self.engine, header.id, content_hash=content_hash(rendered), now=self.clock())
        if header is not None and header.ts and nkey not in rows and len(digest.papers) > self.max_papers:
            for message in self.writer.thread_messages(target, header.ts):
                payload = digest_payload(message) or {}
                if payload.get("kind") == "note" and payload.get("slug") == target.slug and payload.get("week") == week:
                    if self.writer.adopt(target, report, "note", nkey, target.slug, target.week_start, None, message, None):
                        adopted += 1
                    break
        if adopted:
            log.info(
                "%s in %s: adopted %d message(s) already in the channel (posted by an earlier store)",
                target.label,
                target.channel,
                adopted,
            )

    def _publish(
        self, target: Target, digest: Digest, report: ChannelReport
    ) -> tuple[bool, int]:
        """Header, new papers, edited papers, then the header again if it changed.

        At most `max_papers` of the digest's papers stand in the channel as its
        own messages; new ones past that are held back, and a reply in the
        header's thread says how many. Returns whether the digest is settled
        (every paper is posted here, linked to its message from another topic,
        or held back on purpose, so it needs no look until it changes) and how
        many papers were held back.
        """
        ids = [p.arxiv_id for p in digest.papers]
        hkey, nkey = header_key(target.slug, target.week_start), note_key(target.slug, target.week_start)
        rows = self.writer.rows(target.channel, [hkey, nkey, *map(paper_key, ids)])
        hashes = freshness.paper_hashes(self.engine, ids)
        settled = True

        header = rows.get(hkey)
        if header is None or not header.posted:
            message = self._header_message(target, digest, rows)
            header = self.writer.post(
                target, report, "header", hkey, None, header, message, content_hash(message)
            )
            self._advance(target)
            if header is None:
                return False, 0
            rows[hkey] = header

        own = sum(
            1
            for p in digest.papers
            if (row := rows.get(paper_key(p.arxiv_id))) is not None
            and row.posted
            and row.belongs_to(target.slug, target.week_start)
        )
        held = 0
        for paper in digest.papers:
            key = paper_key(paper.arxiv_id)
            row = rows.get(key)
            wanted = hashes.get(paper.arxiv_id)
            if row is not None and not row.belongs_to(target.slug, target.week_start):
                settled &= row.posted  # another topic's message: linked from the header once posted
                continue
            if row is None or not row.posted:
                if own >= self.max_papers:
                    held += 1
                    continue
                message = self.renderer.paper(paper, digest, lang=self.lang)
                posted = self.writer.post(
                    target, report, "paper", key, paper.arxiv_id, row, message, wanted
                )
                self._advance(target)
                if posted is None:
                    settled = False
                    continue
                rows[key] = posted
                own += 1
            elif row.content_hash != wanted:
                message = self.renderer.paper(paper, digest, lang=self.lang)
                rows[key] = self.writer.update(target, report, row, message, wanted)
                self._advance(target)

        settled &= self._note(target, digest, report, header, rows.get(nkey), held)
        message = self._header_message(target, digest, rows)
        if header.content_hash != content_hash(message):
            self.writer.update(target, report, header, message, content_hash(message))
        return settled, held

    def _note(
        self,
        target: Target,
        digest: Digest,
        report: ChannelReport,
        header: PostRow,
        note: PostRow | None,
        held: int,
    ) -> bool:
        """The reply in the header's thread about held-back papers: posted, kept true, or none."""
        if note is None and held == 0:
            return True
        message = self.renderer.held_back(digest, lang=self.lang, held=held, cap=self.max_papers)
        hash_ = content_hash(message)
        if note is None or not note.posted:
            key = note_key(target.slug, target.week_start)
            return (
                self.writer.post(target, report, "note", key, None, note, message, hash_, header.ts)
                is not None
            )
        if note.content_hash != hash_:
            self.writer.update(target, report, note, message, hash_)
        return True

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
