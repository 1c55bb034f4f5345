"""Three replicas post the weekly recap at once on one PostgreSQL store: exactly one recap, and
when the replica posting it is SIGKILLed right after Slack took the message, the next run
adopts it instead of posting it again. PostgreSQL only (DIGEST_TEST_PG_URL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.store.leases import leases
from tests.conftest import PROJECT
from tests.support.fake_slack import BOT_TOKEN, Call, FakeSlack

pytestmark = pytest.mark.backends("postgresql")


@pytest.fixture
def posted(posted_week: Engine) -> Engine:
    """The newest week (2025-01-17: dp and fl) posted to C0SD (`posted_week`, tests/conftest.py)."""
    return posted_week


def replica(db_url: str, archive: Path, fake: FakeSlack) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "SLACK_"))}
    env.update(DIGEST_DB_URL=db_url, DIGEST_ARCHIVE=str(archive), SLACK_BOT_TOKEN=BOT_TOKEN,
               SLACK_API_URL=fake.api_url, DIGEST_CHANNEL="C0SD", PYTHONPATH=str(PROJECT))
    command = [sys.executable, "-m", "bot", "--env-file", os.devnull, "recap", "--json", "--interval", "0.01",
               "--week", "2025-01-17"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def outcome(process: subprocess.Popen[str]) -> tuple[int, dict[str, Any] | None, str]:
    try:
        out, err = process.communicate(timeout=120)
    finally:
        process.kill()
    return process.returncode, (json.loads(out) if process.returncode == 0 else None), err


def recaps(fake: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in fake.messages("C0SD") if (m.get("metadata") or {}).get("event_payload", {}).get("kind") == "recap"]


def test_three_replicas_post_one_recap(posted: Engine, db_url: str, example_archive: Path, fake: FakeSlack) -> None:
    fake.latency(0.3, "chat.postMessage")
    results = [outcome(p) for p in [replica(db_url, example_archive, fake) for _ in range(3)]]
    assert [code for code, _, _ in results] == [0, 0, 0], [err for _, _, err in results]
    channels = [r["channels"][0] for _, r, _ in results if r is not None]
    assert sum(c["posted"] for c in channels) == 1
    assert all(c["busy"] or c["posted"] or c["week"] for c in channels)
    assert len(recaps(fake)) == 1
    [chart] = fake.files("C0SD")  # its chart, once, in its thread
    assert chart.thread_ts == recaps(fake)[0]["ts"]


def test_the_replica_posting_the_recap_is_killed_and_the_next_run_adopts_it(
    posted: Engine, db_url: str, example_archive: Path, fake: FakeSlack
) -> None:
    fake.latency(0.1, "chat.postMessage")
    first = [replica(db_url, example_archive, fake) for _ in range(2)]
    ours = {p.pid for p in first}
    killed: list[int] = []

    def kill_the_poster(call: Call) -> None:
        if call.params.get("metadata", {}).get("event_payload", {}).get("kind") != "recap" or killed:
            return
        with posted.connect() as conn:
            holder = conn.execute(select(leases.c.holder).where(leases.c.lease_key == "C0SD|recap|2025-01-17")).scalar()
        pid = int(str(holder).split(":")[1])
        assert pid in ours, holder
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)
        raise RuntimeError("the replica died before hearing Slack's answer")

    fake.on_post(kill_the_poster)
    results = {p.pid: outcome(p) for p in first}
    fake.on_post(None)
    assert len(killed) == 1 and results[killed[0]][0] == -signal.SIGKILL
    again = outcome(replica(db_url, example_archive, fake))
    assert again[0] == 0, again[2]
    survivors = [r for pid, (_, r, _) in results.items() if pid not in killed and r is not None]
    reports = [*survivors, again[1]]
    assert sum(r["channels"][0]["posted"] for r in reports if r) == 0  # never posted twice
    assert any(r["channels"][0]["adopted"] for r in reports if r)
    assert len(recaps(fake)) == 1
    [chart] = fake.files("C0SD")
    assert chart.thread_ts == recaps(fake)[0]["ts"]
