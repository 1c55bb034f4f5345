"""What the bot posted where: one `posts` row per Slack message it owns.

Exactly-once posting rests on these rows. A message's `posts` row is committed
as `pending` *before* Slack is called and completed with its `ts` right after;
a row still `pending` at the next run is a message whose fate is unknown and
is looked up in Slack (by the row id carried in the message metadata) before
anything is posted again. `failed` rows are messages Slack refused: safe to
post again. Everything is portable SQL (SQLite and PostgreSQL): the one
concurrency primitive here is the conditional UPDATE, checked by its rowcount.
Who may write a row at all is decided by a lease (`bot.store.leases`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
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
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from bot.store.schema import UtcDateTime, metadata, utc, utc_or_none

#: "recap": a channel's weekly recap; "chart": its chart, uploaded into its thread (ts holds the file id).
PostKind = Literal["header", "paper", "note", "recap", "chart"]

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
        posted_at=utc_or_none(row.posted_at),
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


__all__ = ["PostKind", "PostRow", "posts"]
