"""What the bot posted where: post records, digest marks, leases, runs, thread replies.

Exactly-once posting rests on these rows. A message's `posts` row is committed
as `pending` *before* Slack is called and completed with its `ts` right after;
a row still `pending` at the next run is a message whose fate is unknown and
is looked up in Slack (by the row id carried in the message metadata) before
anything is posted again. `failed` rows are messages Slack refused: safe to
post again. Everything is portable SQL (SQLite and PostgreSQL): the one
concurrency primitive here is the conditional UPDATE, checked by its rowcount.
On PostgreSQL the publisher also holds a per-channel claim (`bot.store.locks`)
that frees itself when its process dies, so a dead holder's lease is taken
over at once instead of after it expires.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    Engine,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from bot.store.database import insert_ignoring_duplicates
from bot.store.schema import UtcDateTime, digests, entries, metadata, papers

#: "recap": a channel's weekly recap; "chart": its chart, uploaded into its thread (ts holds the file id).
PostKind = Literal["header", "paper", "note", "recap", "chart"]
PostState = Literal["pending", "posted", "failed"]
MarkState = Literal["skipped", "posting", "posted"]
#: Why a digest was taken up: its week became due, a first start skipped it,
#: `post --backfill`, or `post --week`.
MarkOrigin = Literal["schedule", "first_start", "backfill", "manual"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_CHUNK = 500

#: One row per Slack message the bot owns (a digest header or a paper card).
posts = Table(
    "posts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("channel", String(32), nullable=False),
    # "paper:<arxiv_id>" or "header:<slug>:<week_start>": a paper is posted once
    # per channel whichever topics hold it, a header once per channel and digest.
    Column("post_key", String(160), nullable=False),
    Column("kind", String(8), nullable=False),
    Column("slug", String(64), nullable=False),
    Column("week_start", Date, nullable=False),
    Column("arxiv_id", String(64)),
    Column("state", String(8), nullable=False),
    Column("ts", String(32)),
    Column("permalink", Text),
    # What the message shows: papers.content_hash for papers, a hash of the
    # rendered message for headers. A different hash now means "chat.update".
    Column("content_hash", String(32)),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("attempted_at", UtcDateTime, nullable=False),
    Column("posted_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("channel", "post_key", name="uq_posts_channel_key"),
    Index("ix_posts_digest", "channel", "slug", "week_start"),
    Index("ix_posts_arxiv_id", "arxiv_id"),
    Index("ix_posts_channel_ts", "channel", "ts"),
    Index("ix_posts_state", "state"),
)

#: Per channel, topic and week: whether the digest was posted, is being posted,
#: or was skipped on purpose (a first start does not flood a channel).
digest_marks = Table(
    "digest_marks",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("slug", String(64), primary_key=True),
    Column("week_start", Date, primary_key=True),
    Column("state", String(8), nullable=False),
    Column("origin", String(16), nullable=False),
    # The archive version the digest was last fully settled at; NULL: check again.
    Column("checked_version", BigInteger),
    Column("updated_at", UtcDateTime, nullable=False),
    # Papers of the digest not posted in the channel: over DIGEST_MAX_PAPERS_PER_DIGEST.
    Column("held_back", Integer),
)

#: Who may post a digest to a channel right now: one holder, until expires_at.
leases = Table(
    "leases",
    metadata,
    Column("lease_key", String(200), primary_key=True),
    Column("holder", String(200)),
    Column("expires_at", UtcDateTime, nullable=False),
)

#: One row per publishing run, for `digest-bot status`.
runs = Table(
    "runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_by", String(16), nullable=False),
    Column("holder", String(200), nullable=False),
    Column("started_at", UtcDateTime, nullable=False),
    Column("finished_at", UtcDateTime),
    Column("posted", Integer, nullable=False, default=0),
    Column("adopted", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("errors", JSON, nullable=False),
    Index("ix_runs_started_at", "started_at"),
)

#: One row per human reply in a paper's thread (no text): idempotent per reply ts,
#: so Slack's event retries never count a reply twice.
thread_replies = Table(
    "thread_replies",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("ts", String(32), primary_key=True),
    Column("thread_ts", String(32), nullable=False),
    Column("arxiv_id", String(64), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("replied_at", UtcDateTime, nullable=False),
    Index("ix_thread_replies_thread", "channel", "thread_ts"),
    Index("ix_thread_replies_arxiv_id", "arxiv_id"),
    Index("ix_thread_replies_replied_at", "replied_at"),
)


def utc(value: dt.datetime) -> dt.datetime:
    """An aware UTC datetime; naive values (SQLite drops the zone) are UTC already."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _opt_utc(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else utc(value)


