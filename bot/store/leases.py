"""Lease rows: who may post a message (a digest, a recap, a weekly DM) right now.

One holder per key until `expires_at`; every change is a conditional UPDATE
checked by its rowcount, so of two processes racing for a lease exactly one
wins (SQLite and PostgreSQL alike). When a holder counts as dead is the
publisher's business (`bot.publisher.leases`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Column, Engine, String, Table, or_, select, update

from bot.store.database import insert_ignoring_duplicates
from bot.store.schema import UtcDateTime, metadata, utc

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


#: Who may post a digest to a channel right now: one holder, until expires_at.
leases = Table(
    "leases",
    metadata,
    Column("lease_key", String(200), primary_key=True),
    Column("holder", String(200)),
    Column("expires_at", UtcDateTime, nullable=False),
)


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


__all__ = ["Lease", "leases"]
