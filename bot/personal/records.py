"""A person's own things in the store: follows, saved papers, DM settings, the last Home visit.

Plain functions of (engine, user id, ...): the Slack listeners, `Lookup`, the
weekly DM pass and the Home tab all go through them. Every read is scoped to
one user id, so nothing here can hand one person's follows or reading list to
another. Checking a follow against the archive is `bot.personal.follows`' job.

`person_mutex` serialises what must not interleave for one person: the weekly
DM pass holds it while it reads a person's follows and sends their DM, and
unfollowing, muting and `forget me` wait for it, so a DM never goes out from
follows already removed, to a person who muted DMs, or who was forgotten.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.store import locks
from bot.store.personal import follows, people, saved_papers
from bot.store.schema import utc

#: At most this many follows per person (each is a search in the weekly DM pass).
MAX_FOLLOWS = 50
#: At most this many saved papers per person.
MAX_SAVED = 1000


@dataclass(frozen=True, slots=True)
class Follow:
    id: int
    user_id: str
    query: str
    created_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Saved:
    arxiv_id: str
    saved_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Person:
    user_id: str
    dm_muted: bool = False
    dm_channel: str | None = None
    home_seen_at: dt.datetime | None = None


def person_mutex(engine: Engine, user_id: str) -> AbstractContextManager[None]:
    """Held while a person's DM is made and sent, and while they unfollow, mute or are forgotten."""
    return locks.mutex(engine, f"person:{user_id}")


def query_key(canonical: str) -> str:
    """The same follow typed twice (any case, spacing) is one follow."""
    return hashlib.sha256(" ".join(canonical.casefold().split()).encode()).hexdigest()


# ---- follows ---------------------------------------------------------------------------


def add_follow(engine: Engine, user_id: str, query: str, *, now: dt.datetime) -> Follow | None:
    """Save a follow (`query`: its canonical text); None when the person follows it already."""
    values = {"user_id": user_id, "query": query, "query_key": query_key(query), "created_at": utc(now)}
    try:
        with engine.begin() as conn:
            follow_id = conn.execute(insert(follows).values(values).returning(follows.c.id)).scalar_one()
    except IntegrityError:
        return None
    return Follow(int(follow_id), user_id, query, utc(now))


def user_follows(engine: Engine, user_id: str) -> list[Follow]:
    """A person's follows, oldest first (the order they are listed and numbered in)."""
    query = select(follows).where(follows.c.user_id == user_id).order_by(follows.c.created_at, follows.c.id)
    with engine.connect() as conn:
        return [Follow(r.id, r.user_id, r.query, utc(r.created_at)) for r in conn.execute(query)]


def count_follows(engine: Engine, user_id: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(follows.c.user_id == user_id)).scalar_one())


def remove_follow(engine: Engine, user_id: str, follow_id: int) -> bool:
    """Delete one of the person's follows (another person's id deletes nothing).

    Waits for a weekly DM of theirs being sent: none goes out after this returns
    that was made from the removed follow."""
    with person_mutex(engine, user_id), engine.begin() as conn:
        gone = conn.execute(delete(follows).where(follows.c.id == follow_id, follows.c.user_id == user_id))
    return gone.rowcount == 1


def followers(engine: Engine) -> list[str]:
    """Every person with follows whose DMs are not muted (whom the DM pass looks at).

    Only who: each person's follows and mute are read again when their DM is
    made (`dm_follows`, under `person_mutex`), since the pass takes minutes."""
    muted = select(people.c.user_id).where(people.c.dm_muted.is_(True))
    query = select(follows.c.user_id).where(follows.c.user_id.not_in(muted)).distinct().order_by(follows.c.user_id)
    with engine.connect() as conn:
        return list(conn.scalars(query))


