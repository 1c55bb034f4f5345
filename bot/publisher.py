"""Post due digests to Slack exactly once: a header, then one message per paper.

How "exactly once" holds through crashes, restarts, rate limits and errors:

1. Before each `chat.postMessage` a `pending` row is committed (the intent);
   the message carries the row id in its metadata. Slack's `ts` is committed
   right after the answer. A crash between the two leaves a `pending` row.
2. Before a digest is worked on, its `pending` rows are looked up in Slack
   (`conversations.history` with metadata, from just before the attempt):
   found ones are adopted, the others were never posted and are posted again.
3. A connection error or 5xx leaves the post's fate unknown: the same look-up
   runs before each retry, never a blind re-post. A 429 is a refusal, so it is
   simply retried after `Retry-After`. Any other error is permanent: the row
   is `failed` (certainly not posted, retried next run) and that channel stops.
4. Only the holder of a digest's lease posts it (a conditional UPDATE in the
   store), so replicas and a CLI run next to the scheduler never race. On
   PostgreSQL a run also claims each channel it posts to (a session advisory
   lock, `bot.store.locks.Claims`): one replica posts a channel's digests in
   order while the others leave it alone, and when that replica dies its
   claim goes with its connection, so the next run takes its leases over at
   once and finishes the week (step 2 adopts what it had sent).

The time, the sleep, the Slack client, the store and the renderer are injected:
tests drive this module with a fixed clock and a fake Slack server.
"""

from __future__ import annotations

import datetime as dt
import functools
import http.client
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlalchemy import Engine

from bot.config import Settings
from bot.model import AGGREGATE_SLUG, Digest, Paper
from bot.scheduler import is_due
from bot.store import locks
from bot.store import posts as store
from bot.store.catalog import Catalog
from bot.store.codec import content_hash
from bot.store.posts import Mark, MarkOrigin, PostRow, header_key, paper_key
from bot.store.sync import archive_version

log = logging.getLogger(__name__)

#: `event_type` of the metadata on every message the publisher posts.
EVENT_TYPE = "digest_bot_post"
#: How long a digest's lease lasts without renewal (it is renewed before every post).
LEASE_TTL = dt.timedelta(minutes=10)
#: How far before a post's attempt the look-up starts (clock skew with Slack).
RECONCILE_MARGIN = dt.timedelta(hours=1)
#: Attempts per message when the answer is unknown (connection error, 5xx).
MAX_ATTEMPTS = 5
#: First wait between those attempts, doubled each time (1, 2, 4, 8 s).
BACKOFF_SECONDS = 1.0
#: 429s the publisher itself waits out per call (after the client's own retries).
RATE_LIMIT_RETRIES = 5
HISTORY_PAGE = 200
#: Slack's per-channel pace for posting: about one message per second.
MIN_INTERVAL = 1.0

#: Errors that mean the token is unusable: every channel would fail alike.
AUTH_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "no_permission",
        "team_access_not_granted",
        "ekm_access_denied",
    }
)
#: `ok: false` answers after which the call may or may not have taken effect.
UNCERTAIN_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
#: Update errors that mean the message is gone or no longer ours: nothing to retry.
GONE_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})

_HINTS = {
    "not_in_channel": "invite the bot to the channel (`/invite @digest-bot` in {channel})",
    "channel_not_found": (
        "check DIGEST_CHANNEL / DIGEST_CHANNELS: use the channel id (e.g. C0123ABCD); "
        "a private channel needs the bot invited first"
    ),
    "is_archived": "the channel is archived: unarchive it or point DIGEST_CHANNELS elsewhere",
    "restricted_action": "the workspace does not let the bot post in {channel}: allow it in the channel settings",
    "missing_scope": (
        "add the missing scope (chat:write, and channels:history / groups:history to find "
        "interrupted posts again) and reinstall the app"
    ),
    "invalid_blocks": "Slack rejected the rendered message: a rendering bug, please report it",
    "msg_blocks_too_long": "Slack rejected the rendered message as too long: a rendering bug, please report it",
    "ratelimited": "Slack kept answering 429 (rate limited); the rest is posted on the next run",
    "unreachable": "Slack could not be reached; interrupted posts are looked up and retried on the next run",
    "lease_lost": (
        "another process took over this digest (our lease expired, or our database "
        "connection holding the channel's claim was lost); it carries on from here"
    ),
}
_AUTH_HINT = "check SLACK_BOT_TOKEN (a bot token `xoxb-…`; reinstall the app if it was revoked)"


