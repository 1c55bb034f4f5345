"""Three replicas run the weekly DM pass at once on one PostgreSQL store: one DM per person.

Each replica is a real `digest-bot dms` process (what the scheduler runs after
posting), started at the same moment; when the one sending is SIGKILLed mid-way,
the others finish the week with no duplicate and no one left out.
PostgreSQL only (DIGEST_TEST_PG_URL).
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.config import load_settings
from bot.personal import follows, records
from bot.publisher import Selection
from bot.slack.client import posting_client
from bot.store import sync_archive
from tests.support import replicas
from tests.support.fake_slack import BOT_TOKEN, BOT_USER_ID, Call, FakeSlack
from tests.support.publishing import publish
from tests.support.replicas import kill_lease_holder

pytestmark = pytest.mark.backends("postgresql")

WEEK = dt.date(2025, 1, 17)
USERS = [f"U0P{i:02d}" for i in range(6)]


#: Whom the fake Slack knows: read by the `fake_slack` fixture (tests/conftest.py).
FAKE_SLACK_OPTIONS = {"users": {**{u: u.lower() for u in USERS}, BOT_USER_ID: "digest-bot"}}


@pytest.fixture
def store(engine: Engine, example_archive: Path, fake: FakeSlack) -> Engine:
    """The week posted (the replicas are told `--week`), and six people following it."""
    sync_archive(engine, example_archive)
    now = dt.datetime.now(dt.UTC)
    settings = load_settings(None, DIGEST_CHANNEL="C0SD")
    client = posting_client(BOT_TOKEN, fake.api_url)
    assert publish(engine, client, settings, now, selection=Selection(week=WEEK)).ok
    for user in USERS:
        made = follows.follow_query("differential privacy")
        assert made is not None
        records.add_follow(engine, user, made.text, now=now)
    return engine


def replica(db_url: str, archive: Path, fake: FakeSlack, data: Path) -> subprocess.Popen[str]:
    """One replica's DM pass for the week, with its own data folder."""
    return replicas.replica(db_url, archive, fake, "dms", "--week", WEEK.isoformat(), DIGEST_DATA_DIR=str(data))


def together(db_url: str, archive: Path, fake: FakeSlack, tmp: Path, n: int, tag: str) -> list[subprocess.Popen[str]]:
    return [replica(db_url, archive, fake, tmp / f"{tag}{i}") for i in range(n)]


def outcome(process: subprocess.Popen[str]) -> tuple[int, dict[str, Any] | None, str]:
    """A DM pass exits 1 when some DM failed, and still reports (`digest-bot dms --json`)."""
    return replicas.outcome(process, reports_on=(0, 1))


def dms_per_person(fake: FakeSlack) -> list[int]:
    return [len(fake.dms(u)) for u in USERS]


def test_three_replicas_send_each_person_one_dm(store: Engine, db_url: str, example_archive: Path, fake: FakeSlack, tmp_path: Path) -> None:
    fake.latency(0.2, "chat.postMessage")  # the pass takes seconds: the others find it busy
    results = [outcome(p) for p in together(db_url, example_archive, fake, tmp_path, 3, "a")]
    assert [code for code, _, _ in results] == [0, 0, 0], [err[-2000:] for _, _, err in results]
    reports = [r for _, r, _ in results if r is not None]
    senders = [r for r in reports if r["sent"]]
    assert len(senders) == 1 and senders[0]["sent"] == len(USERS)
    assert sorted(r["busy"] for r in reports if r is not senders[0]) == [[WEEK.isoformat()]] * 2
    assert dms_per_person(fake) == [1] * len(USERS)


def test_the_replica_sending_is_killed_and_the_others_finish_the_week(
    store: Engine, db_url: str, example_archive: Path, fake: FakeSlack, tmp_path: Path
) -> None:
    fake.latency(0.1, "chat.postMessage")
    first = together(db_url, example_archive, fake, tmp_path, 3, "a")
    ours = {p.pid for p in first}
    killed: list[int] = []

    def kill_the_sender(call: Call) -> None:
        """After the 2nd DM Slack accepted, SIGKILL whoever holds the week's DM lease."""
        dms = [c for c in fake.calls("chat.postMessage") if str(c.params.get("channel", "")).startswith("D")]
        if len(dms) != 2 or killed:
            return
        kill_lease_holder(store, f"dm|{WEEK.isoformat()}", ours, killed)

    fake.on_post(kill_the_sender)
    results = {p.pid: outcome(p) for p in first}
    fake.on_post(None)
    assert len(killed) == 1 and results[killed[0]][0] == -signal.SIGKILL
    again = [outcome(p) for p in together(db_url, example_archive, fake, tmp_path, 2, "b")]
    survivors = [results[pid] for pid in ours - set(killed)] + again
    assert [code for code, _, _ in survivors] == [0] * 4, [err[-2000:] for _, _, err in survivors]
    reports = [r for _, r, _ in survivors if r is not None]
    assert sum(r["adopted"] for r in reports) == 1  # the DM the killed replica never heard of
    assert sum(r["sent"] for r in reports) == len(USERS) - 2
    assert dms_per_person(fake) == [1] * len(USERS)
