"""A channel's messages into Slack exactly once: intent row, post, ts; a look-up before any retry.

The steps of guarantees 1–3 (see `bot.publisher`), as `bot.publisher.once`
runs them for every message the bot owns; here the rows are the channel's
`posts` (`PostIntents`) and the look-up reads the channel's history:

- Before `chat.postMessage` a `pending` row is committed (the intent) and the
  message carries its id in its metadata; Slack's `ts` is committed right
  after the answer. A crash between the two leaves a `pending` row.
- `reconcile` settles such rows before a digest is worked on: looked up in
  `conversations.history` by their metadata, found ones are adopted, the
  others were never posted and are posted again.
- No clear answer (a connection error, a 5xx, a body that is not Slack's JSON)
  leaves a post's fate unknown: the same
  look-up runs before each retry, never a blind re-post. A refusal marks the
  row `failed` (certainly not posted) and stops the channel.
- `chat.update` is safe to repeat, so an update is simply retried.

`checkpoint` is called at each step, so tests can crash the run at exactly
that point. A dry run uses `bot.publisher.dry_run.DryRun` instead.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from slack_sdk.web import SlackResponse
from sqlalchemy import Engine

from bot.model import Digest
from bot.publisher.messages import describes, digest_payload, post_id_in, post_label, post_metadata
from bot.publisher.once import RECONCILE_MARGIN, ExactlyOnce, NoAnswer, NotSent, find_by_metadata
from bot.publisher.plan import Target
from bot.publisher.report import ChannelReport, PublishReport
from bot.publisher.slack_calls import GONE_ERRORS, SlackCalls, SlackRefused, SlackUncertain
from bot.publisher.stops import refused_stop, stop_for
from bot.store import posts as store
from bot.store.posts import PostRow, header_key, note_key, paper_key

# The package's one logger, named as before it was split into modules.
log = logging.getLogger("bot.publisher")

#: Pages of history (of `HISTORY_PAGE` messages) read back for an earlier store's messages.
ADOPT_PAGES = 100

Checkpoint = Callable[[str, PostRow | None], None]
"""Called at each step of a post (`before_intent`, `after_intent`, `after_slack`,
`after_record`, `after_uncertain`, `before_update`, `after_update`): tests raise
from it to crash the publisher at exactly that point."""


class PostIntents:
    """A channel's `posts` rows as `bot.publisher.once` records them."""

    def __init__(self, engine: Engine, clock: Callable[[], dt.datetime], content_hash: str | None) -> None:
        self.engine, self.clock, self.content_hash = engine, clock, content_hash

    def posted(self, row: PostRow, ts: str, *, adopted: bool) -> None:
        store.mark_posted(self.engine, row.id, ts=ts, now=self.clock(), adopted=adopted)

    def failed(self, row: PostRow, error: str) -> None:
        store.mark_failed(self.engine, row.id, error=error, now=self.clock())

    def noted(self, row: PostRow, error: str) -> None:
        store.note_error(self.engine, row.id, error=error, now=self.clock())

    def retry(self, row: PostRow) -> PostRow | None:
        return store.retry_intent(self.engine, row, content_hash=self.content_hash, now=self.clock())