def paper_key(arxiv_id: str) -> str:
    return f"paper:{arxiv_id}"


def header_key(slug: str, week_start: dt.date) -> str:
    return f"header:{slug}:{week_start.isoformat()}"


def recap_key(week_start: dt.date) -> str:
    """A channel's weekly recap of one digest week (posted once per channel and week)."""
    return f"recap:{week_start.isoformat()}"


def chart_key(week_start: dt.date) -> str:
    """The recap's chart, a file in the recap's thread."""
    return f"chart:{week_start.isoformat()}"


def note_key(slug: str, week_start: dt.date) -> str:
    """The reply in a digest header's thread that lists what was held back."""
    return f"note:{slug}:{week_start.isoformat()}"


# --------------------------------------------------------------------------------------
# Posts


@dataclass(frozen=True, slots=True)
class PostRow:
    """A `posts` row as a value."""

    id: int
    channel: str
    key: str
    kind: str
    slug: str
    week_start: dt.date
    arxiv_id: str | None
    state: str
    ts: str | None
    permalink: str | None
    content_hash: str | None
    attempts: int
    last_error: str | None
    created_at: dt.datetime
    attempted_at: dt.datetime
    posted_at: dt.datetime | None

    @property
    def posted(self) -> bool:
        return self.state == "posted"

    def belongs_to(self, slug: str, week_start: dt.date) -> bool:
        """Whether this message was posted for that digest (not for another topic's)."""
        return self.slug == slug and self.week_start == week_start


def _post(row: Any) -> PostRow:
    return PostRow(
        id=row.id,
        channel=row.channel,
        key=row.post_key,
        kind=row.kind,
        slug=row.slug,
        week_start=row.week_start,
        arxiv_id=row.arxiv_id,
        state=row.state,
        ts=row.ts,
        permalink=row.permalink,
        content_hash=row.content_hash,
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=utc(row.created_at),
        attempted_at=utc(row.attempted_at),
        posted_at=_opt_utc(row.posted_at),
    )


def get_post(engine: Engine, post_id: int) -> PostRow | None:
    with engine.connect() as conn:
        row = conn.execute(select(posts).where(posts.c.id == post_id)).first()
    return _post(row) if row else None


def posts_by_key(engine: Engine, channel: str, keys: Sequence[str]) -> dict[str, PostRow]:
    """The rows of these keys in a channel (missing keys left out)."""
    found: dict[str, PostRow] = {}
    with engine.connect() as conn:
        for i in range(0, len(keys), _CHUNK):
            query = select(posts).where(
                posts.c.channel == channel, posts.c.post_key.in_(keys[i : i + _CHUNK])
            )
            found.update((r.post_key, _post(r)) for r in conn.execute(query))
    return found


def digest_rows(
    engine: Engine, channel: str, slug: str, week_start: dt.date, *, state: str | None = None
) -> list[PostRow]:
    """The rows posted for one digest in one channel (optionally in one state), by id."""
    query = select(posts).where(
        posts.c.channel == channel, posts.c.slug == slug, posts.c.week_start == week_start
    )
    if state is not None:
        query = query.where(posts.c.state == state)
    with engine.connect() as conn:
        return [_post(r) for r in conn.execute(query.order_by(posts.c.id))]


def create_intent(
    engine: Engine,
    *,
    channel: str,
    key: str,
    kind: PostKind,
    slug: str,
    week_start: dt.date,
    arxiv_id: str | None,
    content_hash: str | None,
    now: dt.datetime,
) -> PostRow | None:
    """Commit a `pending` row before posting; None if the key is already taken."""
    now = utc(now)
    values = {
        "channel": channel,
        "post_key": key,
        "kind": kind,
        "slug": slug,
        "week_start": week_start,
        "arxiv_id": arxiv_id,
        "state": "pending",
        "content_hash": content_hash,
        "attempts": 1,
        "created_at": now,
        "attempted_at": now,
        "updated_at": now,
    }
    return _insert_post(engine, values)  # None: another digest or process took this key first