# --------------------------------------------------------------------------------------
# Rendering (injected: the real one is bot.render.digest_posts)


class DigestRenderer(Protocol):
    """Turns a digest into Slack messages (`{"text": ..., "blocks": [...]}`)."""

    def header(
        self, digest: Digest, *, lang: str, paper_count: int, already_posted: Mapping[str, str]
    ) -> dict[str, Any]: ...

    def paper(self, paper: Paper, digest: Digest, *, lang: str) -> dict[str, Any]: ...


class BlockKitRenderer:
    """The project's renderer (`bot.render.digest_posts`), imported on first use."""

    def header(
        self, digest: Digest, *, lang: str, paper_count: int, already_posted: Mapping[str, str]
    ) -> dict[str, Any]:
        from bot.render.digest_posts import digest_header

        return digest_header(
            digest, lang=lang, paper_count=paper_count, already_posted=already_posted
        )

    def paper(self, paper: Paper, digest: Digest, *, lang: str) -> dict[str, Any]:
        from bot.render.digest_posts import digest_paper

        return digest_paper(paper, digest, lang=lang)


# --------------------------------------------------------------------------------------
# Reports


@dataclass(slots=True)
class ChannelReport:
    """What one channel's run did, and why it stopped if it did."""

    channel: str
    digests: list[str] = field(default_factory=list)
    skipped_weeks: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    posted: int = 0
    adopted: int = 0
    updated: int = 0
    error: str | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "digests": self.digests,
            "skipped_weeks": self.skipped_weeks,
            "busy": self.busy,
            "posted": self.posted,
            "adopted": self.adopted,
            "updated": self.updated,
            "error": self.error,
            "problem": self.problem,
        }


@dataclass(frozen=True, slots=True)
class Preview:
    """A message a dry run would post or update, exactly as it would be sent."""

    channel: str
    action: str  # "post" | "update"
    kind: str  # "header" | "paper"
    slug: str
    week_start: dt.date
    arxiv_id: str | None
    message: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "action": self.action,
            "kind": self.kind,
            "slug": self.slug,
            "week_start": self.week_start.isoformat(),
            "arxiv_id": self.arxiv_id,
            "message": self.message,
        }


@dataclass(slots=True)
class PublishReport:
    """What a publishing run did, per channel; `ok` is False when a channel stopped."""

    started_at: dt.datetime
    dry_run: bool = False
    finished_at: dt.datetime | None = None
    channels: dict[str, ChannelReport] = field(default_factory=dict)
    unmapped_topics: list[str] = field(default_factory=list)
    unknown_topics: list[str] = field(default_factory=list)
    previews: list[Preview] = field(default_factory=list)
    run_id: int | None = None

    def channel(self, channel: str) -> ChannelReport:
        return self.channels.setdefault(channel, ChannelReport(channel))

    @property
    def ok(self) -> bool:
        return all(c.error is None for c in self.channels.values())

    @property
    def posted(self) -> int:
        return sum(c.posted for c in self.channels.values())

    @property
    def adopted(self) -> int:
        return sum(c.adopted for c in self.channels.values())

    @property
    def updated(self) -> int:
        return sum(c.updated for c in self.channels.values())

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [
            {"channel": c.channel, "error": c.error, "problem": c.problem}
            for c in self.channels.values()
            if c.error is not None
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "posted": self.posted,
            "adopted": self.adopted,
            "updated": self.updated,
            "channels": [c.as_dict() for c in self.channels.values()],
            "unmapped_topics": self.unmapped_topics,
            "unknown_topics": self.unknown_topics,
            "messages": [p.as_dict() for p in self.previews] if self.dry_run else [],
        }


# --------------------------------------------------------------------------------------
# What to work on


@dataclass(frozen=True, slots=True)
class Target:
    """One topic's digest of one week, to be posted (or checked) in one channel."""

    channel: str
    slug: str
    week_start: dt.date
    origin: MarkOrigin

    @property
    def label(self) -> str:
        return f"{self.slug} {self.week_start.isoformat()}"

    @property
    def lease_key(self) -> str:
        return f"{self.channel}|{self.slug}|{self.week_start.isoformat()}"


