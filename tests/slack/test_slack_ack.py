"""Slack's 3-second acknowledgement under real conditions: slow response_urls, bursts,
full queues and another process holding the database's write lock.

Nothing here times how fast the bot is (that is `bench/bench_slack.py`); each
test holds the work back on purpose (the fake Slack parks response_url posts,
another connection holds SQLite's write lock) and checks that every request
is acknowledged anyway, within a deadline Slack would accept.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bot.engagement.discussion import thread_for
from bot.render.actions import results_value
from bot.slack.client import posting_client
from tests.conftest import EXAMPLE_ARCHIVE
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_slack import FakeSlack
from tests.support.publishing import publish
from tests.support.slack_requests import FORM, slash_command_body

#: Slack shows "didn't respond" after 3 s; the tests give the bot less.
ACK_DEADLINE = 2.5


def start(fake: FakeSlack, tmp_path: Path, **settings: Any) -> Any:
    return running_bot(fake, EXAMPLE_ARCHIVE, tmp_path, **settings)


def command(bot: RunningBot, text: str) -> tuple[int, dict[str, Any] | None, str]:
    """A signed /papers that must be acknowledged within ACK_DEADLINE: (status, ack body, response_url)."""
    url = bot.fake.new_response_url()
    body = slash_command_body(text, response_url=url)
    from tests.support.slack_requests import post, sign

    status, _, raw = post(bot.events_url, body, sign(bot.secret, body), FORM, timeout=ACK_DEADLINE)
    return status, json.loads(raw) if raw.strip() else None, url


def test_a_burst_is_acknowledged_while_every_answer_waits_on_its_response_url(
    fake: FakeSlack, tmp_path: Path
) -> None:
    """Bolt's listener pool used to run the answers too: with 5 of them parked on slow
    response_urls, the 6th request waited for its ack past Slack's deadline."""
    gate = fake.hold("response_url")
    with start(fake, tmp_path) as bot:
        with ThreadPoolExecutor(max_workers=20) as pool:
            results = list(pool.map(lambda i: command(bot, f"privacy {i}"), range(40)))
        assert [status for status, _, _ in results] == [200] * 40
        assert all(body is None for _, body, _ in results)  # a plain ack: the answer comes later
        assert all(fake.responses(url) == [] for _, _, url in results)
        gate.set()
        for _, _, url in results:
            [answer] = bot.answer(url)  # answered exactly once each
            assert answer["response_type"] == "ephemeral"
        assert bot.workers.join()
        assert all(len(fake.responses(url)) == 1 for _, _, url in results)