def adopt_post(
    engine: Engine,
    *,
    channel: str,
    key: str,
    kind: PostKind,
    slug: str,
    week_start: dt.date,
    arxiv_id: str | None,
    ts: str,
    content_hash: str | None,
    now: dt.datetime,
) -> PostRow | None:
    """Record a message found in the channel (posted by an earlier store) as posted.

    None when the key has a row already (another process adopted or posted it).
    """
    now = utc(now)
    values = {
        "channel": channel,
        "post_key": key,
        "kind": kind,
        "slug": slug,
        "week_start": week_start,
        "arxiv_id": arxiv_id,
        "state": "posted",
        "ts": ts,
        "content_hash": content_hash,
        "attempts": 0,
        "last_error": "adopted from the channel's history",
        "created_at": now,
        "attempted_at": now,
        "posted_at": now,
        "updated_at": now,
    }
    return _insert_post(engine, values)


def _insert_post(engine: Engine, values: Mapping[str, Any]) -> PostRow | None:
    """Insert one post row; None when its (channel, key) has a row already."""
    try:
        with engine.begin() as conn:
            post_id = conn.execute(insert(posts).values(dict(values)).returning(posts.c.id)).scalar_one()
    except IntegrityError:
        return None
    return get_post(engine, post_id)


def retry_intent(
    engine: Engine, row: PostRow, *, content_hash: str | None, now: dt.datetime
) -> PostRow | None:
    """Take a `failed` (or reconciled, not found) row for one more attempt.

    Compare-and-swap on (state, attempts): of two processes retrying the same
    row only one wins, the other gets None and leaves the message alone.
    """
    now = utc(now)
    with engine.begin() as conn:
        changed = conn.execute(
            update(posts)
            .where(
                posts.c.id == row.id, posts.c.state == row.state, posts.c.attempts == row.attempts
            )
            .values(
                state="pending",
                attempts=row.attempts + 1,
                attempted_at=now,
                updated_at=now,
                content_hash=content_hash,
            )
        ).rowcount
    return get_post(engine, row.id) if changed == 1 else None


def mark_posted(
    engine: Engine, post_id: int, *, ts: str, now: dt.datetime, adopted: bool = False
) -> None:
    """Slack has the message: record its ts (the step after which it is never posted again)."""
    now = utc(now)
    with engine.begin() as conn:
        conn.execute(
            update(posts)
            .where(posts.c.id == post_id)
            .values(
                state="posted",
                ts=ts,
                posted_at=now,
                updated_at=now,
                last_error="adopted after an interrupted post" if adopted else None,
            )
        )


def mark_failed(engine: Engine, post_id: int, *, error: str, now: dt.datetime) -> None:
    """Slack refused the message (it is certainly not posted): retried on a later run."""
    _set(engine, post_id, state="failed", last_error=error, updated_at=utc(now))


def note_error(engine: Engine, post_id: int, *, error: str, now: dt.datetime) -> None:
    """Remember the last problem with a message without changing its state."""
    _set(engine, post_id, last_error=error, updated_at=utc(now))


def record_update(
    engine: Engine, post_id: int, *, content_hash: str | None, now: dt.datetime
) -> None:
    """The message now shows this content (after chat.update)."""
    _set(engine, post_id, content_hash=content_hash, last_error=None, updated_at=utc(now))


def forget_unposted(engine: Engine, post_ids: Sequence[int]) -> None:
    """Delete rows of messages that are certainly not in Slack (a paper left its digest)."""
    if not post_ids:
        return
    with engine.begin() as conn:
        conn.execute(delete(posts).where(posts.c.id.in_(list(post_ids)), posts.c.state == "failed"))


def set_permalink(engine: Engine, post_id: int, permalink: str) -> None:
    _set(engine, post_id, permalink=permalink)