@dataclass(slots=True)
class Plan:
    """The targets of a run in posting order, and first-start weeks to leave alone."""

    targets: list[Target] = field(default_factory=list)
    skipped: dict[tuple[str, str], list[dt.date]] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def selected_topics(
    settings: Settings, known: Iterable[str], topic: str | None = None
) -> list[str]:
    """`--topic`, else DIGEST_TOPICS, else every topic but `all` (with DIGEST_CHANNEL)
    or the topics DIGEST_CHANNELS names."""
    if topic:
        return [topic]
    if settings.topics:
        return list(settings.topics)
    if settings.channel:
        return sorted(s for s in known if s != AGGREGATE_SLUG)
    return list(settings.channels)


def plan_run(
    engine: Engine,
    settings: Settings,
    now: dt.datetime,
    *,
    week: dt.date | None = None,
    topic: str | None = None,
    backfill_since: dt.date | None = None,
) -> Plan:
    """Decide which digests to post where, reading the store only.

    - a due week with no mark is posted; `posting` marks are resumed;
    - a `posted` digest is checked again only when one of its papers changed
      (a new or edited entry) since it was last settled;
    - a topic seen for the first time in a channel posts its newest due week
      only; older weeks are marked `skipped` (no flood on a new install);
    - `backfill_since` posts skipped (or unmarked) due weeks ending on/after it;
    - `week` takes the digest holding that day, due or not.
    """
    catalog = Catalog(engine)
    known = {t.topic.slug for t in catalog.topics(include_aggregate=True)}
    plan = Plan()
    slugs = selected_topics(settings, known, topic)
    plan.unknown = [s for s in slugs if s not in known]
    slugs = [s for s in slugs if s in known]
    plan.unmapped = [s for s in slugs if settings.channel_for(s) is None]
    slugs = [s for s in slugs if settings.channel_for(s) is not None]
    versions = store.digest_versions(engine, slugs)
    order = {slug: i for i, slug in enumerate(slugs)}
    tz = settings.tz
    for slug in slugs:
        channel = settings.channel_for(slug)
        assert channel is not None
        weeks = sorted(catalog.digests(slug=slug), key=lambda d: d.week_start)
        due = [d for d in weeks if is_due(d.week_end, now, tz)]
        marks = store.marks(engine, channel, slug)
        chosen = [d for d in weeks if d.week_start <= week <= d.week_end] if week else []
        if not marks and due:
            keep = {due[-1].week_start, *(d.week_start for d in chosen)}
            if backfill_since is not None:
                keep.update(d.week_start for d in due if d.week_end >= backfill_since)
            skipped = [d.week_start for d in due if d.week_start not in keep]
            if skipped:
                plan.skipped[(channel, slug)] = skipped
            marks = {w: Mark(channel, slug, w, "skipped", "first_start", None) for w in skipped}
        candidates = chosen if week else due
        for digest in candidates:
            origin = _origin(
                digest.week_start,
                digest.week_end,
                marks.get(digest.week_start),
                versions.get((slug, digest.week_start)),
                week=week,
                backfill_since=backfill_since,
            )
            if origin is not None:
                plan.targets.append(Target(channel, slug, digest.week_start, origin))
    plan.targets.sort(key=lambda t: (t.week_start, order[t.slug]))
    return plan


def _origin(
    week_start: dt.date,
    week_end: dt.date,
    mark: Mark | None,
    version: int | None,
    *,
    week: dt.date | None,
    backfill_since: dt.date | None,
) -> MarkOrigin | None:
    """Why this digest is worked on in this run, or None to leave it alone."""
    if week is not None:
        return "manual" if mark is None or mark.state == "skipped" else mark.origin  # type: ignore[return-value]
    if mark is None:
        return (
            "backfill" if backfill_since is not None and week_end >= backfill_since else "schedule"
        )
    if mark.state == "skipped":
        return "backfill" if backfill_since is not None and week_end >= backfill_since else None
    if mark.state == "posting":
        return mark.origin  # type: ignore[return-value]
    if mark.checked_version is None or (version is not None and version > mark.checked_version):
        return mark.origin  # type: ignore[return-value]
    return None


# --------------------------------------------------------------------------------------
# Slack calls: pacing, 429s, and telling refusals from unknown outcomes