class Writer:
    """Posts, updates and finds again the messages of a real run, one at a time.

    `renew` runs before every Slack write: it raises when the run's lease (or
    channel claim) is no longer its own, so nothing is posted without one.
    """

    def __init__(
        self,
        engine: Engine,
        slack: SlackCalls,
        report: PublishReport,
        *,
        clock: Callable[[], dt.datetime],
        sleep: Callable[[float], None],
        renew: Callable[[Target], None],
        checkpoint: Checkpoint | None,
    ) -> None:
        self.engine = engine
        self.slack = slack
        self.report = report
        self.clock = clock
        self.sleep = sleep
        self.renew = renew
        self.checkpoint = checkpoint
        self.once = ExactlyOnce(sleep, checkpoint)
        self._own: dict[str, tuple[dt.datetime, list[Mapping[str, Any]]]] = {}

    def _check(self, point: str, row: PostRow | None) -> None:
        self.once.check(point, row)

    def rows(self, channel: str, keys: list[str]) -> dict[str, PostRow]:
        """The channel's post rows under these keys."""
        return store.posts_by_key(self.engine, channel, keys)

    # ---- reconciling interrupted posts --------------------------------------------------

    def reconcile(self, target: Target, digest: Digest) -> None:
        """Settle what an earlier run left: every `pending` post becomes posted or failed.

        A pending post found in Slack (by the row id in its metadata) is adopted;
        one not found was never posted and becomes `failed`, so it is posted
        again below. Unposted rows of papers no longer in the digest are dropped.
        """
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
                post_label(row),
                target.channel,
                ts,
            )
            self._store_permalink(row.id, target.channel, ts)
        keys = {
            header_key(target.slug, target.week_start),
            note_key(target.slug, target.week_start),
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
        """post id -> ts of the messages carrying these rows' ids.

        Top-level messages are looked up in the channel's history (newest
        pages first); a note, a reply in the header's thread, in that thread.
        """
        notes = [row for row in rows if row.kind == "note"]
        found = self._find_in_history(target, [row for row in rows if row.kind != "note"])
        if notes:
            found.update(self._find_in_thread(target, notes))
        return found

    def _find_in_thread(self, target: Target, rows: Sequence[PostRow]) -> dict[int, str]:
        header = self.rows(target.channel, [header_key(target.slug, target.week_start)])
        parent = next(iter(header.values()), None)
        if parent is None or parent.ts is None:
            return {}  # no header in Slack: no thread, so the note was never posted
        thread = parent.ts
        return self._scan(target, rows, "looking up an interrupted note",
                          lambda cursor: self.slack.replies_page(target.channel, thread, cursor))

    def _find_in_history(self, target: Target, rows: Sequence[PostRow]) -> dict[int, str]:
        if not rows:
            return {}
        oldest = min(row.attempted_at for row in rows) - RECONCILE_MARGIN
        return self._scan(target, rows, "looking up interrupted posts",
                          lambda cursor: self.slack.history_page(target.channel, oldest, cursor))

    def _scan(
        self, target: Target, rows: Sequence[PostRow], doing: str, page: Callable[[str | None], SlackResponse]
    ) -> dict[int, str]:
        """post id -> ts of the messages, page by page, that carry these rows' ids and describe
        the same post; stops as soon as every row is found."""
        wanted = {row.id: row for row in rows}

        def key_of(message: Mapping[str, Any]) -> int | None:
            post_id = post_id_in(message)
            return post_id if post_id in wanted and describes(message, wanted[post_id]) else None

        return find_by_metadata(
            lambda cursor: self._read(target, doing, functools.partial(page, cursor)), key_of, wanted
        )

    def _read(self, target: Target, doing: str, call: Callable[[], SlackResponse]) -> SlackResponse:
        """A read, retried with backoff when Slack does not answer (reads are idempotent)."""
        try:
            return self.once.repeat(call)
        except SlackRefused as err:
            raise refused_stop(target.channel, doing, err) from err
        except SlackUncertain as err:
            raise stop_for(target.channel, doing, "unreachable", err.detail) from err

    # ---- messages an earlier store posted ------------------------------------------------

    def own_messages(self, target: Target, oldest: dt.datetime) -> list[Mapping[str, Any]]:
        """The bot's digest messages at the top of the channel since `oldest`, oldest first.

        Read once per channel and run (the run's targets come oldest week
        first), at most `ADOPT_PAGES` pages back.
        """
        cached = self._own.get(target.channel)
        if cached is not None and cached[0] <= oldest:
            return cached[1]
        found: list[Mapping[str, Any]] = []
        cursor: str | None = None
        for _ in range(ADOPT_PAGES):
            page = self._read(
                target,
                "looking for the bot's earlier messages",
                functools.partial(self.slack.history_page, target.channel, oldest, cursor),
            )
            found += [m for m in page.get("messages") or [] if digest_payload(m) is not None]
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        else:
            log.warning(
                "%s: stopped looking for earlier messages after %d pages of history",
                target.channel,
                ADOPT_PAGES,
            )
        found.reverse()
        self._own[target.channel] = (oldest, found)
        return found

    def thread_messages(self, target: Target, thread_ts: str) -> list[Mapping[str, Any]]:
        """The bot's digest messages in a thread (its parent excluded), oldest first."""
        found: list[Mapping[str, Any]] = []
        cursor: str | None = None
        for _ in range(ADOPT_PAGES):
            page = self._read(
                target,
                "looking for the bot's earlier note",
                functools.partial(self.slack.replies_page, target.channel, thread_ts, cursor),
            )
            found += [
                m
                for m in page.get("messages") or []
                if m.get("ts") != thread_ts and digest_payload(m) is not None
            ]
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                break
        return found

    def adopt(
        self,
        target: Target,
        report: ChannelReport,
        kind: store.PostKind,
        key: str,
        slug: str,
        week_start: dt.date,
        arxiv_id: str | None,
        message: Mapping[str, Any],
        hash_: str | None,
    ) -> PostRow | None:
        """Record a message an earlier store posted as this store's, instead of posting it again."""
        ts = str(message["ts"])
        row = store.adopt_post(
            self.engine,
            channel=target.channel,
            key=key,
            kind=kind,
            slug=slug,
            week_start=week_start,
            arxiv_id=arxiv_id,
            ts=ts,
            content_hash=hash_,
            now=self.clock(),
        )
        if row is None:
            return None
        report.adopted += 1
        self._store_permalink(row.id, target.channel, ts)
        return store.get_post(self.engine, row.id)

    # ---- posting and updating ---------------------------------------------------------

    def post(
        self,
        target: Target,
        report: ChannelReport,
        kind: store.PostKind,
        key: str,
        arxiv_id: str | None,
        row: PostRow | None,
        message: dict[str, Any],
        hash_: str | None,
        thread_ts: str | None = None,
    ) -> PostRow | None:
        """Post one message exactly once (in `thread_ts`'s thread when given);
        None when another process owns it now."""
        self._check("before_intent", row)
        self.renew(target)
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
        what = post_label(row)
        try:
            sent = self.once.post(
                row,
                PostIntents(self.engine, self.clock, hash_),
                send=lambda r: self.slack.post(target.channel, message, post_metadata(r), thread_ts),
                find=lambda r: self._find(target, [r]).get(r.id),
                what=f"{what} in {target.channel}",
            )
        except NotSent as err:
            raise refused_stop(target.channel, f"posting {what}", err.refusal) from err.refusal
        except NoAnswer as err:
            raise stop_for(target.channel, f"posting {what}", "unreachable", err.detail) from err
        if sent is None:
            return None
        if sent.adopted:
            report.adopted += 1
        else:
            report.posted += 1
        self._store_permalink(sent.row.id, target.channel, sent.ts)
        return store.get_post(self.engine, sent.row.id)

    def update(
        self,
        target: Target,
        report: ChannelReport,
        row: PostRow,
        message: dict[str, Any],
        hash_: str | None,
    ) -> PostRow:
        """chat.update a posted message to what it should show now (safe to repeat)."""
        assert row.ts is not None
        self._check("before_update", row)
        self.renew(target)
        ts = row.ts
        try:
            self.once.repeat(lambda: self.slack.update(target.channel, ts, message, post_metadata(row)))
        except SlackRefused as err:
            if err.error in GONE_ERRORS:
                log.warning(
                    "%s in %s: cannot update message %s (%s); left as it is",
                    post_label(row),
                    target.channel,
                    row.ts,
                    err.error,
                )
                store.record_update(self.engine, row.id, content_hash=hash_, now=self.clock())
                store.note_error(self.engine, row.id, error=err.error, now=self.clock())
                return row
            raise refused_stop(target.channel, f"updating {post_label(row)}", err) from err
        except SlackUncertain as err:
            raise stop_for(
                target.channel, f"updating {post_label(row)}", "unreachable", err.detail
            ) from err
        self._check("after_update", row)
        store.record_update(self.engine, row.id, content_hash=hash_, now=self.clock())
        report.updated += 1
        return store.get_post(self.engine, row.id) or row

    # ---- permalinks --------------------------------------------------------------------

    def permalink(self, row: PostRow) -> str | None:
        """A posted row's permalink, fetched now (None for a row without a ts)."""
        if row.ts is None:
            return None
        return self._store_permalink(row.id, row.channel, row.ts)

    def _store_permalink(self, post_id: int, channel: str, ts: str) -> str | None:
        """Best effort: a missing permalink is fetched again when a header needs it."""
        try:
            permalink = self.slack.permalink(channel, ts)
        except (SlackRefused, SlackUncertain) as err:
            log.info("no permalink for %s in %s yet: %s", ts, channel, err)
            return None
        store.set_permalink(self.engine, post_id, permalink)
        return permalink

