"""The `state` table's key-value helpers, apart from the indexer that also writes them.

The archive version, the source's git commit and the resolved channel ids all
live in `state`; the catalog, the publisher and the source's bookkeeping read
them. Kept here, none of them imports the 600-line indexer (`bot.store.sync`)
for three small functions.
"""

from __future__ import annotations

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from bot.store.schema import state


def get_state(conn: Connection, key: str) -> str | None:
    """The value stored under `key`, or None."""
    return conn.execute(select(state.c.value).where(state.c.key == key)).scalar_one_or_none()


def set_state(conn: Connection, key: str, value: str) -> None:
    """Store `value` under `key`, replacing what was there (an UPDATE, else an INSERT)."""
    if conn.execute(update(state).where(state.c.key == key).values(value=value)).rowcount == 0:
        conn.execute(insert(state).values(key=key, value=value))


def archive_version(conn: Connection) -> int:
    """The store's archive version: it moves whenever a sync changes anything."""
    return int(get_state(conn, "archive_version") or 0)
