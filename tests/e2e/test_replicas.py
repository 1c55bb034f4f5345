"""Three `digest-bot` replicas on one PostgreSQL store and one (fake) Slack.

Each replica is a real process running `digest-bot post`, the job the
scheduler runs in every replica on posting day, started at the same moment.
The store's claims must make every paper of the week land exactly once, and
when the replica that is posting is SIGKILLed mid-week, the others must finish
the week with no duplicate and no loss. PostgreSQL only (DIGEST_TEST_PG_URL).
"""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from tests.publisher.test_publisher import expected, sequence
from tests.support.fake_slack import Call, FakeSlack
from tests.support.replicas import kill_lease_holder, outcome, replica

pytestmark = pytest.mark.backends("postgresql")

NEWEST = [("dp", dt.date(2025, 1, 17)), ("fl", dt.date(2025, 1, 17))]
BUSY = ["dp 2025-01-17", "fl 2025-01-17"]
MESSAGES = 9  # dp: header + 4 papers; fl: header + 3 (its 4th is dp's, linked)


@pytest.fixture
def store(engine: Engine) -> Engine:
    """The test's view of the replicas' store (migrated; the replicas index it)."""
    return engine


def together(db_url: str, archive: Path, fake: FakeSlack, n: int) -> list[subprocess.Popen[str]]:
    """`n` replicas of the posting job (`digest-bot post`)."""
    return [replica(db_url, archive, fake, "post") for _ in range(n)]


def busy(report: dict[str, Any]) -> list[str]:
    return [label for channel in report["channels"] for label in channel["busy"]]


def check_exactly_once(store: Engine, fake: FakeSlack) -> None:
    """Each header and paper once, in digest order (one replica posts a channel at a time)."""
    assert sequence(fake, "C0SD") == expected(store, NEWEST)
    assert len(fake.messages("C0SD")) == MESSAGES


def test_three_replicas_triggered_at_once_post_the_week_exactly_once(
    store: Engine, db_url: str, example_archive: Path, fake: FakeSlack
) -> None:
    fake.latency(0.25, "chat.postMessage")  # the week takes seconds: the others see it busy

    results = [outcome(p) for p in together(db_url, example_archive, fake, 3)]

    assert [code for code, _, _ in results] == [0, 0, 0], [err for _, _, err in results]
    reports = [report for _, report, _ in results if report is not None]
    posters = [r for r in reports if r["posted"]]
    assert len(posters) == 1 and posters[0]["posted"] == MESSAGES and busy(posters[0]) == []
    for other in reports:
        if other is not posters[0]:
            assert other["ok"] and other["posted"] == 0 and busy(other) == BUSY
    check_exactly_once(store, fake)


@pytest.mark.parametrize("kill_after", [2, 6])
def test_the_replica_posting_is_killed_mid_week_and_the_others_finish_it(
    store: Engine, db_url: str, example_archive: Path, fake: FakeSlack, kill_after: int
) -> None:
    fake.latency(0.1, "chat.postMessage")
    first = together(db_url, example_archive, fake, 3)
    ours = {p.pid for p in first}
    killed: list[int] = []

    def kill_the_poster(call: Call) -> None:
        """After the Nth accepted post, SIGKILL whoever holds that digest's lease."""
        if len(fake.calls("chat.postMessage")) != kill_after or killed:
            return
        payload = call.params["metadata"]["event_payload"]
        key = f"C0SD|{payload['slug']}|{payload['week']}"
        kill_lease_holder(store, key, ours, killed)

    fake.on_post(kill_the_poster)
    results = {p.pid: outcome(p) for p in first}
    fake.on_post(None)

    assert len(killed) == 1 and results[killed[0]][0] == -signal.SIGKILL
    assert len(fake.messages("C0SD")) >= kill_after
    survivors = [results[pid] for pid in ours - set(killed)]
    assert [code for code, _, _ in survivors] == [0, 0], [err for _, _, err in survivors]

    # The scheduler's next run in the surviving replicas: both at once again.
    again = [outcome(p) for p in together(db_url, example_archive, fake, 2)]
    assert [code for code, _, _ in again] == [0, 0], [err for _, _, err in again]

    reports = [r for _, r, _ in survivors + again if r is not None]
    assert sum(r["adopted"] for r in reports) == 1  # the post the killed replica never heard of
    assert sum(r["posted"] for r in reports) == MESSAGES - kill_after
    assert any("took over" in err for _, _, err in survivors + again)
    check_exactly_once(store, fake)
    last = outcome(replica(db_url, example_archive, fake, "post"))
    assert last[1] is not None and last[1]["posted"] == 0 and last[1]["adopted"] == 0
    check_exactly_once(store, fake)