def hold_answers(bot: RunningBot, monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Make working out answers wait for the returned event (the answers queue fills up)."""
    gate = threading.Event()
    for name in ("answer", "search"):
        real = getattr(bot.bot.lookup, name)

        def held(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            gate.wait(timeout=30)
            return _real(*args, **kwargs)

        monkeypatch.setattr(bot.bot.lookup, name, held)
    return gate


def test_a_full_queue_says_busy_in_the_acknowledgement_itself(
    fake: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with start(fake, tmp_path, DIGEST_ANSWER_WORKERS="1", DIGEST_QUEUE_LIMIT="2") as bot:
        gate = hold_answers(bot, monkeypatch)
        first = command(bot, "privacy")
        fake.wait_for(lambda: bot.workers.answers.stats().running == 1)
        queued = [command(bot, "federated"), command(bot, "aggregation")]
        status, busy, url = command(bot, "one too many")
        assert status == 200 and busy is not None
        assert busy["response_type"] == "ephemeral" and "busy" in busy["text"]
        assert "try again" in busy["text"]
        gate.set()
        for _, _, answered in [first, *queued]:
            assert len(bot.answer(answered)) == 1
        assert bot.workers.join()
        assert fake.responses(url) == []  # the busy ack was its only answer
        assert bot.workers.answers.stats().refused == 1


def test_a_button_click_on_a_full_queue_gets_a_busy_notice(
    fake: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with start(fake, tmp_path, DIGEST_ANSWER_WORKERS="1", DIGEST_QUEUE_LIMIT="1") as bot:
        gate = hold_answers(bot, monkeypatch)
        _, _, first = command(bot, "privacy")
        fake.wait_for(lambda: bot.workers.answers.stats().running == 1)
        _, _, second = command(bot, "federated")  # fills the queue
        status, url = bot.click("results_more:1", results_value("privacy", 5))
        assert status == 200  # acknowledged at once; the notice goes out on its own queue
        [notice] = bot.answer(url)
        assert notice["response_type"] == "ephemeral" and notice["replace_original"] is False
        assert "busy" in notice["text"]
        gate.set()
        assert len(bot.answer(first)) == len(bot.answer(second)) == 1
        assert bot.workers.join() and len(fake.responses(url)) == 1


def _posted(bot: RunningBot) -> dict[str, str]:
    report = publish(bot.engine, posting_client("xoxb-test", bot.fake.api_url), bot.bot.settings, dt.datetime(2025, 1, 24, 12, 0, tzinfo=dt.UTC))
    assert report.ok and report.posted
    return {
        m["metadata"]["event_payload"]["arxiv_id"]: m["ts"]
        for m in bot.fake.messages("C0SD")
        if (m.get("metadata") or {}).get("event_payload", {}).get("kind") == "paper"
    }


def test_a_write_waiting_on_another_processs_lock_never_blocks_lookups(
    fake: FakeSlack, tmp_path: Path
) -> None:
    """Thread replies are store writes: they wait for the lock on their own queue."""
    with start(fake, tmp_path) as bot:
        arxiv_id, ts = next(iter(_posted(bot).items()))
        holder = sqlite3.connect(tmp_path / "bot.sqlite3", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # as an `index` in another process does
        try:
            for n in range(1, 13):
                event = {"type": "message", "channel": "C0SD", "channel_type": "channel", "user": f"U0P{n}",
                         "text": "interesting", "ts": f"{float(ts) + n:.6f}", "thread_ts": ts}
                assert bot.event(event) == 200
            status, _, url = command(bot, "federated lerning")
            assert status == 200
            [answer] = bot.answer(url, timeout=ACK_DEADLINE)  # answered while the lock is still held
            assert "Federated" in json.dumps(answer)
            info = thread_for(bot.engine, arxiv_id)
            assert info is not None and info.reply_count == 0  # nothing could be written yet
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        fake.wait_for(lambda: (t := thread_for(bot.engine, arxiv_id)) and t.reply_count == 12, timeout=15)


def test_queued_work_that_fails_still_answers_the_user(
    fake: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with start(fake, tmp_path) as bot:
        def broken(text: str | None) -> Any:
            raise RuntimeError("search index exploded")

        monkeypatch.setattr(bot.bot.lookup, "answer", broken)
        status, _, url = command(bot, "privacy")
        assert status == 200
        [answer] = bot.answer(url)
        assert answer["response_type"] == "ephemeral" and "went wrong" in answer["text"]


def test_work_threads_survive_a_failing_job_and_a_full_queue_refuses_at_once() -> None:
    from bot.slack.work import WorkQueue

    done: list[int] = []
    work = WorkQueue("test", workers=1, limit=3)
    gate = threading.Event()
    assert work.submit(gate.wait)
    deadline = time.monotonic() + 5
    while work.stats().running != 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [work.submit(functools.partial(done.append, i)) for i in range(4)] == [True, True, True, False]
    gate.set()

    def boom() -> None:
        raise RuntimeError("boom")

    assert work.join()
    assert done == [0, 1, 2]
    assert work.submit(boom) and work.join()
    assert work.submit(lambda: done.append(9)) and work.join() and done[-1] == 9
    stats = work.stats()
    assert (stats.refused, stats.running, stats.waiting, stats.done) == (1, 0, 0, 6)
    work.close()
    assert not work.submit(lambda: None)


def test_a_delivery_that_finds_its_queue_full_is_made_at_once_not_dropped() -> None:
    from bot.slack.work import Workers, WorkQueue

    gate = threading.Event()
    work = Workers(
        answers=WorkQueue("a", workers=1, limit=1),
        deliveries=WorkQueue("d", workers=1, limit=1),
        writes=WorkQueue("w", workers=1, limit=1),
        notices=WorkQueue("n", workers=1, limit=1),
    )
    try:
        work.send(gate.wait)
        deadline = time.monotonic() + 5
        while work.deliveries.stats().running != 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        work.send(lambda: None)  # waits in line
        done: list[str] = []
        work.send(lambda: done.append(threading.current_thread().name))
        assert done == [threading.current_thread().name]  # ran right here
    finally:
        gate.set()
        work.close()
