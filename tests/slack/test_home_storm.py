"""Home tab refreshes under load, over signed HTTP against the fake Slack (issue 22, item 14).

`views.publish` answered 429 used to park the shared delivery threads on
`Retry-After` (slack_sdk's retry handler sleeps on the calling thread): with
64 Home opens `/papers` was answered 46-60 s late, and 1,000 opens from 20
people made 538 publishes. Home refreshes now have their own queue: the
newest per person, paced to Slack's tier, and rate limits are waited out
there only. Also: the Home tab is republished after `forget me` (item 16).

No test times the bot: each holds Slack back (a call parked, a tier's window
full) and checks what must still happen, or what must not.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError

from bot.personal import records
from bot.slack.client import web_client
from bot.slack.work import HOME_INTERVAL
from tests.conftest import EXAMPLE_ARCHIVE
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_slack import BOT_TOKEN, FakeSlack
from tests.support.slack_requests import app_home_opened_event

PEOPLE = {f"U0P{i:02d}": f"person{i}" for i in range(20)}


#: Whom the fake Slack knows: read by the `fake_slack` fixture (tests/conftest.py).
FAKE_SLACK_OPTIONS = {"users": PEOPLE}


@pytest.fixture
def bot(fake: FakeSlack, tmp_path: Path) -> Iterator[RunningBot]:
    with running_bot(fake, EXAMPLE_ARCHIVE, tmp_path, DIGEST_INDEX_DIR=str(tmp_path / "index")) as running:
        yield running


def publishes(fake: FakeSlack) -> list[Any]:
    return fake.calls("views.publish")


def test_a_rate_limited_views_publish_does_not_hold_up_papers_answers(fake: FakeSlack, bot: RunningBot) -> None:
    fake.rate_limit_window("views.publish", per_window=2, window=60.0)  # then Retry-After: about a minute
    for user in PEOPLE:
        assert bot.event(app_home_opened_event(user)) == 200
    fake.wait_for(lambda: any(c.fault == "rate_limited" for c in publishes(fake)), timeout=10)
    urls = []
    for i in range(20):  # more than the delivery threads: none of them may be asleep on the 429
        status, url = bot.command(f"privacy {i}")
        assert status == 200
        urls.append(url)
    for url in urls:
        [answer] = bot.answer(url, timeout=10)
        assert answer["response_type"] == "ephemeral"
    # The home queue waits out Retry-After alone: one refused call, not one per person.
    assert len([c for c in publishes(fake) if c.fault == "rate_limited"]) == 1
    health = json.loads(_get(f"{bot.url}/healthz"))
    assert health["queues"]["home"]["rate_limited"] == 1 and health["queues"]["home"]["waiting"] == 18


def test_home_refreshes_are_coalesced_per_person_and_the_newest_is_published(fake: FakeSlack, bot: RunningBot) -> None:
    """Ten opens each by five people, while Slack holds views.publish: at most one
    publish in flight and one waiting per person, not fifty."""
    people = list(PEOPLE)[:5]
    gate = fake.hold("views.publish")
    try:
        for _ in range(10):
            for user in people:
                assert bot.event(app_home_opened_event(user)) == 200
    finally:
        gate.set()
    assert bot.workers.join(timeout=30)
    calls = publishes(fake)
    assert len(calls) <= len(people) + 1, len(calls)
    assert all(fake.home(user) is not None for user in people)
    assert all(records.person(bot.engine, user).home_seen_at is not None for user in people)
    coalesced = bot.workers.home.stats().coalesced  # None only for queues that never coalesce
    assert coalesced is not None and coalesced >= 50 - len(people) - 1
    # Paced to Slack's tier (about 100 a minute): no two publishes closer than the interval.
    started = sorted(c.received for c in calls)
    assert all(b - a >= HOME_INTERVAL * 0.9 for a, b in itertools.pairwise(started))


def test_lookup_calls_give_a_long_rate_limit_back_instead_of_sleeping_on_it(fake: FakeSlack) -> None:
    """The lookup client ran on delivery threads with 5 retries of any Retry-After."""
    fake.rate_limit("chat.postMessage", every=1, retry_after=30)
    client = web_client(BOT_TOKEN, fake.api_url)
    outcome: list[Any] = []

    def call() -> None:
        try:
            client.chat_postMessage(channel="C0SD", text="hello")
        except SlackApiError as err:
            outcome.append(err.response.status_code)

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert outcome == [429]
    assert len(fake.calls("chat.postMessage")) == 1
    fake.rate_limit("chat.postMessage", every=2, retry_after=1)  # a short wait is still waited out, once
    client.chat_postMessage(channel="C0SD", text="hello")
    assert [c.status for c in fake.calls("chat.postMessage")][-2:] == [429, 200]


def test_the_home_tab_is_republished_after_forget_me_and_no_visit_is_recorded(fake: FakeSlack, bot: RunningBot) -> None:
    user = "U0P01"
    status, url = bot.command("follow federated learning", user_id=user)
    assert status == 200 and bot.answer(url)
    assert bot.event(app_home_opened_event(user)) == 200
    home = fake.wait_for(lambda: fake.home(user))
    assert "federated learning" in json.dumps(home)
    assert bot.workers.join()
    status, url = bot.command("forget me", user_id=user)
    assert status == 200 and "keeps nothing about you" in json.dumps(bot.answer(url))
    assert bot.workers.join()
    assert len(fake.views(user)) == 2
    assert "federated learning" not in json.dumps(fake.home(user))
    assert records.person(bot.engine, user).home_seen_at is None  # nothing written after the forget


def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait (polling, bounded) for a queue's state; the queue's own thread gets there."""
    pause = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        pause.wait(0.01)
    raise AssertionError("the queue did not get there")


def _get(url: str) -> str:
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as response:
        return response.read().decode()


def test_the_coalescing_queue_runs_the_newest_job_per_key_and_gives_up_after_a_few_rate_limits() -> None:
    from bot.slack.work import CoalescingQueue, RateLimited

    work = CoalescingQueue("t", interval=0.0, max_wait=0.001, retries=2, limit=2)
    gate = threading.Event()
    ran: list[str] = []
    try:
        assert work.submit("a", lambda: gate.wait(10), "parked")
        until(lambda: work.stats().running == 1)
        assert work.submit("b", lambda: ran.append("b1")) and work.submit("b", lambda: ran.append("b2"))
        assert work.submit("c", lambda: ran.append("c"))
        assert not work.submit("d", lambda: ran.append("d"))  # two people already wait: full
        gate.set()
        assert work.join()
        assert ran == ["b2", "c"]  # only the newest of b's
        tries: list[int] = []

        def limited() -> None:
            tries.append(1)
            raise RateLimited(0.001, "limited")

        assert work.submit("e", limited) and work.join()
        assert len(tries) == 3  # the first try and two more, then given up
        stats = work.stats()
        assert (stats.coalesced, stats.refused, stats.rate_limited, stats.waiting) == (1, 1, 3, 0)
    finally:
        gate.set()
        work.close()


def test_closing_the_coalescing_queue_cuts_a_retry_after_wait_short() -> None:
    from bot.slack.work import CoalescingQueue, RateLimited

    work = CoalescingQueue("closing", interval=0.0, max_wait=3600.0)

    def limited() -> None:
        raise RateLimited(3600.0, "an hour")

    assert work.submit("a", limited)
    until(lambda: work.stats().rate_limited == 1)
    work.close()
    thread = next(t for t in threading.enumerate() if t.name == "closing-0")
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert not work.submit("b", lambda: None)
