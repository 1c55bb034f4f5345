"""Reactions as votes: distinct people per paper, only on the bot's paper messages, idempotent."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import Engine

from bot.engagement.votes import record_reaction, top_voted, votes_for
from bot.store import posts as store

pytestmark = pytest.mark.backends("sqlite", "postgresql")

BOT = "U0BOT"
NOW = dt.datetime(2025, 1, 24, 9, tzinfo=dt.UTC)
WEEK = dt.date(2025, 1, 17)


def paper_post(engine: Engine, channel: str, arxiv_id: str, ts: str, *, kind: store.PostKind = "paper") -> None:
    key = store.paper_key(arxiv_id) if kind == "paper" else store.header_key("dp", WEEK)
    row = store.create_intent(
        engine, channel=channel, key=key, kind=kind, slug="dp", week_start=WEEK,
        arxiv_id=arxiv_id if kind == "paper" else None, content_hash=None, now=NOW,
    )
    assert row is not None
    store.mark_posted(engine, row.id, ts=ts, now=NOW)


def at(offset_s: float) -> str:
    """A Slack event time `offset_s` seconds after NOW."""
    return f"{NOW.timestamp() + offset_s:.6f}"


def react(engine: Engine, user: str, reaction: str = "eyes", *, ts: str = "1700000000.000100",
          channel: str = "C0SD", added: bool = True, when: float = 0.0, item_user: str | None = BOT) -> bool:
    return record_reaction(
        engine, channel=channel, ts=ts, user=user, reaction=reaction, added=added,
        bot_user_id=BOT, item_user=item_user, event_ts=at(when),
    )


@pytest.fixture
def papers(engine: Engine) -> Engine:
    paper_post(engine, "C0SD", "2501.00001", "1700000000.000100")
    paper_post(engine, "C0SD", "2501.00002", "1700000000.000200")
    paper_post(engine, "C0FL", "2501.00001", "1700000000.000300")  # the same paper in another channel
    paper_post(engine, "C0SD", "", "1700000000.000400", kind="header")
    return engine


def test_votes_are_distinct_people_per_paper_across_emoji_and_channels(papers: Engine) -> None:
    assert react(papers, "U1", "eyes")
    assert react(papers, "U1", "fire", when=1)  # the same person again: still one vote
    assert react(papers, "U1", "tada", ts="1700000000.000300", channel="C0FL", when=2)
    assert react(papers, "U2", "+1::skin-tone-3", when=3)
    assert react(papers, "U3", "eyes", ts="1700000000.000200", when=4)
    assert votes_for(papers, ["2501.00001", "2501.00002", "2501.09999"]) == {
        "2501.00001": 2,
        "2501.00002": 1,
        "2501.09999": 0,
    }


def test_an_event_delivered_again_changes_nothing(papers: Engine) -> None:
    assert react(papers, "U1", when=1)
    assert not react(papers, "U1", when=1)  # Slack's retry of the same event
    assert votes_for(papers, ["2501.00001"]) == {"2501.00001": 1}
    assert react(papers, "U1", added=False, when=2)
    assert not react(papers, "U1", added=False, when=2)
    assert votes_for(papers, ["2501.00001"]) == {"2501.00001": 0}


def test_removing_one_of_two_reactions_keeps_the_vote(papers: Engine) -> None:
    react(papers, "U1", "eyes", when=1)
    react(papers, "U1", "fire", when=2)
    assert react(papers, "U1", "eyes", added=False, when=3)  # a reaction went, the vote stays
    assert votes_for(papers, ["2501.00001"]) == {"2501.00001": 1}
    assert react(papers, "U1", "fire", added=False, when=4)
    assert votes_for(papers, ["2501.00001"]) == {"2501.00001": 0}


def test_an_add_delivered_after_its_removal_does_not_bring_the_vote_back(papers: Engine) -> None:
    assert not react(papers, "U1", added=False, when=5)  # the removal arrives first
    assert not react(papers, "U1", added=True, when=1)  # the older add, retried late
    assert votes_for(papers, ["2501.00001"]) == {"2501.00001": 0}
    assert react(papers, "U1", added=True, when=9)  # a new add counts again
    assert votes_for(papers, ["2501.00001"]) == {"2501.00001": 1}


@pytest.mark.parametrize(
    "case",
    ["the bot itself", "another author's message", "a header", "an unknown message", "a thumbs-down", "no user"],
)
def test_what_is_not_a_vote(papers: Engine, case: str) -> None:
    kwargs: dict[str, object] = {"channel": "C0SD", "ts": "1700000000.000100", "user": "U1", "reaction": "eyes",
                                 "added": True, "bot_user_id": BOT, "item_user": BOT, "event_ts": at(0)}
    match case:
        case "the bot itself":
            kwargs["user"] = BOT
        case "another author's message":
            kwargs["item_user"] = "U9"
        case "a header":
            kwargs["ts"] = "1700000000.000400"
        case "an unknown message":
            kwargs["ts"] = "1700000000.999999"
        case "a thumbs-down":
            kwargs["reaction"] = "-1::skin-tone-2"
        case "no user":
            kwargs["user"] = None
    assert not record_reaction(papers, **kwargs)  # type: ignore[arg-type]
    assert votes_for(papers, ["2501.00001"]) == {"2501.00001": 0}


def test_without_item_user_the_store_decides(papers: Engine) -> None:
    assert react(papers, "U1", item_user=None)
    assert not react(papers, "U1", ts="1700000000.000999", item_user=None)


def test_top_voted_counts_votes_added_in_the_window(papers: Engine) -> None:
    day = 86_400.0
    react(papers, "U1", when=-3 * day)  # 2501.00001, before the window
    react(papers, "U2", when=1)
    react(papers, "U3", when=2)
    react(papers, "U1", ts="1700000000.000200", when=3)  # 2501.00002
    react(papers, "U4", ts="1700000000.000200", when=4)
    react(papers, "U5", ts="1700000000.000200", when=day * 8)  # after the window
    since, until = NOW - dt.timedelta(days=1), NOW + dt.timedelta(days=7)

    # A tie (2 and 2): the paper voted for last comes first.
    assert top_voted(papers, since, until) == [("2501.00002", 2), ("2501.00001", 2)]
    assert top_voted(papers, since) == [("2501.00002", 3), ("2501.00001", 2)]
    assert top_voted(papers, since, until, limit=1) == [("2501.00002", 2)]
    react(papers, "U2", added=False, when=10)
    react(papers, "U3", added=False, when=11)
    assert top_voted(papers, since, until) == [("2501.00002", 2)]
    assert top_voted(papers, NOW - dt.timedelta(days=5), until) == [("2501.00002", 2), ("2501.00001", 1)]


def test_a_channels_top_voted_counts_only_votes_on_its_messages(papers: Engine) -> None:
    """A channel's recap reports that channel's votes; the workspace-wide view counts all."""
    since = NOW - dt.timedelta(days=1)
    react(papers, "U1", ts="1700000000.000300", channel="C0FL", when=1)  # 2501.00001 in #fl
    react(papers, "U2", ts="1700000000.000300", channel="C0FL", when=2)
    react(papers, "U3", ts="1700000000.000200", when=3)  # 2501.00002 in #sd
    assert top_voted(papers, since) == [("2501.00001", 2), ("2501.00002", 1)]
    assert top_voted(papers, since, channel="C0SD") == [("2501.00002", 1)]
    assert top_voted(papers, since, channel="C0FL") == [("2501.00001", 2)]
