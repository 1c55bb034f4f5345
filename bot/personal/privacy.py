"""`/papers forget me`: every row the bot stores about one person, deleted in one transaction.

What the bot keeps that names a person: their follows, saved papers and
settings (`people`), their weekly DMs' records, their reactions (votes) and
their replies in paper threads (counted, never their text). Channel posts
and runs name no one. Nothing about one person is ever shown to another.

Final against a weekly DM pass in flight: the delete waits for the person's
mutex (`bot.personal.records.person_mutex`), which the pass holds from reading their
follows to recording their DM. So a DM already on its way is finished (and its
row deleted here), and after this returns the pass finds no follows: no DM,
no new row.

Gone from the files too, on SQLite: what a delete frees is overwritten
(`PRAGMA secure_delete`), and the WAL, which still holds the pages as they
were, is checkpointed and truncated right after the delete.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete

from bot.personal.records import person_mutex
from bot.store import locks
from bot.store.personal import dm_posts, follows, people, reactions, saved_papers
from bot.store.replies import thread_replies

#: What is deleted, in the words the answer uses (and the order it lists them).
FORGOTTEN = (
    ("follows", follows),
    ("saved", saved_papers),
    ("votes", reactions),
    ("replies", thread_replies),
    ("dms", dm_posts),
    ("settings", people),
)


def forget_user(engine: Engine, user_id: str) -> dict[str, int]:
    """Delete everything about `user_id`; how many rows of each kind went."""
    counts: dict[str, int] = {}
    with person_mutex(engine, user_id), engine.begin() as conn:
        for name, table in FORGOTTEN:
            counts[name] = int(conn.execute(delete(table).where(table.c.user_id == user_id)).rowcount or 0)
    # SQLite: the deleted rows' bytes are overwritten (`secure_delete`), but the pages
    # that held them are still in the WAL until it is checkpointed.
    locks.checkpoint(engine)
    return counts
