"""Two replicas answer /papers over HTTP, at once, after the archive gained a week through the other.

Each replica is a whole bot (its own engine and connection pool, its own
in-memory search index, its own HTTP server) on one shared store; replica A
re-reads the archive with the job its scheduler runs, and replica B must find
the new papers too, through the store's version.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.model import Paper, TopicRef
from bot.weekly.job import resync
from tests.conftest import EXAMPLE_ARCHIVE
from tests.support.archive_writer import digest_text
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_slack import FakeSlack

pytestmark = pytest.mark.backends("sqlite", "postgresql")

NEW_WEEK = dt.date(2025, 1, 24)
NEW_PAPERS = [
    Paper(
        arxiv_id="2501.14001",
        url="http://arxiv.org/abs/2501.14001",
        title="Holographic Ledger Sharding for Private Telemetry",
        title_ja="プライベートなテレメトリのためのホログラフィック台帳分割",
        authors=("Quinn Zebulon", "Ravi Okonkwo"),
        summary=("台帳を分割してテレメトリを秘匿する",),
        topics=(TopicRef("dp", "差分プライバシー"),),
        categories=("cs.CR",),
        posted_at=dt.datetime(2025, 1, 27, 10, 0),
    ),
    Paper(
        arxiv_id="2501.14002",
        url="http://arxiv.org/abs/2501.14002",
        title="Federated Gossip with Holographic Ledgers",
        title_ja="ホログラフィック台帳による連合ゴシップ",
        authors=("Ravi Okonkwo",),
        summary=("ゴシップ型の連合学習",),
        topics=(TopicRef("fl", "連合学習"),),
        categories=("cs.LG",),
        posted_at=dt.datetime(2025, 1, 28, 11, 0),
    ),
]


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    shared = tmp_path / "archive"  # one folder both replicas read (a shared volume)
    shutil.copytree(EXAMPLE_ARCHIVE, shared)
    return shared


@pytest.fixture
def replicas(db_url: str, archive: Path, tmp_path: Path) -> Iterator[tuple[RunningBot, RunningBot]]:
    with (
        FakeSlack() as fake,
        running_bot(fake, archive, tmp_path / "a", db_url=db_url) as a,
        running_bot(fake, archive, tmp_path / "b", db_url=db_url) as b,
    ):
        yield a, b


def ask_both(a: RunningBot, b: RunningBot, text: str) -> list[str]:
    """Send the same /papers to both replicas at the same moment; their answers, as JSON text."""
    urls: list[str] = ["", ""]
    barrier = threading.Barrier(2)

    def ask(i: int, replica: RunningBot) -> None:
        barrier.wait()
        status, urls[i] = replica.command(text)
        assert status == 200

    threads = [threading.Thread(target=ask, args=(i, r)) for i, r in enumerate((a, b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [json.dumps(r.answer(url)[0], ensure_ascii=False) for r, url in zip((a, b), urls, strict=True)]


def test_both_replicas_find_a_week_indexed_by_one_of_them(
    replicas: tuple[RunningBot, RunningBot], archive: Path
) -> None:
    a, b = replicas
    before = ask_both(a, b, "holographic ledger")
    assert all("2501.14001" not in answer for answer in before)

    for slug, name in (("dp", "差分プライバシー"), ("fl", "連合学習")):
        papers = [p for p in NEW_PAPERS if p.topics[0].slug == slug]
        path = archive / f"_{slug}" / f"{NEW_WEEK}.md"
        path.write_text(digest_text(name, NEW_WEEK, papers), encoding="utf-8")
    (archive / "_all" / f"{NEW_WEEK}.md").write_text(digest_text("全て", NEW_WEEK, NEW_PAPERS), encoding="utf-8")
    report = resync(a.engine, archive)  # what replica A's scheduler runs every DIGEST_SYNC_MINUTES
    assert report is not None and report.papers_added == 2

    after = ask_both(a, b, "holographic ledger")
    for answer in after:
        assert "2501.14001" in answer and "2501.14002" in answer
    for answer in ask_both(a, b, "week 2025-01-25"):
        assert "Holographic Ledger Sharding" in answer
    for answer in ask_both(a, b, "author Okonkwo"):
        assert "2501.14002" in answer
