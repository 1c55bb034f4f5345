"""The weekly publisher, through the real slack_sdk WebClient against the fake Slack.

Exactly once is the point: every test ends by checking that each paper stands
in its channel once, in digest order, with metadata naming it, and that the
store agrees with Slack. The clock is fake (pacing and backoff never really
sleep) except in the one test that proves Retry-After is honoured.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.config import Settings, load_settings
from bot.model import Digest
from bot.publisher import (
    BACKOFF_SECONDS,
    EVENT_TYPE,
    MAX_ATTEMPTS,
    RATE_LIMIT_RETRIES,
    BlockKitRenderer,
    PublishReport,
    RunHooks,
    Selection,
)
from bot.render.limits import violations
from bot.slack.client import posting_client
from bot.store import Catalog, locks, sync_archive
from bot.store import leases as lease_store
from bot.store import marks as mark_store
from bot.store import posts as store
from bot.store import runs as run_store
from bot.store.posts import PostRow
from tests.conftest import schema_problems
from tests.support.clock import FakeClock
from tests.support.fake_slack import BOT_TOKEN, Call, FakeSlack
from tests.support.publishing import publish as publish_at

#: The Friday after the example archive's newest week (2025-01-17 – 2025-01-23).
pytestmark = pytest.mark.backends("sqlite", "postgresql")

NOW = dt.datetime(2025, 1, 24, 9, 0, tzinfo=dt.UTC)
NEWEST = dt.date(2025, 1, 17)
SHARED = "2102.06387"  # in both dp and fl of the newest week


class Crash(BaseException):
    """The process dies here (BaseException: nothing in the publisher catches it)."""


@pytest.fixture
def store_engine(engine: Engine, example_archive: Path) -> Engine:
    sync_archive(engine, example_archive)
    return engine


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def settings(**env: str) -> Settings:
    return load_settings(None, **({"DIGEST_CHANNEL": "C0SD"} | env))


def no_retry_client(fake: FakeSlack) -> WebClient:
    """A client that surfaces every 429 and error: the publisher handles them itself."""
    return WebClient(token=BOT_TOKEN, base_url=fake.api_url, retry_handlers=[])


def publish(
    engine: Engine,
    fake: FakeSlack,
    clock: FakeClock,
    *,
    client: WebClient | None = None,
    config: Settings | None = None,
    now: dt.datetime = NOW,
    **options: Any,
) -> PublishReport:
    """A run on the fake clock; `week`, `topic`, `backfill_since` select, `checkpoint` hooks."""
    selection = Selection(**{k: options.pop(k) for k in ("week", "topic", "backfill_since") if k in options})
    hooks = RunHooks(checkpoint=options.pop("checkpoint", None))
    return publish_at(
        engine,
        client or posting_client(BOT_TOKEN, fake.api_url),
        config or settings(),
        now,
        selection=selection,
        hooks=hooks,
        sleep=clock.sleep,
        monotonic=clock.monotonic,
        **options,
    )


def crash_at(point: str, nth: int) -> Callable[[str, PostRow | None], None]:
    """A checkpoint hook that kills the run the `nth` time (0-based) `point` is reached."""
    seen = {"count": 0}

    def hook(at: str, row: PostRow | None) -> None:
        if at == point:
            if seen["count"] == nth:
                raise Crash(f"{point} #{nth}")
            seen["count"] += 1

    return hook


def payloads(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    """The metadata payload of every top-level message in the channel, in order."""
    return [
        m["metadata"]["event_payload"]
        for m in fake.messages(channel)
        if m.get("thread_ts", m["ts"]) == m["ts"]  # top level (a parent's thread_ts is its own ts)
        and m.get("metadata", {}).get("event_type") == EVENT_TYPE
    ]


def sequence(fake: FakeSlack, channel: str) -> list[tuple[str, str, str | None]]:
    return [(p["kind"], p["slug"], p.get("arxiv_id")) for p in payloads(fake, channel)]


def expected(
    engine: Engine, digests: list[tuple[str, dt.date]]
) -> list[tuple[str, str, str | None]]:
    """Header then papers of each digest in turn, a paper already posted left out."""
    catalog = Catalog(engine)
    seen: set[str] = set()
    out: list[tuple[str, str, str | None]] = []
    for slug, week in digests:
        digest = catalog.digest(slug, week)
        assert digest is not None
        out.append(("header", slug, None))
        for paper in digest.papers:
            if paper.arxiv_id not in seen:
                seen.add(paper.arxiv_id)
                out.append(("paper", slug, paper.arxiv_id))
    return out


NEWEST_BOTH = [("dp", NEWEST), ("fl", NEWEST)]


def assert_exactly_once(
    engine: Engine, fake: FakeSlack, channel: str, digests: list[tuple[str, dt.date]]
) -> None:
    """Slack holds each message once, in order, and the store agrees about every ts."""
    assert sequence(fake, channel) == expected(engine, digests)
    by_post = {
        m["metadata"]["event_payload"]["post_id"]: m["ts"]
        for m in fake.messages(channel)
        if m.get("thread_ts", m["ts"]) == m["ts"] and m.get("metadata", {}).get("event_type") == EVENT_TYPE
    }
    rows = [
        r
        for slug, week in digests
        for r in store.digest_rows(engine, channel, slug, week)
        if r.kind != "note"  # replies in header threads (held-back notes): checked apart
    ]
    assert len(rows) == len(by_post)
    for row in rows:
        assert row.state == "posted", row
        assert row.ts == by_post[row.id]


def header_of(fake: FakeSlack, channel: str, slug: str) -> dict[str, Any]:
    return next(
        m
        for m in fake.messages(channel)
        if m.get("metadata", {}).get("event_payload", {}).get("kind") == "header"
        and m["metadata"]["event_payload"]["slug"] == slug
    )


def permalink_of(fake: FakeSlack, channel: str, arxiv_id: str) -> str:
    message = next(
        m
        for m in fake.messages(channel)
        if m.get("metadata", {}).get("event_payload", {}).get("arxiv_id") == arxiv_id
    )
    return f"https://fake.slack.com/archives/{channel}/p{message['ts'].replace('.', '')}"


def texts(message: dict[str, Any]) -> str:
    return str(message.get("blocks"))


# ---- a normal week ----------------------------------------------------------------------


def test_a_week_posts_a_header_then_each_paper_in_order_with_metadata(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    times: list[float] = []

    def timing(point: str, row: PostRow | None) -> None:
        if point == "after_slack":
            times.append(clock.now)

    report = publish(
        store_engine,
        fake,
        clock,
        config=settings(DIGEST_CHANNELS="dp=C0SD", DIGEST_TOPICS="dp"),
        checkpoint=timing,
    )

    assert report.ok and report.posted == 5
    assert_exactly_once(store_engine, fake, "C0SD", [("dp", NEWEST)])
    header, *papers = fake.messages("C0SD")
    assert header["metadata"]["event_payload"] == {
        "post_id": 1,
        "kind": "header",
        "slug": "dp",
        "week": "2025-01-17",
    }
    assert "4 papers" in header["text"]
    assert "https://example.org/paper-digest/dp/2025-01-17/" in texts(header)
    for message in papers:
        payload = message["metadata"]["event_payload"]
        assert set(payload) == {"post_id", "kind", "slug", "week", "arxiv_id"}
        assert payload["arxiv_id"] in texts(message)
    # Paced: at most one message per second in the channel, on the injected clock.
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(times))
    assert len(times) == 5
    # Permalinks cached in the store, for threads and for other topics' headers.
    rows = store.digest_rows(store_engine, "C0SD", "dp", NEWEST)
    assert all(
        r.permalink and r.permalink.startswith("https://fake.slack.com/archives/C0SD/p")
        for r in rows
    )
    # Every message is valid Block Kit (the fake also validated each against the schema).
    for message in fake.messages("C0SD"):
        assert violations({"text": message["text"], "blocks": message["blocks"]}) == []
        assert schema_problems(message["blocks"]) == []


def test_a_second_run_posts_nothing_and_makes_no_slack_call(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    first = publish(store_engine, fake, clock)
    calls = len(fake.calls())
    second = publish(store_engine, fake, clock)

    assert first.posted == 9 and second.posted == second.updated == second.adopted == 0
    assert len(fake.calls()) == calls  # not even a history look-up: nothing is pending
    assert_exactly_once(store_engine, fake, "C0SD", NEWEST_BOTH)
    runs = run_store.recent_runs(store_engine)
    assert [(r.posted, r.errors) for r in runs] == [(0, []), (9, [])]
    assert all(r.finished_at is not None for r in runs)


def test_a_paper_in_two_topics_is_posted_once_per_channel_and_the_header_links_it(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    publish(store_engine, fake, clock)

    assert [a for _, _, a in sequence(fake, "C0SD")].count(SHARED) == 1
    fl_header = header_of(fake, "C0SD", "fl")
    assert permalink_of(fake, "C0SD", SHARED) in texts(fl_header)
    assert "4 papers" in fl_header["text"]  # the count is the digest's, linked papers included
    assert permalink_of(fake, "C0SD", SHARED) not in texts(header_of(fake, "C0SD", "dp"))


def test_separate_channels_each_get_the_shared_paper(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    report = publish(
        store_engine,
        fake,
        clock,
        config=settings(DIGEST_CHANNEL="", DIGEST_CHANNELS="dp=C0SD,fl=C0FL"),
    )

    assert report.ok
    assert_exactly_once(store_engine, fake, "C0SD", [("dp", NEWEST)])
    assert_exactly_once(store_engine, fake, "C0FL", [("fl", NEWEST)])
    assert SHARED in {a for _, _, a in sequence(fake, "C0FL")}


def test_topics_without_a_channel_or_archive_are_reported_not_posted(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    report = publish(
        store_engine,
        fake,
        clock,
        config=settings(DIGEST_CHANNEL="", DIGEST_CHANNELS="dp=C0SD", DIGEST_TOPICS="dp,fl,zz"),
    )
    assert report.unmapped_topics == ["fl"] and report.unknown_topics == ["zz"]
    assert_exactly_once(store_engine, fake, "C0SD", [("dp", NEWEST)])


# ---- crashes ------------------------------------------------------------------------------

#: 9 messages in the newest week (dp: header + 4, fl: header + 3 not in dp).
MESSAGES = 9


@pytest.mark.parametrize("point", ["before_intent", "after_intent", "after_slack", "after_record"])
@pytest.mark.parametrize("nth", range(MESSAGES))
def test_a_run_killed_at_any_point_and_restarted_posts_everything_exactly_once(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock, point: str, nth: int
) -> None:
    with pytest.raises(Crash):
        publish(store_engine, fake, clock, checkpoint=crash_at(point, nth))
    posted_before = len(payloads(fake, "C0SD"))
    # after_slack: Slack has the message, the store does not know its ts yet.
    assert posted_before == nth + (point in ("after_slack", "after_record"))

    report = publish(store_engine, fake, clock)

    assert report.ok
    assert report.adopted == (1 if point == "after_slack" else 0)
    assert_exactly_once(store_engine, fake, "C0SD", NEWEST_BOTH)
    assert permalink_of(fake, "C0SD", SHARED) in texts(header_of(fake, "C0SD", "fl"))
    history = fake.calls("conversations.history")
    # Before a digest's first post the fresh store reads the history since its week
    # began (to adopt an earlier store's messages); pending posts are looked up from
    # just before their attempt, and only they are.
    week_began = dt.datetime.combine(NEWEST, dt.time(), dt.UTC).timestamp()
    lookups = [c for c in history if float(c.params["oldest"]) > week_began]
    assert history and bool(lookups) == (point in ("after_intent", "after_slack"))
    for call in history:
        assert call.params["include_all_metadata"] in ("1", "true", True)
        assert float(call.params["oldest"]) > 0


@pytest.mark.parametrize("nth", range(MESSAGES))
def test_killed_right_after_slack_accepted_a_post_before_the_answer(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock, nth: int
) -> None:
    """on_post raises: Slack stored the post and the connection drops; then the bot dies."""
    accepted: list[Call] = []

    def die_once(call: Call) -> None:
        accepted.append(call)
        if len(accepted) == nth + 1:
            fake.on_post(None)
            raise RuntimeError("killed between Slack's accept and its answer")

    fake.on_post(die_once)
    with pytest.raises(Crash):
        publish(store_engine, fake, clock, checkpoint=crash_at("after_uncertain", 0))
    assert len(payloads(fake, "C0SD")) == nth + 1

    report = publish(store_engine, fake, clock)

    assert report.ok and report.adopted == 1
    assert_exactly_once(store_engine, fake, "C0SD", NEWEST_BOTH)


def test_killed_several_times_in_a_row_still_exactly_once(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    for point, nth in [
        ("after_slack", 0),
        ("after_intent", 1),
        ("after_slack", 2),
        ("after_record", 0),
    ]:
        with pytest.raises(Crash):
            publish(store_engine, fake, clock, checkpoint=crash_at(point, nth))
    assert publish(store_engine, fake, clock).ok
    assert_exactly_once(store_engine, fake, "C0SD", NEWEST_BOTH)
    assert publish(store_engine, fake, clock).posted == 0


def test_interrupted_posts_are_found_on_a_later_history_page(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    with pytest.raises(Crash):
        publish(store_engine, fake, clock, checkpoint=crash_at("after_slack", 3))
    for i in range(450):  # the team talks: the lost post is now two pages back
        fake.add_message("C0SD", f"chat {i}")

    report = publish(store_engine, fake, clock)

    assert report.adopted == 1
    assert len(fake.calls("conversations.history")) == 1 + 3 + 3  # run 1: the fresh-store check; run 2: fl's check, then the lost post
    assert [p["post_id"] for p in payloads(fake, "C0SD")] == list(range(1, MESSAGES + 1))


# ---- Slack errors -----------------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["connection dropped after accept", "200 whose body is not JSON"])
def test_an_answer_lost_after_slack_accepted_is_adopted_not_posted_again(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock, fault: str
) -> None:
    """Slack stored the post, then its answer was lost (the connection dropped) or garbled
    (a proxy answered 200 with HTML): an unknown outcome, looked up, never a refusal."""
    if fault.startswith("connection"):
        fake.drop_connection("chat.postMessage", times=2, after_accept=True)
    else:
        fake.garble("chat.postMessage", times=2)

    report = publish(store_engine, fake, clock)

    assert report.ok and report.adopted == 2 and report.posted == MESSAGES - 2
    assert_exactly_once(store_engine, fake, "C0SD", NEWEST_BOTH)
    assert len(fake.calls("conversations.history")) == 1 + 2  # the fresh-store check before the first post, one look-up per lost answer
    assert publish(store_engine, fake, clock).posted == 0


def test_an_error_answer_that_is_not_a_slack_error_code_is_unknown_too(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    """Only `ok: false` with one of Slack's error codes is a clear refusal."""
    fake.garble("chat.postMessage", body='{"ok": false}')
    fake.garble("chat.postMessage", body='{"unexpected": "shape"}')

    report = publish(store_engine, fake, clock)

    assert report.ok and report.adopted == 2
    assert_exactly_once(store_engine, fake, "C0SD", NEWEST_BOTH)