class SlackRefused(Exception):
    """Slack answered with an error: the call certainly did not take effect."""

    def __init__(self, method: str, error: str, details: Sequence[str] = ()) -> None:
        super().__init__(f"{method}: {error}")
        self.method = method
        self.error = error
        self.details = list(details)


class SlackUncertain(Exception):
    """No usable answer (connection error, 5xx): the call may or may not have taken effect."""

    def __init__(self, method: str, detail: str) -> None:
        super().__init__(f"{method}: {detail}")
        self.method = method
        self.detail = detail


class SlackCalls:
    """The publisher's only way to Slack: paced writes, 429s waited out, errors classified.

    `posting_client` already waits out 429s itself (with real time); this layer
    also handles a 429 that reaches it, with the injected sleep, so any client
    works. It never retries an uncertain call: that is the publisher's decision.
    """

    def __init__(
        self,
        client: WebClient,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        min_interval: float = MIN_INTERVAL,
    ) -> None:
        self.client = client
        self.sleep = sleep
        self.monotonic = monotonic
        self.min_interval = min_interval
        self._last_write: dict[str, float] = {}

    def post(self, channel: str, message: Mapping[str, Any], metadata: Mapping[str, Any]) -> str:
        """chat.postMessage; the new message's ts."""
        response = self._write(
            "chat.postMessage",
            channel,
            lambda: self.client.chat_postMessage(
                channel=channel,
                text=message["text"],
                blocks=message.get("blocks"),
                metadata=dict(metadata),
                unfurl_links=False,
                unfurl_media=False,
            ),
        )
        return str(response["ts"])

    def update(
        self, channel: str, ts: str, message: Mapping[str, Any], metadata: Mapping[str, Any]
    ) -> None:
        """chat.update of a message the bot posted (idempotent: safe to repeat)."""
        self._write(
            "chat.update",
            channel,
            lambda: self.client.chat_update(
                channel=channel,
                ts=ts,
                text=message["text"],
                blocks=message.get("blocks") or [],
                metadata=dict(metadata),
            ),
        )

    def permalink(self, channel: str, ts: str) -> str:
        response = self._call(
            "chat.getPermalink",
            lambda: self.client.chat_getPermalink(channel=channel, message_ts=ts),
        )
        return str(response["permalink"])

    def history_page(self, channel: str, oldest: dt.datetime, cursor: str | None) -> SlackResponse:
        """One page of top-level messages with their metadata, newest first."""
        return self._call(
            "conversations.history",
            lambda: self.client.conversations_history(
                channel=channel,
                oldest=f"{max(oldest.timestamp(), 0):.6f}",
                limit=HISTORY_PAGE,
                include_all_metadata=True,
                cursor=cursor,  # None is dropped by slack_sdk
            ),
        )

    def _write(self, method: str, channel: str, call: Callable[[], SlackResponse]) -> SlackResponse:
        """A paced call: at most one write per `min_interval` seconds per channel."""
        last = self._last_write.get(channel)
        if last is not None:
            wait = self.min_interval - (self.monotonic() - last)
            if wait > 0:
                self.sleep(wait)
        try:
            return self._call(method, call)
        finally:
            self._last_write[channel] = self.monotonic()

    def _call(self, method: str, call: Callable[[], SlackResponse]) -> SlackResponse:
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            try:
                return call()
            except SlackApiError as err:
                status = err.response.status_code
                error = str(err.response.get("error") or f"http_{status}")
                if status == 429:
                    if attempt < RATE_LIMIT_RETRIES:
                        self.sleep(_retry_after(err.response))
                        continue
                    raise SlackRefused(method, "ratelimited") from err
                if status >= 500 or error in UNCERTAIN_ERRORS:
                    raise SlackUncertain(method, f"HTTP {status} {error}") from err
                details = (err.response.get("response_metadata") or {}).get("messages") or []
                raise SlackRefused(method, error, details) from err
            except (OSError, http.client.HTTPException) as err:
                raise SlackUncertain(method, f"{type(err).__name__}: {err}") from err
        raise AssertionError("unreachable")  # pragma: no cover


def _retry_after(response: SlackResponse) -> float:
    headers = {str(k).lower(): v for k, v in (response.headers or {}).items()}
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(float(value), 0.0) if value is not None else 1.0
    except ValueError:
        return 1.0