def _set(engine: Engine, post_id: int, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(update(posts).where(posts.c.id == post_id).values(**values))


def unsettled_posts(engine: Engine, *, limit: int = 100) -> list[PostRow]:
    """Pending and failed rows, oldest first: what `status` shows as needing attention."""
    query = (
        select(posts)
        .where(posts.c.state.in_(("pending", "failed")))
        .order_by(posts.c.attempted_at, posts.c.id)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [_post(r) for r in conn.execute(query)]


def post_counts(engine: Engine) -> dict[str, int]:
    """Rows per state (`posted`, `pending`, `failed`)."""
    query = select(posts.c.state, func.count()).group_by(posts.c.state)
    with engine.connect() as conn:
        counts = {state: n for state, n in conn.execute(query)}
    return {state: counts.get(state, 0) for state in ("posted", "pending", "failed")}


# --------------------------------------------------------------------------------------
# What the archive holds now (the store layer owns the SQL on archive tables)


def paper_hashes(engine: Engine, arxiv_ids: Sequence[str]) -> dict[str, str]:
    """papers.content_hash of these papers: what a posted card must match."""
    found: dict[str, str] = {}
    with engine.connect() as conn:
        for i in range(0, len(arxiv_ids), _CHUNK):
            query = select(papers.c.arxiv_id, papers.c.content_hash).where(
                papers.c.arxiv_id.in_(arxiv_ids[i : i + _CHUNK])
            )
            found.update((r.arxiv_id, r.content_hash) for r in conn.execute(query))
    return found


def digest_versions(engine: Engine, slugs: Iterable[str]) -> dict[tuple[str, dt.date], int]:
    """(slug, week_start) -> the newest archive version among the digest's papers.

    A posted digest whose value moved past its mark's `checked_version` holds a
    new or edited paper; the others need no look at all.
    """
    query = (
        select(digests.c.slug, digests.c.week_start, func.max(papers.c.version))
        .join(entries, entries.c.digest_id == digests.c.id)
        .join(papers, papers.c.arxiv_id == entries.c.arxiv_id)
        .where(digests.c.slug.in_(list(slugs)))
        .group_by(digests.c.slug, digests.c.week_start)
    )
    with engine.connect() as conn:
        return {(slug, week): int(version) for slug, week, version in conn.execute(query)}


# --------------------------------------------------------------------------------------
# Digest marks


@dataclass(frozen=True, slots=True)
class Mark:
    channel: str
    slug: str
    week_start: dt.date
    state: str
    origin: str
    checked_version: int | None


def marks(engine: Engine, channel: str, slug: str) -> dict[dt.date, Mark]:
    """Every mark of one topic in one channel, by week."""
    query = select(digest_marks).where(
        digest_marks.c.channel == channel, digest_marks.c.slug == slug
    )
    with engine.connect() as conn:
        return {
            r.week_start: Mark(
                r.channel, r.slug, r.week_start, r.state, r.origin, r.checked_version
            )
            for r in conn.execute(query)
        }


def set_mark(
    engine: Engine,
    *,
    channel: str,
    slug: str,
    week_start: dt.date,
    state: MarkState,
    origin: MarkOrigin,
    checked_version: int | None,
    now: dt.datetime,
    held_back: int = 0,
) -> None:
    """Insert or replace one mark (`held_back`: papers over the per-digest cap, not posted)."""
    values = {
        "state": state,
        "origin": origin,
        "checked_version": checked_version,
        "updated_at": utc(now),
        "held_back": held_back or None,
    }
    where = (
        digest_marks.c.channel == channel,
        digest_marks.c.slug == slug,
        digest_marks.c.week_start == week_start,
    )
    with engine.begin() as conn:
        if conn.execute(update(digest_marks).where(*where).values(**values)).rowcount == 0:
            insert_ignoring_duplicates(
                conn,
                digest_marks,
                [{"channel": channel, "slug": slug, "week_start": week_start, **values}],
            )


def add_skipped(
    engine: Engine, channel: str, slug: str, weeks: Iterable[dt.date], now: dt.datetime
) -> None:
    """Record weeks a first start leaves alone (kept if another process marked them first)."""
    rows = [
        {
            "channel": channel,
            "slug": slug,
            "week_start": week,
            "state": "skipped",
            "origin": "first_start",
            "checked_version": None,
            "updated_at": utc(now),
        }
        for week in weeks
    ]
    with engine.begin() as conn:
        insert_ignoring_duplicates(conn, digest_marks, rows)


def marked_channels(engine: Engine) -> list[str]:
    """Every channel a digest has been marked in (posted, posting or skipped)."""
    query = select(digest_marks.c.channel).distinct().order_by(digest_marks.c.channel)
    with engine.connect() as conn:
        return list(conn.scalars(query))


@dataclass(frozen=True, slots=True)
class HeldBack:
    """A digest whose papers over the per-digest cap were not posted in a channel."""

    channel: str
    slug: str
    week_start: dt.date
    papers: int


def held_back(engine: Engine, limit: int = 50) -> list[HeldBack]:
    """Digests with papers held back, newest week first (for `digest-bot status`)."""
    query = (
        select(digest_marks.c.channel, digest_marks.c.slug, digest_marks.c.week_start, digest_marks.c.held_back)
        .where(digest_marks.c.held_back > 0)
        .order_by(digest_marks.c.week_start.desc(), digest_marks.c.channel, digest_marks.c.slug)
        .limit(limit)
    )
    with engine.connect() as conn:
        return [HeldBack(r.channel, r.slug, r.week_start, r.held_back) for r in conn.execute(query)]


def mark_counts(engine: Engine) -> dict[str, int]:
    query = select(digest_marks.c.state, func.count()).group_by(digest_marks.c.state)
    with engine.connect() as conn:
        return {state: n for state, n in conn.execute(query)}


# --------------------------------------------------------------------------------------
# Leases


@dataclass(frozen=True, slots=True)
class Lease:
    key: str
    holder: str | None
    expires_at: dt.datetime


def acquire_lease(
    engine: Engine, key: str, holder: str, *, now: dt.datetime, ttl: dt.timedelta
) -> bool:
    """Take or renew the lease: only if it is free, expired, or already ours.

    True: you alone may post this digest until `now + ttl`. Under READ
    COMMITTED (PostgreSQL) the UPDATE re-checks its WHERE on the row it waited
    for, so of two processes racing for an expired lease exactly one wins.
    """
    now = utc(now)
    with engine.begin() as conn:
        insert_ignoring_duplicates(
            conn, leases, [{"lease_key": key, "holder": None, "expires_at": _EPOCH}]
        )
        taken = conn.execute(
            update(leases)
            .where(
                leases.c.lease_key == key, or_(leases.c.expires_at < now, leases.c.holder == holder)
            )
            .values(holder=holder, expires_at=now + ttl)
        ).rowcount
    return taken == 1


def take_over_lease(
    engine: Engine, key: str, *, dead_holder: str, holder: str, now: dt.datetime, ttl: dt.timedelta
) -> bool:
    """Take a lease from a holder known to be dead (compare-and-swap on the holder)."""
    with engine.begin() as conn:
        taken = conn.execute(
            update(leases)
            .where(leases.c.lease_key == key, leases.c.holder == dead_holder)
            .values(holder=holder, expires_at=utc(now) + ttl)
        ).rowcount
    return taken == 1


def release_lease(engine: Engine, key: str, holder: str) -> None:
    """Give the lease back at once (only if still ours)."""
    with engine.begin() as conn:
        conn.execute(
            update(leases)
            .where(leases.c.lease_key == key, leases.c.holder == holder)
            .values(holder=None, expires_at=_EPOCH)
        )


def get_lease(engine: Engine, key: str) -> Lease | None:
    with engine.connect() as conn:
        row = conn.execute(select(leases).where(leases.c.lease_key == key)).first()
    return Lease(row.lease_key, row.holder, utc(row.expires_at)) if row else None


def held_leases(engine: Engine, now: dt.datetime) -> list[Lease]:
    """Leases not yet expired (who is posting what right now)."""
    query = select(leases).where(leases.c.holder.is_not(None), leases.c.expires_at >= utc(now))
    with engine.connect() as conn:
        return [
            Lease(r.lease_key, r.holder, utc(r.expires_at))
            for r in conn.execute(query.order_by(leases.c.lease_key))
        ]


# --------------------------------------------------------------------------------------
# Runs


@dataclass(frozen=True, slots=True)
class RunRow:
    id: int
    trigger: str
    holder: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    posted: int
    adopted: int
    updated: int
    errors: list[dict[str, Any]]


def start_run(engine: Engine, *, trigger: str, holder: str, now: dt.datetime) -> int:
    with engine.begin() as conn:
        return int(
            conn.execute(
                insert(runs)
                .values(
                    started_by=trigger,
                    holder=holder,
                    started_at=utc(now),
                    posted=0,
                    adopted=0,
                    updated=0,
                    errors=[],
                )
                .returning(runs.c.id)
            ).scalar_one()
        )


def finish_run(
    engine: Engine,
    run_id: int,
    *,
    now: dt.datetime,
    posted: int,
    adopted: int,
    updated: int,
    errors: Sequence[Mapping[str, Any]],
) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(runs)
            .where(runs.c.id == run_id)
            .values(
                finished_at=utc(now),
                posted=posted,
                adopted=adopted,
                updated=updated,
                errors=list(errors),
            )
        )


def recent_runs(engine: Engine, limit: int = 5) -> list[RunRow]:
    """The latest runs, newest first (an unfinished one was interrupted or is running)."""
    query = select(runs).order_by(runs.c.started_at.desc(), runs.c.id.desc()).limit(limit)
    with engine.connect() as conn:
        return [
            RunRow(
                r.id,
                r.started_by,
                r.holder,
                utc(r.started_at),
                _opt_utc(r.finished_at),
                r.posted,
                r.adopted,
                r.updated,
                list(r.errors),
            )
            for r in conn.execute(query)
        ]


__all__ = [
    "Lease",
    "Mark",
    "PostRow",
    "RunRow",
    "digest_marks",
    "leases",
    "posts",
    "runs",
    "thread_replies",
]
