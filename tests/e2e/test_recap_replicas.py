"""Three replicas post the weekly recap at once on one PostgreSQL store: exactly one recap, and
when the replica posting it is SIGKILLed right after Slack took the message, the next run
adopts it instead of posting it again. PostgreSQL only (DIGEST_TEST_PG_URL)."""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.support import replicas
from tests.support.fake_slack import Call, FakeSlack
from tests.support.replicas import kill_lease_holder, outcome

pytestmark = pytest.mark.backends("postgresql")


@pytest.fixture
def posted(posted_week: Engine) -> Engine:
    """The newest week (2025-01-17: dp and fl) posted to C0SD (`posted_week`, tests/conftest.py)."""
    return posted_week


def replica(db_url: str, archive: Path, fake: FakeSlack) -> subprocess.Popen[str]:
    """One replica's recap job for the posted week."""
    return replicas.replica(db_url, archive, fake, "recap", "--week", "2025-01-17")


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
        kill_lease_holder(posted, "C0SD|recap|2025-01-17", ours, killed)

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
