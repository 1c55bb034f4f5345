"""Thread discussion: replies counted once per message, only in paper threads, no text kept."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine, inspect

from bot.engagement.discussion import (
    hot,
    record_reply,
    thread_for,
    threads_for,
    ts_datetime,
    window_start,
)
from bot.engagement.threads import paper_for_thread
from bot.store import posts as store
from tests.support.fake_slack import BOT_USER_ID, FakeSlack

pytestmark = pytest.mark.backends("sqlite", "postgresql")

NOW = dt.datetime(2025, 1, 24, 9, tzinfo=dt.UTC)
WEEK = dt.date(2025, 1, 17)


class SlackClock:
    """Message ts come from this clock, so reply times are exact."""

    def __init__(self) -> None:
        self.now = NOW.timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> SlackClock:
    return SlackClock()


@pytest.fixture
def fake_slack_options(clock: SlackClock) -> dict[str, Any]:
    return {"clock": clock}


@pytest.fixture
def posted_week_settings() -> list[dict[str, str]]:
    return [{"DIGEST_CHANNELS": "dp=C0SD,fl=C0SD"}, {"DIGEST_CHANNELS": "fl=C0FL"}]


@pytest.fixture
def posted(posted_week: Engine) -> Engine:
    """The newest week posted to C0SD (dp, fl) and C0FL (fl)."""
    return posted_week


def paper_ts(engine: Engine, channel: str, arxiv_id: str) -> str:
    row = store.posts_by_key(engine, channel, [store.paper_key(arxiv_id)])[
        store.paper_key(arxiv_id)
    ]
    assert row.ts is not None
    return row.ts


def reply(
    engine: Engine,
    fake: FakeSlack,
    channel: str,
    thread_ts: str,
    user: str,
    **extra: str | None,
) -> tuple[str, bool]:
    """A person replies in Slack; the event reaches record_reply. Returns (ts, counted)."""
    ts = fake.add_message(channel, "what about the privacy budget?", user=user, thread_ts=thread_ts)
    counted = record_reply(
        engine,
        channel=channel,
        thread_ts=thread_ts,
        user=user,
        ts=ts,
        bot_user_id=BOT_USER_ID,
        **extra,
    )
    return ts, counted


OPACUS = "2109.12298"  # dp only
SHARED = "2102.06387"  # dp and fl: in C0SD once, and in C0FL


def test_replies_in_a_paper_thread_are_counted_with_people_and_last_time(
    posted: Engine, fake: FakeSlack, clock: SlackClock
) -> None:
    thread = paper_ts(posted, "C0SD", OPACUS)
    assert paper_for_thread(posted, "C0SD", thread) == OPACUS
    times = []
    for user in ("U1", "U2", "U1"):
        clock.now += 60
        ts, counted = reply(posted, fake, "C0SD", thread, user)
        assert counted
        times.append(ts)

    info = thread_for(posted, OPACUS)
    assert info is not None
    assert (info.channel, info.ts, info.reply_count, info.participants) == ("C0SD", thread, 3, 2)
    assert info.last_reply_at == ts_datetime(times[-1])
    assert info.permalink and info.permalink.startswith("https://fake.slack.com/archives/C0SD/p")


def test_slack_retrying_an_event_does_not_count_it_twice(posted: Engine, fake: FakeSlack) -> None:
    thread = paper_ts(posted, "C0SD", OPACUS)
    ts, counted = reply(posted, fake, "C0SD", thread, "U1")
    again = record_reply(
        posted, channel="C0SD", thread_ts=thread, user="U1", ts=ts, bot_user_id=BOT_USER_ID
    )
    assert counted and not again
    assert thread_for(posted, OPACUS).reply_count == 1  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("user", "extra"),
    [
        (BOT_USER_ID, {}),  # the bot's own answer in the thread
        ("U1", {"bot_id": "B0OTHER"}),  # another bot
        ("U1", {"subtype": "message_changed"}),  # an edit
        ("U1", {"subtype": "message_deleted"}),
        ("U1", {"subtype": "channel_join"}),
        (None, {}),
    ],
)
def test_bots_edits_and_deletions_are_not_replies(
    posted: Engine, fake: FakeSlack, user: str | None, extra: dict[str, str]
) -> None:
    thread = paper_ts(posted, "C0SD", OPACUS)
    ts = fake.add_message("C0SD", "x", user=user or "U1", thread_ts=thread)
    assert not record_reply(
        posted, channel="C0SD", thread_ts=thread, user=user, ts=ts, bot_user_id=BOT_USER_ID, **extra
    )
    assert thread_for(posted, OPACUS).reply_count == 0  # type: ignore[union-attr]


def test_a_broadcast_reply_counts(posted: Engine, fake: FakeSlack) -> None:
    thread = paper_ts(posted, "C0SD", OPACUS)
    assert reply(posted, fake, "C0SD", thread, "U1", subtype="thread_broadcast")[1]


def test_messages_outside_paper_threads_are_ignored(posted: Engine, fake: FakeSlack) -> None:
    header = store.digest_rows(posted, "C0SD", "dp", WEEK)[0]
    assert header.kind == "header" and header.ts is not None
    assert paper_for_thread(posted, "C0SD", header.ts) is None
    assert not reply(posted, fake, "C0SD", header.ts, "U1")[1]  # the digest header's thread
    top = fake.add_message("C0SD", "hello")
    assert not record_reply(
        posted, channel="C0SD", thread_ts=None, user="U1", ts=top, bot_user_id=BOT_USER_ID
    )
    assert not record_reply(
        posted, channel="C0SD", thread_ts=top, user="U1", ts=top, bot_user_id=BOT_USER_ID
    )
    other = fake.add_message("C0SD", "someone else's thread")
    assert not reply(posted, fake, "C0SD", other, "U1")[1]
    assert (
        paper_for_thread(posted, "C0FL", paper_ts(posted, "C0SD", OPACUS)) is None
    )  # wrong channel


def test_no_message_text_is_stored(posted: Engine) -> None:
    columns = {c["name"] for c in inspect(posted).get_columns("thread_replies")}
    assert columns == {"channel", "ts", "thread_ts", "arxiv_id", "user_id", "replied_at"}


def test_a_paper_in_two_channels_has_the_thread_of_the_asking_channel_or_the_busiest(
    posted: Engine, fake: FakeSlack
) -> None:
    in_sd, in_fl = paper_ts(posted, "C0SD", SHARED), paper_ts(posted, "C0FL", SHARED)
    reply(posted, fake, "C0FL", in_fl, "U1")
    reply(posted, fake, "C0FL", in_fl, "U2")
    reply(posted, fake, "C0SD", in_sd, "U3")

    assert thread_for(posted, SHARED).ts == in_fl  # type: ignore[union-attr]
    assert thread_for(posted, SHARED, channel="C0SD").ts == in_sd  # type: ignore[union-attr]
    found = threads_for(posted, [SHARED, OPACUS, "9999.99999"])
    assert set(found) == {SHARED, OPACUS}
    assert (found[SHARED].reply_count, found[OPACUS].reply_count) == (2, 0)


def test_an_undiscussed_paper_in_two_channels_has_its_first_posted_thread(posted: Engine) -> None:
    info = thread_for(posted, SHARED)
    assert info is not None and info.ts == min(
        paper_ts(posted, "C0SD", SHARED), paper_ts(posted, "C0FL", SHARED)
    )


def test_hot_ranks_by_replies_in_the_window_then_people(
    posted: Engine, fake: FakeSlack, clock: SlackClock
) -> None:
    old = paper_ts(posted, "C0SD", "2004.00010")
    for user in ("U1", "U2", "U3", "U4"):  # busy, but a month ago
        reply(posted, fake, "C0SD", old, user)
    clock.now += 30 * 86400
    now = dt.datetime.fromtimestamp(clock.now, dt.UTC)
    for user in ("U1", "U1", "U1"):
        reply(posted, fake, "C0SD", paper_ts(posted, "C0SD", OPACUS), user)
    for user in ("U1", "U2", "U3"):
        reply(posted, fake, "C0FL", paper_ts(posted, "C0FL", SHARED), user)
    reply(posted, fake, "C0SD", paper_ts(posted, "C0SD", "1908.10530"), "U9")

    week = hot(posted, window_start("week", now), limit=10)
    assert [(h.arxiv_id, h.replies, h.participants) for h in week] == [
        (SHARED, 3, 3),
        (OPACUS, 3, 1),
        ("1908.10530", 1, 1),
    ]
    assert week[0].thread.channel == "C0FL" and week[0].thread.permalink
    assert [h.arxiv_id for h in hot(posted, window_start("week", now), limit=1)] == [SHARED]
    month = hot(posted, window_start("month", now) - dt.timedelta(seconds=1))
    assert month[0].arxiv_id == "2004.00010" and month[0].thread.reply_count == 4
    only_sd = hot(posted, window_start("week", now), channel="C0SD")
    assert [h.arxiv_id for h in only_sd] == [OPACUS, "1908.10530"]


def test_nothing_discussed_is_nothing_hot(posted: Engine) -> None:
    assert hot(posted, NOW - dt.timedelta(days=7)) == []
