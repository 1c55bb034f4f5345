"""The weekly DMs' records: one `dm_posts` row per (user, week), like `posts` for the channel.

The row is committed `pending` (with the DM channel) *before* chat.postMessage
and completed with the message's ts after; a row still pending at the next
pass is looked up in the DM's history by the id in the message's metadata
before anything is sent again. `failed` rows were refused by Slack: safe to
send again. Every change of state is a compare-and-swap, so two processes
never both send one person's DM.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.store.personal import dm_posts
from bot.store.schema import utc


@dataclass(frozen=True, slots=True)
class DmRow:
    id: int
    user_id: str
    week_start: dt.date
    state: str
    channel: str | None
    ts: str | None
    papers: tuple[str, ...]
    content_hash: str | None
    attempts: int
    last_error: str | None
    attempted_at: dt.datetime

    @property
    def posted(self) -> bool:
        return self.state == "posted"


def _row(r: Any) -> DmRow:
    return DmRow(
        r.id, r.user_id, r.week_start, r.state, r.channel, r.ts, tuple(r.papers or ()),
        r.content_hash, r.attempts, r.last_error, utc(r.attempted_at),
    )


def get(engine: Engine, dm_id: int) -> DmRow | None:
    with engine.connect() as conn:
        r = conn.execute(select(dm_posts).where(dm_posts.c.id == dm_id)).first()
    return _row(r) if r is not None else None


def week_rows(engine: Engine, week: dt.date) -> dict[str, DmRow]:
    """Every person's row for the week."""
    with engine.connect() as conn:
        return {r.user_id: _row(r) for r in conn.execute(select(dm_posts).where(dm_posts.c.week_start == week))}


def user_week_row(engine: Engine, user_id: str, week: dt.date) -> DmRow | None:
    """The person's row for the week, as it is now."""
    query = select(dm_posts).where(dm_posts.c.user_id == user_id, dm_posts.c.week_start == week)
    with engine.connect() as conn:
        r = conn.execute(query).first()
    return _row(r) if r is not None else None


def user_rows(engine: Engine, user_id: str) -> list[DmRow]:
    query = select(dm_posts).where(dm_posts.c.user_id == user_id).order_by(dm_posts.c.week_start)
    with engine.connect() as conn:
        return [_row(r) for r in conn.execute(query)]


def create_intent(
    engine: Engine,
    *,
    user_id: str,
    week: dt.date,
    channel: str,
    papers: Sequence[str],
    content_hash: str,
    now: dt.datetime,
) -> DmRow | None:
    """Commit the `pending` row before sending; None when the (user, week) row exists."""
    now = utc(now)
    values = {
        "user_id": user_id, "week_start": week, "state": "pending", "channel": channel, "papers": list(papers),
        "content_hash": content_hash, "attempts": 1, "created_at": now, "attempted_at": now, "updated_at": now,
    }
    try:
        with engine.begin() as conn:
            dm_id = conn.execute(insert(dm_posts).values(values).returning(dm_posts.c.id)).scalar_one()
    except IntegrityError:
        return None
    return get(engine, int(dm_id))


def retry_intent(
    engine: Engine, row: DmRow, *, channel: str, papers: Sequence[str], content_hash: str, now: dt.datetime
) -> DmRow | None:
    """Take a `failed` row for one more attempt (compare-and-swap on state and attempts)."""
    now = utc(now)
    with engine.begin() as conn:
        changed = conn.execute(
            update(dm_posts)
            .where(dm_posts.c.id == row.id, dm_posts.c.state == row.state, dm_posts.c.attempts == row.attempts)
            .values(
                state="pending", channel=channel, papers=list(papers), content_hash=content_hash,
                attempts=row.attempts + 1, attempted_at=now, updated_at=now,
            )
        ).rowcount
    return get(engine, row.id) if changed == 1 else None


def mark_posted(engine: Engine, dm_id: int, *, ts: str, now: dt.datetime, adopted: bool = False) -> None:
    """Slack has the DM: record its ts (after which it is never sent again)."""
    _set(
        engine, dm_id, state="posted", ts=ts, posted_at=utc(now), updated_at=utc(now),
        last_error="adopted after an interrupted send" if adopted else None,
    )


def mark_failed(engine: Engine, dm_id: int, *, error: str, now: dt.datetime) -> None:
    """Slack refused the DM (certainly not sent): tried again by a later pass."""
    _set(engine, dm_id, state="failed", last_error=error[:500], updated_at=utc(now))


def note_error(engine: Engine, dm_id: int, *, error: str, now: dt.datetime) -> None:
    _set(engine, dm_id, last_error=error[:500], updated_at=utc(now))


def record_update(engine: Engine, dm_id: int, *, papers: Sequence[str], content_hash: str, now: dt.datetime) -> None:
    """The DM now lists these papers (after chat.update)."""
    _set(engine, dm_id, papers=list(papers), content_hash=content_hash, last_error=None, updated_at=utc(now))


def _set(engine: Engine, dm_id: int, **values: Any) -> None:
    with engine.begin() as conn:
        conn.execute(update(dm_posts).where(dm_posts.c.id == dm_id).values(**values))