def test_5xx_and_dropped_connections_are_looked_up_then_retried_with_backoff(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    fake.server_error("chat.postMessage", status=503, times=2)
    fake.drop_connection("chat.postMessage", times=1)  # before accept: nothing posted

    report = publish(store_engine, fake, clock)

    assert report.ok and report.posted == MESSAGES and report.adopted == 0
    assert_exactly_once(store_engine, fake, "C0SD", NEWEST_BOTH)
    backoffs = [s for s in clock.sleeps if s >= BACKOFF_SECONDS]
    assert backoffs[:3] == [1.0, 2.0, 4.0]  # one message, three unanswered attempts
    assert len(fake.calls("conversations.history")) == 1 + 3  # the fresh-store check; then before each retry


def test_slack_unreachable_leaves_the_post_pending_and_the_next_run_finishes(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    fake.server_error("chat.postMessage", status=500, times=MAX_ATTEMPTS)

    report = publish(store_engine, fake, clock, config=settings(DIGEST_TOPICS="dp"))

    assert not report.ok and report.channels["C0SD"].error == "unreachable"
    rows = store.digest_rows(store_engine, "C0SD", "dp", NEWEST)
    assert [(r.kind, r.state, r.attempts) for r in rows] == [("header", "pending", MAX_ATTEMPTS)]
    assert fake.messages("C0SD") == []

    report = publish(store_engine, fake, clock, config=settings(DIGEST_TOPICS="dp"))
    assert report.ok
    assert_exactly_once(store_engine, fake, "C0SD", [("dp", NEWEST)])


def test_history_errors_while_looking_up_are_retried(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    with pytest.raises(Crash):
        publish(store_engine, fake, clock, checkpoint=crash_at("after_slack", 4))
    fake.server_error("conversations.history", status=503, times=2)

    assert publish(store_engine, fake, clock).adopted == 1
    assert_exactly_once(store_engine, fake, "C0SD", NEWEST_BOTH)


def test_429_on_a_third_of_calls_waits_retry_after_and_ends_exactly_once(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    fake.rate_limit("chat.postMessage", every=3, retry_after=7)
    fake.rate_limit("chat.getPermalink", every=3, retry_after=7)

    report = publish(store_engine, fake, clock, client=no_retry_client(fake))

    assert report.ok
    assert_exactly_once(store_engine, fake, "C0SD", NEWEST_BOTH)
    limited = [c for c in fake.calls() if c.status == 429]
    assert len(limited) >= MESSAGES * 2 // 3 - 1
    assert clock.sleeps.count(7.0) == len(limited)  # each 429 waited exactly Retry-After


def test_endless_429s_stop_the_channel_and_the_next_run_posts_the_rest(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    config = settings(DIGEST_TOPICS="dp")
    with pytest.raises(Crash):
        publish(store_engine, fake, clock, config=config, checkpoint=crash_at("before_intent", 2))
    fake.rate_limit("chat.postMessage", every=1, retry_after=30)

    report = publish(store_engine, fake, clock, config=config, client=no_retry_client(fake))

    assert report.channels["C0SD"].error == "ratelimited"
    assert clock.sleeps.count(30.0) == RATE_LIMIT_RETRIES
    assert [(r.arxiv_id is not None, r.state) for r in store.unsettled_posts(store_engine)] == [
        (True, "failed")
    ]
    fake.rate_limit("chat.postMessage", every=0)
    assert publish(store_engine, fake, clock, config=config).ok
    assert_exactly_once(store_engine, fake, "C0SD", [("dp", NEWEST)])


def test_retry_after_is_honoured_in_real_time_by_the_posting_client(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    """The one test that really waits: two 429s with Retry-After 1 s (about 2 s)."""
    fake.rate_limit("chat.postMessage", every=3, retry_after=1)

    report = publish(store_engine, fake, clock, config=settings(DIGEST_TOPICS="dp"))

    assert report.ok
    assert_exactly_once(store_engine, fake, "C0SD", [("dp", NEWEST)])
    calls = fake.calls("chat.postMessage")
    assert [c.status for c in calls] == [200, 200, 429, 200, 200, 429, 200]
    for limited, retry in itertools.pairwise(calls):
        if limited.status == 429:
            assert retry.received - limited.received >= 1.0


def test_not_in_channel_is_reported_once_then_posted_after_the_invite(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake.not_member.add("C0SD")
    with caplog.at_level(logging.ERROR, logger="bot.publisher"):
        report = publish(store_engine, fake, clock)

    channel = report.channels["C0SD"]
    assert not report.ok and channel.error == "not_in_channel" and channel.posted == 0
    assert "/invite @digest-bot" in (channel.problem or "")
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "C0SD" in errors[0] and "not_in_channel" in errors[0]
    rows = store.digest_rows(store_engine, "C0SD", "dp", NEWEST)
    assert [(r.kind, r.state, r.last_error) for r in rows] == [
        ("header", "failed", "not_in_channel")
    ]
    assert run_store.recent_runs(store_engine, 1)[0].errors[0]["error"] == "not_in_channel"

    fake.not_member.discard("C0SD")
    assert publish(store_engine, fake, clock).ok
    assert_exactly_once(store_engine, fake, "C0SD", NEWEST_BOTH)
    # Failed posts are certain: no look-up for them. The history was read twice: before
    # the first post of run 1 (refused: not in the channel, so posting was tried and said
    # so) and before fl's first post in run 2 (this store has no record of that digest).
    assert [c.error for c in fake.calls("conversations.history")] == ["not_in_channel", None]


def test_channel_not_found_stops_only_that_channel(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    report = publish(
        store_engine,
        fake,
        clock,
        config=settings(DIGEST_CHANNEL="", DIGEST_CHANNELS="dp=CNOPE,fl=C0FL"),
    )

    assert report.channels["CNOPE"].error == "channel_not_found"
    assert "DIGEST_CHANNELS" in (report.channels["CNOPE"].problem or "")
    assert report.channels["C0FL"].error is None
    assert_exactly_once(store_engine, fake, "C0FL", [("fl", NEWEST)])


def test_invalid_auth_stops_the_whole_run_and_marks_nothing_posted(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    fake.tokens.discard(BOT_TOKEN)
    report = publish(
        store_engine,
        fake,
        clock,
        config=settings(DIGEST_CHANNEL="", DIGEST_CHANNELS="dp=C0SD,fl=C0FL"),
    )

    assert report.channels["C0SD"].error == "invalid_auth"
    assert "SLACK_BOT_TOKEN" in (report.channels["C0SD"].problem or "")
    # Refused at the first call (the history read before C0SD's first post): C0FL not tried.
    assert {c.params.get("channel") for c in fake.calls() if c.method != "auth.test"} == {"C0SD"}
    assert store.post_counts(store_engine) == {"posted": 0, "pending": 0, "failed": 0}


class _BrokenPaper(BlockKitRenderer):
    """Renders one paper with an empty text object, which Slack rejects."""

    def __init__(self, arxiv_id: str) -> None:
        self.arxiv_id = arxiv_id

    def paper(self, paper: Any, digest: Digest, *, lang: str) -> dict[str, Any]:
        message = super().paper(paper, digest, lang=lang)
        if paper.arxiv_id == self.arxiv_id:
            message["blocks"] = [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}]
        return message


def test_invalid_blocks_fail_that_post_stop_the_channel_and_are_retried_next_run(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    third = expected(store_engine, NEWEST_BOTH)[3][2]
    assert third is not None
    report = publish(store_engine, fake, clock, renderer=_BrokenPaper(third))

    assert report.channels["C0SD"].error == "invalid_blocks"
    assert "/blocks/0/text/text" in (report.channels["C0SD"].problem or "")
    assert len(payloads(fake, "C0SD")) == 3
    failed = store.unsettled_posts(store_engine)
    assert [(r.arxiv_id, r.state) for r in failed] == [(third, "failed")]

    assert publish(store_engine, fake, clock).ok
    assert_exactly_once(store_engine, fake, "C0SD", NEWEST_BOTH)


# ---- which weeks --------------------------------------------------------------------------------


def test_first_start_posts_only_the_newest_week_and_marks_older_ones_skipped(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    report = publish(store_engine, fake, clock)

    assert report.channels["C0SD"].skipped_weeks == [
        "dp 2025-01-03",
        "dp 2025-01-10",
        "fl 2025-01-03",
        "fl 2025-01-10",
    ]
    marks = mark_store.marks(store_engine, "C0SD", "dp")
    assert {w.isoformat(): (m.state, m.origin) for w, m in marks.items()} == {
        "2025-01-03": ("skipped", "first_start"),
        "2025-01-10": ("skipped", "first_start"),
        "2025-01-17": ("posted", "schedule"),
    }
    assert_exactly_once(store_engine, fake, "C0SD", NEWEST_BOTH)


def test_after_the_first_start_each_new_week_is_posted_when_due(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    thursday_night = dt.datetime(2025, 1, 23, 23, 0, tzinfo=dt.UTC)
    publish(store_engine, fake, clock, now=thursday_night)  # newest due: 2025-01-10
    assert {s for _, s, _ in sequence(fake, "C0SD")} == {"dp", "fl"}
    assert publish(store_engine, fake, clock, now=thursday_night).posted == 0

    report = publish(store_engine, fake, clock, now=NOW)  # 2025-01-17 has ended

    assert report.channels["C0SD"].digests == ["dp 2025-01-17", "fl 2025-01-17"]
    assert report.channels["C0SD"].skipped_weeks == []
    weeks = [p["week"] for p in payloads(fake, "C0SD") if p["kind"] == "header"]
    assert weeks == ["2025-01-10", "2025-01-10", "2025-01-17", "2025-01-17"]


def test_a_bot_down_for_weeks_posts_every_missed_week_once_in_order(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    publish(
        store_engine, fake, clock, now=dt.datetime(2025, 1, 10, 12, tzinfo=dt.UTC)
    )  # 2025-01-03
    report = publish(store_engine, fake, clock, now=NOW)  # back two weeks later
    assert report.channels["C0SD"].digests == [
        "dp 2025-01-10",
        "fl 2025-01-10",
        "dp 2025-01-17",
        "fl 2025-01-17",
    ]


def test_backfill_posts_the_skipped_weeks_on_purpose(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    publish(store_engine, fake, clock)
    report = publish(store_engine, fake, clock, backfill_since=dt.date(2025, 1, 10))

    assert report.channels["C0SD"].digests == ["dp 2025-01-10", "fl 2025-01-10"]
    assert mark_store.marks(store_engine, "C0SD", "dp")[dt.date(2025, 1, 10)].origin == "backfill"
    assert mark_store.marks(store_engine, "C0SD", "dp")[dt.date(2025, 1, 3)].state == "skipped"
    assert publish(store_engine, fake, clock).posted == 0


def test_week_and_topic_post_just_that_digest(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    report = publish(store_engine, fake, clock, week=dt.date(2025, 1, 12), topic="fl")

    assert report.channels["C0SD"].digests == ["fl 2025-01-10"]
    assert_exactly_once(store_engine, fake, "C0SD", [("fl", dt.date(2025, 1, 10))])
    # The first start still protects the channel: the next scheduled run posts
    # the newest week only, never the older backlog.
    report = publish(store_engine, fake, clock)
    assert report.channels["C0SD"].digests == ["dp 2025-01-17", "fl 2025-01-17"]


def test_dry_run_shows_the_exact_messages_and_changes_nothing(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    report = publish_at(store_engine, None, settings(), NOW)  # no client: a dry run

    assert [(p.action, p.kind, p.slug, p.arxiv_id) for p in report.previews] == [
        ("post", kind, slug, arxiv_id)
        for kind, slug, arxiv_id in expected(store_engine, NEWEST_BOTH)
    ]
    assert store.post_counts(store_engine) == {"posted": 0, "pending": 0, "failed": 0}
    assert mark_store.mark_counts(store_engine) == {} and run_store.recent_runs(store_engine) == []
    for preview in report.previews:
        assert violations(preview.message) == []
        assert schema_problems(preview.message["blocks"]) == []
        assert preview.message["metadata"]["event_type"] == EVENT_TYPE
    # What it shows is what a real run posts (but for the ids only a real run has).
    publish(store_engine, fake, clock)
    real = fake.messages("C0SD")
    assert [p.message["text"] for p in report.previews] == [m["text"] for m in real]
    assert [p.message["blocks"] for p in report.previews if p.kind == "paper"] == [
        m["blocks"] for m in real if m["metadata"]["event_payload"]["kind"] == "paper"
    ]


# ---- the archive changes after posting ---------------------------------------------------------


def _edit(archive: Path, rel: str, old: str, new: str) -> None:
    path = archive / rel
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_an_edited_entry_updates_its_message_instead_of_posting_again(
    store_engine: Engine, example_archive: Path, fake: FakeSlack, clock: FakeClock
) -> None:
    publish(store_engine, fake, clock)
    _edit(
        example_archive, "_fl/2025-01-17.md", "Comment:** ICLR 2021", "Comment:** ICLR 2021 (oral)"
    )
    sync_archive(store_engine, example_archive)

    report = publish(store_engine, fake, clock)

    assert (report.posted, report.updated) == (0, 1)
    assert fake.calls("chat.update")[0].params["ts"] == next(
        m["ts"]
        for m in fake.messages("C0SD")
        if m["metadata"]["event_payload"].get("arxiv_id") == "2003.00295"
    )
    assert any("ICLR 2021 (oral)" in texts(m) for m in fake.messages("C0SD"))
    assert_exactly_once(store_engine, fake, "C0SD", NEWEST_BOTH)
    assert publish(store_engine, fake, clock).updated == 0


@pytest.mark.parametrize("point", ["before_update", "after_update"])
def test_a_crash_during_an_update_repeats_the_update_not_a_post(
    store_engine: Engine, example_archive: Path, fake: FakeSlack, clock: FakeClock, point: str
) -> None:
    publish(store_engine, fake, clock)
    _edit(example_archive, "_dp/2025-01-17.md", "Opacus", "Opacus 2")
    sync_archive(store_engine, example_archive)
    with pytest.raises(Crash):  # after_update: Slack has the edit, the store did not hear of it
        publish(store_engine, fake, clock, checkpoint=crash_at(point, 0))

    report = publish(store_engine, fake, clock)

    assert (report.posted, report.updated) == (0, 1)
    assert len(fake.calls("chat.update")) == (2 if point == "after_update" else 1)
    assert any("Opacus 2" in texts(m) for m in fake.messages("C0SD"))
    assert_exactly_once(store_engine, fake, "C0SD", NEWEST_BOTH)


def test_a_message_deleted_in_slack_is_not_posted_again_when_its_entry_changes(
    store_engine: Engine,
    example_archive: Path,
    fake: FakeSlack,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    publish(store_engine, fake, clock)
    row = store.posts_by_key(store_engine, "C0SD", ["paper:2109.12298"])["paper:2109.12298"]
    assert row.ts is not None  # posted
    posting_client(BOT_TOKEN, fake.api_url).chat_delete(channel="C0SD", ts=row.ts)
    _edit(example_archive, "_dp/2025-01-17.md", "Opacus", "Opacus 2")
    sync_archive(store_engine, example_archive)

    with caplog.at_level(logging.WARNING, logger="bot.publisher"):
        report = publish(store_engine, fake, clock)

    assert report.ok and (report.posted, report.updated) == (0, 0)
    assert any("message_not_found" in r.getMessage() for r in caplog.records)
    assert publish(store_engine, fake, clock).updated == 0  # not tried again and again


def test_a_paper_removed_after_an_interrupted_post_is_forgotten(
    store_engine: Engine, example_archive: Path, fake: FakeSlack, clock: FakeClock
) -> None:
    with pytest.raises(Crash):  # the intent for Opacus is recorded, Slack never saw it
        publish(store_engine, fake, clock, checkpoint=crash_at("after_intent", 3))
    assert [r.arxiv_id for r in store.unsettled_posts(store_engine)] == ["2109.12298"]
    path = example_archive / "_dp/2025-01-17.md"
    entries = path.read_text(encoding="utf-8").split("\n- - -\n")
    path.write_text("\n- - -\n".join(e for e in entries if "2109.12298" not in e), encoding="utf-8")
    sync_archive(store_engine, example_archive)

    assert publish(store_engine, fake, clock).ok

    assert store.unsettled_posts(store_engine) == []
    assert "2109.12298" not in {a for _, _, a in sequence(fake, "C0SD")}
    assert_exactly_once(store_engine, fake, "C0SD", NEWEST_BOTH)


def test_a_paper_added_to_a_posted_week_is_posted_after_the_others_and_the_count_updated(
    store_engine: Engine, example_archive: Path, fake: FakeSlack, clock: FakeClock
) -> None:
    config = settings(DIGEST_TOPICS="dp")
    publish(store_engine, fake, clock, config=config)
    path = example_archive / "_dp/2025-01-17.md"
    path.write_text(
        path.read_text(encoding="utf-8")
        + "\n\n- - -\n\n### [Deep Learning with Differential Privacy](http://arxiv.org/abs/1607.00133)\n\n"
        "**差分プライバシーを満たす深層学習**\n\nMartín Abadi, Andy Chu, Ian Goodfellow\n\n"
        "- DP-SGD を提案\n\n**トピック:** [差分プライバシー](../../dp), **カテゴリ:** cs.LG, "
        "**投稿日時:** 2025-01-22 10:00\n",
        encoding="utf-8",
    )
    sync_archive(store_engine, example_archive)
    added_as = len(Catalog(store_engine).digest("dp", NEWEST).papers)  # type: ignore[union-attr]
    assert added_as == 5

    report = publish(store_engine, fake, clock, config=config)

    assert (report.posted, report.updated) == (1, 1)
    assert sequence(fake, "C0SD")[-1] == ("paper", "dp", "1607.00133")
    assert "5 papers" in header_of(fake, "C0SD", "dp")["text"]
    assert_exactly_once(store_engine, fake, "C0SD", [("dp", NEWEST)])


# ---- leases ---------------------------------------------------------------------------------------------


@pytest.mark.backends("sqlite")  # on PostgreSQL a live process also holds the channel's claim
def test_a_digest_leased_by_a_live_process_is_left_to_it(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    key = f"C0SD|dp|{NEWEST.isoformat()}"
    assert lease_store.acquire_lease(
        store_engine, key, "elsewhere:1:aa", now=NOW, ttl=dt.timedelta(minutes=10)
    )

    report = publish(store_engine, fake, clock)

    assert report.channels["C0SD"].busy == ["dp 2025-01-17"]
    assert {s for _, s, _ in sequence(fake, "C0SD")} == {"fl"}
    # When the holder's lease expires, the next run takes the digest up.
    later = publish(store_engine, fake, clock, now=NOW + dt.timedelta(minutes=11))
    assert later.channels["C0SD"].digests == ["dp 2025-01-17"]
    assert_exactly_once(store_engine, fake, "C0SD", [("fl", NEWEST), ("dp", NEWEST)])
    assert permalink_of(fake, "C0SD", SHARED) in texts(header_of(fake, "C0SD", "dp"))


def test_the_lease_of_a_dead_process_on_this_host_is_taken_over_at_once(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    holder = f"{socket.gethostname()}:{gone.pid}:dead"
    key = f"C0SD|dp|{NEWEST.isoformat()}"
    assert lease_store.acquire_lease(store_engine, key, holder, now=NOW, ttl=dt.timedelta(minutes=10))

    with caplog.at_level(logging.WARNING, logger="bot.publisher"):
        report = publish(store_engine, fake, clock)

    assert report.channels["C0SD"].busy == []
    assert any(holder in r.getMessage() for r in caplog.records)
    assert_exactly_once(store_engine, fake, "C0SD", NEWEST_BOTH)


def test_leases_are_exclusive_renewable_and_expire(store_engine: Engine) -> None:
    ttl = dt.timedelta(minutes=10)
    assert lease_store.acquire_lease(store_engine, "k", "a", now=NOW, ttl=ttl)
    assert not lease_store.acquire_lease(
        store_engine, "k", "b", now=NOW + dt.timedelta(minutes=5), ttl=ttl
    )
    assert lease_store.acquire_lease(
        store_engine, "k", "a", now=NOW + dt.timedelta(minutes=5), ttl=ttl
    )  # renewed
    assert not lease_store.acquire_lease(
        store_engine, "k", "b", now=NOW + dt.timedelta(minutes=14), ttl=ttl
    )
    assert lease_store.acquire_lease(store_engine, "k", "b", now=NOW + dt.timedelta(minutes=16), ttl=ttl)
    assert not lease_store.take_over_lease(
        store_engine, "k", dead_holder="a", holder="c", now=NOW, ttl=ttl
    )
    lease_store.release_lease(store_engine, "k", "b")
    assert lease_store.acquire_lease(store_engine, "k", "c", now=NOW, ttl=ttl)


def test_a_lease_lost_mid_run_stops_the_channel_before_the_next_post(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    def steal(point: str, row: PostRow | None) -> None:
        if point == "after_record" and row is not None and row.arxiv_id == SHARED:
            clock.now += 11 * 60  # this run stalls past its lease...
            key = f"C0SD|dp|{NEWEST.isoformat()}"
            assert lease_store.acquire_lease(
                store_engine,
                key,
                "other:1:bb",
                now=NOW + dt.timedelta(minutes=11),
                ttl=dt.timedelta(minutes=10),
            )  # ...and another process takes over

    report = publish(store_engine, fake, clock, checkpoint=steal)

    assert report.channels["C0SD"].error == "lease_lost"
    assert len(payloads(fake, "C0SD")) == 2
    assert store.unsettled_posts(store_engine) == []  # stopped before the next intent


def test_a_second_replica_starting_mid_post_leaves_the_digest_alone(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock, backend: str
) -> None:
    """Replica B runs while A is between committing an intent and posting it.

    PostgreSQL: B leaves the whole channel to A (its claim), which posts it in
    order. SQLite (one bot process, and a CLI run beside it): B leaves the
    digest A holds the lease of and may post the channel's next one.
    """
    other: list[PublishReport] = []

    def second_replica(point: str, row: PostRow | None) -> None:
        if point == "after_intent" and row is not None and row.arxiv_id == SHARED:
            other.append(publish(store_engine, fake, clock))

    assert publish(store_engine, fake, clock, checkpoint=second_replica).ok

    if backend == "postgresql":
        assert other[0].posted == 0
        assert other[0].channels["C0SD"].busy == ["dp 2025-01-17", "fl 2025-01-17"]
        assert_exactly_once(store_engine, fake, "C0SD", NEWEST_BOTH)
    else:
        assert other[0].channels["C0SD"].busy == ["dp 2025-01-17"]
        assert sorted(sequence(fake, "C0SD"), key=str) == sorted(
            expected(store_engine, NEWEST_BOTH), key=str
        )


def test_without_the_claim_a_second_replica_would_post_twice(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the lease and the channel claim prevent: B takes A's in-flight intent for
    an interrupted post (not in Slack yet), posts it again, and then A's lands too."""
    from bot.publisher import DigestRun

    monkeypatch.setattr(DigestRun, "_claim_channel", lambda self, channel: True)
    monkeypatch.setattr(DigestRun, "_take_lease", lambda self, target: True)
    monkeypatch.setattr(DigestRun, "_renew_lease", lambda self, target: None)
    nested: list[PublishReport] = []

    def second_replica(point: str, row: PostRow | None) -> None:
        if point == "after_intent" and row is not None and row.arxiv_id == SHARED and not nested:
            nested.append(publish(store_engine, fake, clock))

    publish(store_engine, fake, clock, checkpoint=second_replica)

    ids = [p.get("arxiv_id") for p in payloads(fake, "C0SD")]
    assert ids.count(SHARED) == 2


@pytest.mark.backends("postgresql")
def test_a_claimed_channel_is_left_to_its_holder_and_taken_over_when_its_session_ends(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """A replica on another host: its pid says nothing here, its claim says it all."""
    key = f"C0SD|dp|{NEWEST.isoformat()}"
    holder = "another-host:4242:aa"
    assert lease_store.acquire_lease(store_engine, key, holder, now=NOW, ttl=dt.timedelta(minutes=10))
    elsewhere = locks.Claims(store_engine)
    assert elsewhere.try_claim("channel:C0SD")

    busy = publish(store_engine, fake, clock)

    assert busy.channels["C0SD"].busy == ["dp 2025-01-17", "fl 2025-01-17"]
    assert fake.calls("chat.postMessage") == []

    elsewhere.close()  # the other replica dies: its connection, and its claim, go
    with caplog.at_level(logging.WARNING, logger="bot.publisher"):
        report = publish(store_engine, fake, clock)  # same time: its lease has not expired

    assert report.ok and report.channels["C0SD"].busy == []
    assert any(f"from {holder}" in r.getMessage() for r in caplog.records)
    assert_exactly_once(store_engine, fake, "C0SD", NEWEST_BOTH)


@pytest.mark.backends("postgresql")
def test_a_run_whose_claim_connection_is_cut_stops_before_its_next_post(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock, pg_admin: Engine
) -> None:
    """The server ends the session holding the claim (a network cut, a restart):
    the run notices before posting again, and the next run finishes the week."""

    def cut(point: str, row: PostRow | None) -> None:
        if point == "after_record" and row is not None and row.arxiv_id == SHARED:
            database = store_engine.url.database
            with pg_admin.connect() as conn:
                conn.exec_driver_sql(
                    "SELECT pg_terminate_backend(l.pid) FROM pg_locks l "
                    "JOIN pg_stat_activity a ON a.pid = l.pid "
                    f"WHERE l.locktype = 'advisory' AND a.datname = '{database}'"
                )

    report = publish(store_engine, fake, clock, checkpoint=cut)

    assert report.channels["C0SD"].error == "lease_lost"
    assert len(payloads(fake, "C0SD")) == 2
    assert publish(store_engine, fake, clock).ok
    assert_exactly_once(store_engine, fake, "C0SD", NEWEST_BOTH)


# ---- a digest too large to post whole ---------------------------------------------------


def notes(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    """The replies the publisher posted in header threads (held-back notes)."""
    return [
        m
        for m in fake.messages(channel)
        if m.get("thread_ts", m["ts"]) != m["ts"]
        and m.get("metadata", {}).get("event_payload", {}).get("kind") == "note"
    ]


def capped(n: int, **env: str) -> Settings:
    return settings(DIGEST_CHANNELS="dp=C0SD", DIGEST_TOPICS="dp", DIGEST_MAX_PAPERS_PER_DIGEST=str(n), **env)


def test_a_digest_posts_at_most_the_cap_and_says_the_rest_in_the_headers_thread(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    report = publish(store_engine, fake, clock, config=capped(2))

    assert report.ok and report.posted == 1 + 2 + 1  # header, two papers, the note
    digest = Catalog(store_engine).digest("dp", NEWEST)
    assert digest is not None and len(digest.papers) == 4
    posted = [a for kind, _, a in sequence(fake, "C0SD") if kind == "paper"]
    assert posted == [p.arxiv_id for p in digest.papers[:2]]  # the first two, in the digest's order
    [note] = notes(fake, "C0SD")
    header = header_of(fake, "C0SD", "dp")
    assert note["thread_ts"] == header["ts"]
    assert "2 more papers" in note["text"] and "at most 2" in note["text"] and "/papers week 2025-01-17" in note["text"]
    assert violations({"text": note["text"], "blocks": note["blocks"]}) == []
    assert report.channels["C0SD"].held_back == ["dp 2025-01-17: 2 of 4 papers not posted (at most 2 per digest)"]
    assert [(h.slug, h.week_start, h.papers) for h in mark_store.held_back(store_engine)] == [("dp", NEWEST, 2)]
    # Settled: the next runs post nothing more, not even 2 more papers.
    assert publish(store_engine, fake, clock, config=capped(2)).posted == 0
    assert len(notes(fake, "C0SD")) == 1 and len(payloads(fake, "C0SD")) == 3


def test_a_crash_after_slack_took_the_note_adopts_it_from_the_thread(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    with pytest.raises(Crash):  # header, paper, paper, then the note: killed after Slack had it
        publish(store_engine, fake, clock, config=capped(2), checkpoint=crash_at("after_slack", 3))
    assert len(notes(fake, "C0SD")) == 1

    report = publish(store_engine, fake, clock, config=capped(2))

    assert report.ok and report.adopted == 1 and report.posted == 0
    assert len(notes(fake, "C0SD")) == 1
    assert [c.params["ts"] for c in fake.calls("conversations.replies")] == [header_of(fake, "C0SD", "dp")["ts"]]


def test_raising_the_cap_and_posting_the_week_posts_the_rest_and_corrects_the_note(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    publish(store_engine, fake, clock, config=capped(2))
    report = publish(store_engine, fake, clock, config=capped(300), week=NEWEST)

    assert report.ok and report.posted == 2 and report.updated >= 1
    assert_exactly_once(store_engine, fake, "C0SD", [("dp", NEWEST)])
    [note] = notes(fake, "C0SD")
    assert "Every paper of this digest is posted" in note["text"]
    assert mark_store.held_back(store_engine) == []


def test_a_ten_thousand_paper_digest_posts_the_default_three_hundred(
    engine: Engine, fake: FakeSlack, clock: FakeClock, tmp_path: Path
) -> None:
    from bot.model import Paper, TopicRef
    from tests.support.archive_writer import digest_text

    week = dt.date(2025, 1, 17)
    papers = [
        Paper(arxiv_id=f"2501.{n:05d}", url=f"http://arxiv.org/abs/2501.{n:05d}", title=f"Paper {n}",
              title_ja=f"論文 {n}", authors=("A. Author",), summary=("要点",),
              topics=(TopicRef("dp", "差分プライバシー"),), categories=("cs.LG",),
              posted_at=dt.datetime(2025, 1, 18, 12, 0))
        for n in range(1, 10_001)
    ]
    (tmp_path / "big" / "_dp").mkdir(parents=True)
    (tmp_path / "big" / "_dp" / f"{week}.md").write_text(digest_text("差分プライバシー", week, papers))
    sync_archive(engine, tmp_path / "big")

    report = publish(engine, fake, clock, config=settings(DIGEST_TOPICS="dp"))

    assert report.ok and report.posted == 1 + 300 + 1
    assert len(payloads(fake, "C0SD")) == 301
    [note] = notes(fake, "C0SD")
    assert "9,700 more papers" in note["text"] and "at most 300" in note["text"]


# ---- a fresh or restored store -----------------------------------------------------------


@pytest.fixture
def second_store(tmp_path: Path, example_archive: Path) -> Iterator[Engine]:
    """Another store of the same archive: the first one lost, or never backed up."""
    from bot.store import open_engine

    engine = open_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    sync_archive(engine, example_archive)
    yield engine
    engine.dispose()


def test_a_fresh_store_adopts_the_messages_already_in_the_channel_instead_of_posting_again(
    store_engine: Engine, second_store: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    """The SQLite file was deleted (or a new replica started empty): no week is posted twice."""
    assert publish(store_engine, fake, clock).posted == MESSAGES
    before = fake.messages("C0SD")

    report = publish(second_store, fake, clock)

    assert report.ok and report.posted == 0 and report.adopted == MESSAGES
    assert fake.messages("C0SD") == before  # not one message more, none edited
    assert_exactly_once(second_store, fake, "C0SD", NEWEST_BOTH)
    assert not fake.calls("chat.update")  # what they show is what they should show
    assert all(r.permalink for r in store.digest_rows(second_store, "C0SD", "dp", NEWEST))
    # From then on the fresh store carries on as if it had posted them.
    assert publish(second_store, fake, clock).posted == 0


def test_a_store_restored_from_an_old_backup_catches_up_without_duplicates(
    store_engine: Engine, fake: FakeSlack, clock: FakeClock, tmp_path: Path
) -> None:
    from bot.store import open_engine

    thursday = dt.datetime(2025, 1, 16, 12, tzinfo=dt.UTC)
    publish(store_engine, fake, clock, now=thursday)  # a first start: the newest due week
    if store_engine.dialect.name != "sqlite":
        pytest.skip("a file backup is SQLite's; PostgreSQL restores are the same rows")
    import sqlite3

    backup = tmp_path / "backup.sqlite3"
    source = sqlite3.connect(str(store_engine.url.database))
    with sqlite3.connect(backup) as target:
        source.backup(target)
    source.close()
    later = publish(store_engine, fake, clock, now=NOW)  # two more weeks, then the store is lost
    assert later.channels["C0SD"].digests == ["dp 2025-01-10", "fl 2025-01-10", "dp 2025-01-17", "fl 2025-01-17"]
    messages = len(fake.messages("C0SD"))

    restored = open_engine(f"sqlite:///{backup}")
    try:
        report = publish(restored, fake, clock, now=NOW)
        assert report.ok and report.posted == 0 and report.adopted == later.posted
        assert report.channels["C0SD"].digests == later.channels["C0SD"].digests
        assert len(fake.messages("C0SD")) == messages
    finally:
        restored.dispose()


def test_a_message_of_an_earlier_store_with_the_same_post_id_is_not_taken_for_a_lost_post(
    store_engine: Engine, second_store: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    """Post ids start at 1 again in a fresh store: kind, digest and paper must match too."""
    publish(store_engine, fake, clock, config=settings(DIGEST_TOPICS="dp"))
    with pytest.raises(Crash):  # the fresh store's fl header: its intent, then the crash
        publish(second_store, fake, clock, config=settings(DIGEST_TOPICS="fl"), checkpoint=crash_at("after_intent", 0))
    [lost] = store.digest_rows(second_store, "C0SD", "fl", NEWEST, state="pending")
    namesake = next(p for p in payloads(fake, "C0SD") if p["post_id"] == lost.id)
    assert namesake["slug"] == "dp"  # an earlier store's message carries the same id

    report = publish(second_store, fake, clock, config=settings(DIGEST_TOPICS="fl"))

    assert report.ok and report.adopted == 0  # the namesake is not fl's lost header
    headers = [(p["slug"], p["post_id"]) for p in payloads(fake, "C0SD") if p["kind"] == "header"]
    assert headers == [("dp", 1), ("fl", lost.id)]
    fl_header = store.get_post(second_store, lost.id)
    assert fl_header is not None and fl_header.ts == header_of(fake, "C0SD", "fl")["ts"]


def test_an_adopted_message_whose_entry_changed_is_updated_not_posted(
    store_engine: Engine, second_store: Engine, fake: FakeSlack, clock: FakeClock, example_archive: Path
) -> None:
    publish(store_engine, fake, clock)
    digest = example_archive / "_dp" / "2025-01-17.md"
    digest.write_text(digest.read_text(encoding="utf-8").replace("**トピック:**", "Edited remark.\n\n**トピック:**", 1))
    sync_archive(second_store, example_archive)

    report = publish(second_store, fake, clock)

    assert report.ok and report.posted == 0 and report.adopted == MESSAGES and report.updated >= 1
    assert_exactly_once(second_store, fake, "C0SD", NEWEST_BOTH)
    assert any("Edited remark" in str(c.params.get("blocks")) for c in fake.calls("chat.update"))


def test_a_fresh_store_adopts_the_held_back_note_from_the_headers_thread(
    store_engine: Engine, second_store: Engine, fake: FakeSlack, clock: FakeClock
) -> None:
    publish(store_engine, fake, clock, config=capped(2))
    report = publish(second_store, fake, clock, config=capped(2))
    assert report.ok and report.posted == 0 and report.adopted == 1 + 2 + 1
    assert len(notes(fake, "C0SD")) == 1 and len(payloads(fake, "C0SD")) == 3
