"""Digest marks: per channel, topic and week, whether a digest was posted, is being posted or was skipped.

The publisher reads them to know what is due and writes them as a digest's
posting starts and settles; `status` counts them and lists what was held back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Engine,
    Integer,
    String,
    Table,
    func,
    select,
    update,
)

from bot.store.database import insert_ignoring_duplicates
from bot.store.schema import UtcDateTime, metadata, utc

MarkState = Literal["skipped", "posting", "posted"]
#: Why a digest was taken up: its week became due, a first start skipped it,
#: `post --backfill`, or `post --week`.
MarkOrigin = Literal["schedule", "first_start", "backfill", "manual"]


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


__all__ = ["HeldBack", "Mark", "MarkOrigin", "MarkState", "digest_marks"]
