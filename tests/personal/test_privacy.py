"""`/papers forget me`: every row about the person goes, nobody else's; follows stay private."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine, func, insert, select

from bot.engagement.votes import record_reaction
from bot.personal import records
from bot.personal.privacy import FORGOTTEN, forget_user
from bot.store import dms
from bot.store import posts as store
from bot.store.replies import thread_replies

pytestmark = pytest.mark.backends("sqlite", "postgresql")

NOW = dt.datetime(2025, 1, 24, 9, tzinfo=dt.UTC)
WEEK = dt.date(2025, 1, 17)


def rows_about(engine: Engine, user: str) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: int(conn.execute(select(func.count()).select_from(table).where(table.c.user_id == user)).scalar_one())
            for name, table in FORGOTTEN
        }


def everything_about(engine: Engine, user: str, ts: str) -> None:
    records.add_follow(engine, user, f"privacy {user}", now=NOW)
    records.add_follow(engine, user, "topic:fl", now=NOW)
    records.save_paper(engine, user, "2501.00001", now=NOW)
    records.set_dm_channel(engine, user, f"D{user}", now=NOW)
    records.set_home_seen(engine, user, now=NOW)
    assert record_reaction(engine, channel="C0SD", ts="1700000000.000100", user=user, reaction="eyes",
                           added=True, bot_user_id="U0BOT", item_user="U0BOT")
    with engine.begin() as conn:
        conn.execute(insert(thread_replies).values(channel="C0SD", ts=ts, thread_ts="1700000000.000100",
                                                   arxiv_id="2501.00001", user_id=user, replied_at=NOW))
    row = dms.create_intent(engine, user_id=user, week=WEEK, channel=f"D{user}", papers=["2501.00001"],
                            content_hash="h", now=NOW)
    assert row is not None


def test_forget_me_deletes_every_row_about_the_person_and_no_one_elses(engine: Engine) -> None:
    post = store.create_intent(engine, channel="C0SD", key=store.paper_key("2501.00001"), kind="paper", slug="dp",
                               week_start=WEEK, arxiv_id="2501.00001", content_hash=None, now=NOW)
    assert post is not None
    store.mark_posted(engine, post.id, ts="1700000000.000100", now=NOW)
    everything_about(engine, "U0ME", "1700000001.000100")
    everything_about(engine, "U0YOU", "1700000002.000100")
    assert all(n >= 1 for n in rows_about(engine, "U0ME").values())

    counts = forget_user(engine, "U0ME")

    assert counts == {"follows": 2, "saved": 1, "votes": 1, "replies": 1, "dms": 1, "settings": 1}
    assert rows_about(engine, "U0ME") == dict.fromkeys(counts, 0)
    assert all(n >= 1 for n in rows_about(engine, "U0YOU").values())
    assert forget_user(engine, "U0ME") == dict.fromkeys(counts, 0)  # nothing left: asking again is harmless


def test_a_persons_follows_and_saved_papers_are_read_for_them_only(engine: Engine) -> None:
    records.add_follow(engine, "U0ME", "differential privacy", now=NOW)
    records.save_paper(engine, "U0ME", "2501.00001", now=NOW)
    [mine] = records.user_follows(engine, "U0ME")
    assert records.user_follows(engine, "U0YOU") == [] and records.saved(engine, "U0YOU") == []
    assert not records.remove_follow(engine, "U0YOU", mine.id)  # another person's follow id removes nothing
    assert records.user_follows(engine, "U0ME") == [mine]
    assert not records.unsave_paper(engine, "U0YOU", "2501.00001")
    assert records.count_saved(engine, "U0ME") == 1