# --------------------------------------------------------------------------------------
# The run


class _ChannelStop(Exception):
    """Stop posting to this channel for this run (recorded in the report)."""

    def __init__(self, error: str, problem: str) -> None:
        super().__init__(problem)
        self.error = error
        self.problem = problem


class _RunStop(_ChannelStop):
    """Stop the whole run: the token itself is refused."""


Checkpoint = Callable[[str, PostRow | None], None]
"""Called at each step of a post (`before_intent`, `after_intent`, `after_slack`,
`after_record`, `after_uncertain`, `before_update`, `after_update`): tests raise
from it to crash the publisher at exactly that point."""


def default_holder() -> str:
    """Who holds a lease: host, pid and a nonce (a dead local pid can be detected)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


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
) -> PublishReport:
    """Post what is due (or the chosen digests) and report what happened.

    `now` is the time of the run (aware); later times are `now` plus the
    elapsed `monotonic()`, so a test's fake clock drives pacing, backoff and
    lease expiry alike. With `dry_run` nothing is written and Slack is not
    called: the report's `previews` hold the exact messages.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    slack: SlackCalls | None = None
    if not dry_run:
        if client is None:
            raise ValueError("a Slack client is needed unless dry_run")
        slack = SlackCalls(client, sleep=sleep, monotonic=monotonic, min_interval=min_interval)
    plan = plan_run(engine, settings, now, week=week, topic=topic, backfill_since=backfill_since)
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
    ) -> None:
        self.engine = engine
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
        self._dry_rows: dict[tuple[str, str], PostRow] = {}
        self._lease: str | None = None
        self.claims = locks.Claims(engine)
        self._channel_claim: str | None = None

    def clock(self) -> dt.datetime:
        """The run's `now` moved on by the (injected) monotonic clock."""
        return self._now + dt.timedelta(seconds=self.monotonic() - self._started)

    def _check(self, point: str, row: PostRow | None) -> None:
        if self.checkpoint is not None:
            self.checkpoint(point, row)

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
            self.claims.close()

    def _claim_channel(self, channel: str) -> bool:
        """One process posts to a channel at a time (PostgreSQL; always True on SQLite)."""
        if self.dry_run:
            return True
        name = f"channel:{channel}"
        if not self.claims.try_claim(name):
            return False
        self._channel_claim = name
        return True

    def _release_channel(self) -> None:
        if self._channel_claim is not None:
            self.claims.release(self._channel_claim)
            self._channel_claim = None

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
            self._reconcile(target, digest)
            settled = self._publish(target, digest, report)
            if not self.dry_run:
                self._mark(target, "posted", self.version if settled else None)
            report.digests.append(target.label)
        finally:
            if self._lease is not None:
                store.release_lease(self.engine, self._lease, self.holder)
                self._lease = None

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
        rows = self._rows(target.channel, [hkey, *map(paper_key, ids)])
        hashes = store.paper_hashes(self.engine, ids)
        settled = True

        header = rows.get(hkey)
        if header is None or not header.posted:
            message = self._header_message(target, digest, rows)
            header = self._post(
                target, report, "header", hkey, None, header, message, content_hash(message)
            )
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
                posted = self._post(
                    target, report, "paper", key, paper.arxiv_id, row, message, wanted
                )
                if posted is None:
                    settled = False
                    continue
                rows[key] = posted
            elif row.content_hash != wanted:
                message = self.renderer.paper(paper, digest, lang=self.lang)
                rows[key] = self._update(target, report, row, message, wanted)

        message = self._header_message(target, digest, rows)
        if header.content_hash != content_hash(message):
            self._update(target, report, header, message, content_hash(message))
        return settled

    def _rows(self, channel: str, keys: list[str]) -> dict[str, PostRow]:
        rows = store.posts_by_key(self.engine, channel, keys)
        if self.dry_run:
            rows.update(
                {
                    key: self._dry_rows[channel, key]
                    for key in keys
                    if (channel, key) in self._dry_rows
                }
            )
        return rows

    def _header_message(
        self, target: Target, digest: Digest, rows: Mapping[str, PostRow]
    ) -> dict[str, Any]:
        """The header, linking the papers that stand in this channel from another topic."""
        linked: dict[str, str] = {}
        for paper in digest.papers:
            row = rows.get(paper_key(paper.arxiv_id))
            if row is None or not row.posted or row.belongs_to(target.slug, target.week_start):
                continue
            permalink = row.permalink or self._fetch_permalink(row)
            if permalink:
                linked[paper.arxiv_id] = permalink
        return self.renderer.header(
            digest, lang=self.lang, paper_count=len(digest.papers), already_posted=linked
        )

    # ---- leases --------------------------------------------------------------------

    def _take_lease(self, target: Target) -> bool:
        key, now = target.lease_key, self.clock()
        if store.acquire_lease(self.engine, key, self.holder, now=now, ttl=LEASE_TTL):
            self._lease = key
            return True
        lease = store.get_lease(self.engine, key)
        if lease is None or not lease.holder:
            return False
        # Holding the channel's claim proves the lease's holder stopped posting here
        # (every run posts under that claim, and a dead run's claim went with it).
        if not self.claims.exclusive and not _holder_is_dead(lease.holder):
            return False
        if not store.take_over_lease(
            self.engine, key, dead_holder=lease.holder, holder=self.holder, now=now, ttl=LEASE_TTL
        ):
            return False
        log.warning(
            "took over %s in %s from %s, which is no longer running",
            target.label,
            target.channel,
            lease.holder,
        )
        self._lease = key
        return True

    def _renew_lease(self, target: Target) -> None:
        """Before each Slack write: still ours? (A lease that expired may have been taken.)"""
        if self._lease is None:
            return
        claimed = self._channel_claim is None or self.claims.holds(self._channel_claim)
        if not claimed or not store.acquire_lease(
            self.engine, self._lease, self.holder, now=self.clock(), ttl=LEASE_TTL
        ):
            self._lease = None
            raise _stop(target.channel, "posting", "lease_lost")

    # ---- reconciling interrupted posts --------------------------------------------------

    def _reconcile(self, target: Target, digest: Digest) -> None:
        """Settle what an earlier run left: every `pending` post becomes posted or failed.

        A pending post found in Slack (by the row id in its metadata) is adopted;
        one not found was never posted and becomes `failed`, so it is posted
        again below. Unposted rows of papers no longer in the digest are dropped.
        """
        if self.dry_run:
            return
        own = store.digest_rows(self.engine, target.channel, target.slug, target.week_start)
        pending = [row for row in own if row.state == "pending"]
        found = self._find(target, pending) if pending else {}
        for row in pending:
            ts = found.get(row.id)
            if ts is None:
                store.mark_failed(
                    self.engine, row.id, error="interrupted before Slack had it", now=self.clock()
                )
                continue
            store.mark_posted(self.engine, row.id, ts=ts, now=self.clock(), adopted=True)
            self.report.channel(target.channel).adopted += 1
            log.info(
                "%s in %s: adopted message %s of an interrupted post",
                _what(row),
                target.channel,
                ts,
            )
            self._store_permalink(row.id, target.channel, ts)
        keys = {
            header_key(target.slug, target.week_start),
            *(paper_key(p.arxiv_id) for p in digest.papers),
        }
        store.forget_unposted(
            self.engine,
            [
                row.id
                for row in own
                if row.key not in keys and row.id not in found and not row.posted
            ],
        )

    def _find(self, target: Target, rows: Sequence[PostRow]) -> dict[int, str]:
        """post id -> ts of the messages carrying these rows' ids (newest pages first)."""
        slack = self.slack
        assert slack is not None
        wanted = {row.id for row in rows}
        oldest = min(row.attempted_at for row in rows) - RECONCILE_MARGIN
        found: dict[int, str] = {}
        cursor: str | None = None
        while True:
            page = self._read(
                target,
                "looking up interrupted posts",
                functools.partial(slack.history_page, target.channel, oldest, cursor),
            )
            for message in page.get("messages") or []:
                post_id = _post_id(message)
                if post_id in wanted:
                    found.setdefault(post_id, str(message["ts"]))
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor or found.keys() >= wanted:
                return found

    def _read(self, target: Target, doing: str, call: Callable[[], SlackResponse]) -> SlackResponse:
        """A read, retried with backoff when Slack does not answer (reads are idempotent)."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return call()
            except SlackRefused as err:
                raise _refused(target.channel, doing, err) from err
            except SlackUncertain as err:
                if attempt == MAX_ATTEMPTS:
                    raise _stop(target.channel, doing, "unreachable", err.detail) from err
                self.sleep(_backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    # ---- posting and updating ---------------------------------------------------------

    def _post(
        self,
        target: Target,
        report: ChannelReport,
        kind: store.PostKind,
        key: str,
        arxiv_id: str | None,
        row: PostRow | None,
        message: dict[str, Any],
        hash_: str | None,
    ) -> PostRow | None:
        """Post one message exactly once; None when another process owns it now."""
        if self.dry_run:
            return self._preview_post(target, kind, key, arxiv_id, message, hash_)
        self._check("before_intent", row)
        self._renew_lease(target)
        if row is None:
            row = store.create_intent(
                self.engine,
                channel=target.channel,
                key=key,
                kind=kind,
                slug=target.slug,
                week_start=target.week_start,
                arxiv_id=arxiv_id,
                content_hash=hash_,
                now=self.clock(),
            )
        else:
            row = store.retry_intent(self.engine, row, content_hash=hash_, now=self.clock())
        if row is None:
            return None
        self._check("after_intent", row)
        assert self.slack is not None
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                ts = self.slack.post(target.channel, message, _metadata(row))
            except SlackRefused as err:
                store.mark_failed(self.engine, row.id, error=err.error, now=self.clock())
                raise _refused(target.channel, f"posting {_what(row)}", err) from err
            except SlackUncertain as err:
                self._check("after_uncertain", row)
                log.warning(
                    "%s in %s: no answer to chat.postMessage (%s); looking for it",
                    _what(row),
                    target.channel,
                    err.detail,
                )
                found = self._find(target, [row]).get(row.id)
                if found is not None:
                    store.mark_posted(self.engine, row.id, ts=found, now=self.clock(), adopted=True)
                    report.adopted += 1
                    self._store_permalink(row.id, target.channel, found)
                    return store.get_post(self.engine, row.id)
                if attempt == MAX_ATTEMPTS:
                    store.note_error(self.engine, row.id, error=err.detail, now=self.clock())
                    raise _stop(
                        target.channel, f"posting {_what(row)}", "unreachable", err.detail
                    ) from err
                self.sleep(_backoff(attempt))
                row = store.retry_intent(self.engine, row, content_hash=hash_, now=self.clock())
                if row is None:
                    return None
                continue
            self._check("after_slack", row)
            store.mark_posted(self.engine, row.id, ts=ts, now=self.clock())
            self._check("after_record", row)
            report.posted += 1
            self._store_permalink(row.id, target.channel, ts)
            return store.get_post(self.engine, row.id)
        raise AssertionError("unreachable")  # pragma: no cover

    def _update(
        self,
        target: Target,
        report: ChannelReport,
        row: PostRow,
        message: dict[str, Any],
        hash_: str | None,
    ) -> PostRow:
        """chat.update a posted message to what it should show now (safe to repeat)."""
        if self.dry_run:
            self.report.previews.append(
                Preview(
                    target.channel,
                    "update",
                    row.kind,
                    row.slug,
                    row.week_start,
                    row.arxiv_id,
                    {**message, "ts": row.ts, "metadata": _metadata(row)},
                )
            )
            return row
        assert self.slack is not None and row.ts is not None
        self._check("before_update", row)
        self._renew_lease(target)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                self.slack.update(target.channel, row.ts, message, _metadata(row))
                break
            except SlackRefused as err:
                if err.error in GONE_ERRORS:
                    log.warning(
                        "%s in %s: cannot update message %s (%s); left as it is",
                        _what(row),
                        target.channel,
                        row.ts,
                        err.error,
                    )
                    store.record_update(self.engine, row.id, content_hash=hash_, now=self.clock())
                    store.note_error(self.engine, row.id, error=err.error, now=self.clock())
                    return row
                raise _refused(target.channel, f"updating {_what(row)}", err) from err
            except SlackUncertain as err:
                if attempt == MAX_ATTEMPTS:
                    raise _stop(
                        target.channel, f"updating {_what(row)}", "unreachable", err.detail
                    ) from err
                self.sleep(_backoff(attempt))
        self._check("after_update", row)
        store.record_update(self.engine, row.id, content_hash=hash_, now=self.clock())
        report.updated += 1
        return store.get_post(self.engine, row.id) or row

    def _preview_post(
        self,
        target: Target,
        kind: store.PostKind,
        key: str,
        arxiv_id: str | None,
        message: dict[str, Any],
        hash_: str | None,
    ) -> PostRow:
        """Dry run: record the message, and pretend it was posted for what follows."""
        now = self.clock()
        row = PostRow(
            id=-(len(self._dry_rows) + 1),
            channel=target.channel,
            key=key,
            kind=kind,
            slug=target.slug,
            week_start=target.week_start,
            arxiv_id=arxiv_id,
            state="posted",
            ts=None,
            permalink=f"https://slack.com/archives/{target.channel}",
            content_hash=hash_,
            attempts=0,
            last_error=None,
            created_at=now,
            attempted_at=now,
            posted_at=now,
        )
        self._dry_rows[target.channel, key] = row
        self.report.channel(target.channel).posted += 1
        self.report.previews.append(
            Preview(
                target.channel,
                "post",
                kind,
                target.slug,
                target.week_start,
                arxiv_id,
                {**message, "metadata": _metadata(row)},
            )
        )
        return row

    # ---- permalinks --------------------------------------------------------------------

    def _store_permalink(self, post_id: int, channel: str, ts: str) -> str | None:
        """Best effort: a missing permalink is fetched again when a header needs it."""
        assert self.slack is not None
        try:
            permalink = self.slack.permalink(channel, ts)
        except (SlackRefused, SlackUncertain) as err:
            log.info("no permalink for %s in %s yet: %s", ts, channel, err)
            return None
        store.set_permalink(self.engine, post_id, permalink)
        return permalink

    def _fetch_permalink(self, row: PostRow) -> str | None:
        if self.dry_run or row.ts is None:
            return None
        return self._store_permalink(row.id, row.channel, row.ts)


def _refused(channel: str, doing: str, err: SlackRefused) -> _ChannelStop:
    return _stop(channel, doing, err.error, "; ".join(err.details))


def _stop(channel: str, doing: str, error: str, detail: str = "") -> _ChannelStop:
    """What ends this channel's run (or the whole run, for a refused token)."""
    problem = _problem(channel, doing, error, detail)
    return _RunStop(error, problem) if error in AUTH_ERRORS else _ChannelStop(error, problem)