def dm_follows(engine: Engine, user_id: str) -> list[Follow]:
    """The person's follows as their weekly DM is made now; none when they muted DMs."""
    muted = select(people.c.user_id).where(people.c.user_id == user_id, people.c.dm_muted.is_(True))
    query = (
        select(follows)
        .where(follows.c.user_id == user_id, ~muted.exists())
        .order_by(follows.c.created_at, follows.c.id)
    )
    with locks.snapshot(engine) as conn:
        return [Follow(r.id, r.user_id, r.query, utc(r.created_at)) for r in conn.execute(query)]


# ---- saved papers ----------------------------------------------------------------------


def save_paper(engine: Engine, user_id: str, arxiv_id: str, *, now: dt.datetime) -> bool:
    """Add a paper to the person's reading list; False when it is there already."""
    try:
        with engine.begin() as conn:
            conn.execute(insert(saved_papers).values(user_id=user_id, arxiv_id=arxiv_id, saved_at=utc(now)))
    except IntegrityError:
        return False
    return True


def unsave_paper(engine: Engine, user_id: str, arxiv_id: str) -> bool:
    with engine.begin() as conn:
        gone = conn.execute(
            delete(saved_papers).where(saved_papers.c.user_id == user_id, saved_papers.c.arxiv_id == arxiv_id)
        )
    return gone.rowcount == 1


def saved(engine: Engine, user_id: str, *, limit: int | None = None, offset: int = 0) -> list[Saved]:
    """The person's saved papers, newest first."""
    query = (
        select(saved_papers.c.arxiv_id, saved_papers.c.saved_at)
        .where(saved_papers.c.user_id == user_id)
        .order_by(saved_papers.c.saved_at.desc(), saved_papers.c.arxiv_id)
        .offset(max(offset, 0))
    )
    if limit is not None:
        query = query.limit(max(limit, 0))
    with engine.connect() as conn:
        return [Saved(r.arxiv_id, utc(r.saved_at)) for r in conn.execute(query)]


def count_saved(engine: Engine, user_id: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(saved_papers.c.user_id == user_id)).scalar_one())


def saved_among(engine: Engine, user_id: str, arxiv_ids: Sequence[str]) -> set[str]:
    """Which of these papers the person has saved (to show "Saved" instead of "Save")."""
    if not arxiv_ids:
        return set()
    query = select(saved_papers.c.arxiv_id).where(
        saved_papers.c.user_id == user_id, saved_papers.c.arxiv_id.in_(list(arxiv_ids))
    )
    with engine.connect() as conn:
        return set(conn.scalars(query))


# ---- people ----------------------------------------------------------------------------


def person(engine: Engine, user_id: str) -> Person:
    """What the bot keeps about a person's settings (defaults when nothing)."""
    with engine.connect() as conn:
        row = conn.execute(select(people).where(people.c.user_id == user_id)).first()
    if row is None:
        return Person(user_id)
    seen = utc(row.home_seen_at) if row.home_seen_at is not None else None
    return Person(row.user_id, bool(row.dm_muted), row.dm_channel, seen)


def _set_person(engine: Engine, user_id: str, now: dt.datetime, **values: object) -> None:
    values = {**values, "updated_at": utc(now)}
    with engine.begin() as conn:
        if conn.execute(update(people).where(people.c.user_id == user_id).values(**values)).rowcount:
            return
    try:
        with engine.begin() as conn:
            conn.execute(insert(people).values({"user_id": user_id, "dm_muted": False, **values}))
    except IntegrityError:  # another process made the row first: update it
        with engine.begin() as conn:
            conn.execute(update(people).where(people.c.user_id == user_id).values(**values))


def set_dm_muted(engine: Engine, user_id: str, muted: bool, *, now: dt.datetime) -> None:
    """Mute or unmute the weekly DM (waits for one of theirs being sent)."""
    with person_mutex(engine, user_id):
        _set_person(engine, user_id, now, dm_muted=muted)


def set_dm_channel(engine: Engine, user_id: str, channel: str | None, *, now: dt.datetime) -> None:
    _set_person(engine, user_id, now, dm_channel=channel)


def set_home_seen(engine: Engine, user_id: str, *, now: dt.datetime) -> None:
    _set_person(engine, user_id, now, home_seen_at=utc(now))
