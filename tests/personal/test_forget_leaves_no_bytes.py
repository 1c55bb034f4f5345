"""`/papers forget me` on SQLite: the person's id is gone from the files, not only from the tables.

A delete in WAL mode appends the changed pages to the `-wal` file, and the old
row's bytes stay in the database file's free space: the user id was still in
`store.sqlite3-wal` after forget me. The delete overwrites what it frees
(`secure_delete`) and the WAL is checkpointed and truncated right after it.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import insert

from bot.engagement.votes import record_reaction
from bot.personal import records
from bot.personal.privacy import forget_user
from bot.store import dms, open_engine
from bot.store import posts as store
from bot.store.replies import thread_replies

NOW = dt.datetime(2025, 1, 24, 9, tzinfo=dt.UTC)
WEEK = dt.date(2025, 1, 17)
WHO = "U0FORGETME7Q"
OTHER = "U0STAYSHERE"


def store_files(path: Path) -> bytes:
    """Every byte SQLite keeps for the store: the database, its WAL and shared memory."""
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")) if p.is_file())


def test_forget_me_leaves_the_user_id_in_no_store_file(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    engine = open_engine(f"sqlite:///{path}")
    post = store.create_intent(engine, channel="C0SD", key=store.paper_key("2501.00001"), kind="paper", slug="dp",
                               week_start=WEEK, arxiv_id="2501.00001", content_hash=None, now=NOW)
    assert post is not None
    store.mark_posted(engine, post.id, ts="1700000000.000100", now=NOW)  # a paper's message, voted on below
    for user in (WHO, OTHER):
        records.add_follow(engine, user, f"privacy {user}", now=NOW)
        records.save_paper(engine, user, "2501.00001", now=NOW)
        records.set_dm_channel(engine, user, f"D{user}", now=NOW)
        assert record_reaction(engine, channel="C0SD", ts="1700000000.000100", user=user, reaction="eyes",
                               added=True, bot_user_id="U0BOT", item_user="U0BOT")
        with engine.begin() as conn:
            conn.execute(insert(thread_replies).values(channel="C0SD", ts=f"17000000{len(user)}.{user[-4:]}",
                                                       thread_ts="1700000000.000100", arxiv_id="2501.00001",
                                                       user_id=user, replied_at=NOW))
        assert dms.create_intent(engine, user_id=user, week=WEEK, channel=f"D{user}", papers=["2501.00001"],
                                 content_hash="h", now=NOW) is not None
    assert WHO.encode() in store_files(path)

    forget_user(engine, WHO)

    assert WHO.encode() not in store_files(path)  # not in the WAL, not in the freed pages
    assert OTHER.encode() in store_files(path)  # the others' rows are all there
    assert records.user_follows(engine, OTHER) != []
    engine.dispose()
    assert WHO.encode() not in store_files(path)