def _problem(channel: str, doing: str, error: str, detail: str = "") -> str:
    """One clear line: where, what Slack said, what to do, what happens next."""
    hint = _AUTH_HINT if error in AUTH_ERRORS and error != "missing_scope" else _HINTS.get(error)
    hint = (hint or "see Slack's documentation of this error").format(channel=channel)
    extra = f" ({detail})" if detail else ""
    scope = "anywhere" if error in AUTH_ERRORS else f"to {channel}"
    return (
        f"channel {channel}: Slack answered `{error}` while {doing}{extra}: {hint}. "
        f"Nothing more is posted {scope} in this run; nothing unposted is marked as posted, "
        "and the rest is retried on the next run."
    )


def _metadata(row: PostRow) -> dict[str, Any]:
    """What a message carries so that it can be found again after a crash."""
    payload: dict[str, Any] = {
        "post_id": row.id,
        "kind": row.kind,
        "slug": row.slug,
        "week": row.week_start.isoformat(),
    }
    if row.arxiv_id is not None:
        payload["arxiv_id"] = row.arxiv_id
    return {"event_type": EVENT_TYPE, "event_payload": payload}


def _post_id(message: Mapping[str, Any]) -> int | None:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != EVENT_TYPE:
        return None
    value = (metadata.get("event_payload") or {}).get("post_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _what(row: PostRow) -> str:
    return (
        f"paper {row.arxiv_id} of {row.slug} {row.week_start}"
        if row.arxiv_id
        else f"the header of {row.slug} {row.week_start}"
    )


def _backoff(attempt: int) -> float:
    return BACKOFF_SECONDS * float(2 ** (attempt - 1))


def _holder_is_dead(holder: str) -> bool:
    """True for a holder on this host whose process is gone (e.g. killed mid-run).

    A pid means nothing on another host: there, on SQLite, only expiry frees a
    lease; on PostgreSQL the channel claim tells (see `_Run._take_lease`).
    """
    try:
        host, pid_text, _nonce = holder.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname() or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, under another user
        return False
    return False
