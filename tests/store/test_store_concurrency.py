"""Several processes on one store: syncs serialised, changes seen everywhere, one kind of time.

Every test runs on SQLite and on PostgreSQL (see tests/conftest.py). The
processes are real ones (`digest-bot index`), as bot replicas would be.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner, Result
from slack_sdk import WebClient
from sqlalchemy import Engine, event

from bot.archive import load_archive
from bot.cli import main
from bot.config import load_settings
from bot.model import Paper, TopicRef
from bot.store import Catalog, locks, open_engine, sync_archive
from bot.store import leases as lease_store
from bot.weekly.job import run_weekly
from tests.support.archive_writer import write_digest
from tests.support.fake_slack import BOT_TOKEN, FakeSlack

pytestmark = pytest.mark.backends("sqlite", "postgresql")

PROJECT = Path(__file__).resolve().parents[2]
NEW_WEEK = dt.date(2025, 1, 24)


def index_process(db_url: str, archive: Path, index_dir: Path, *args: str) -> subprocess.Popen[str]:
    """`digest-bot index --json` in a process of its own, as another replica (its search
    index in `index_dir`: on PostgreSQL the default is under the working folder)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "SLACK_"))}
    env.update(DIGEST_DB_URL=db_url, DIGEST_ARCHIVE=str(archive), DIGEST_INDEX_DIR=str(index_dir),
               PYTHONPATH=str(PROJECT))
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--env-file", os.devnull, "index", "--json", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finished(process: subprocess.Popen[str]) -> dict[str, Any]:
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    return json.loads(out)


def add_week(archive: Path) -> list[str]:
    """A new week in dp (and all): the arXiv ids it adds."""
    papers = [
        Paper(
            f"2501.9{n:04d}",
            f"http://arxiv.org/abs/2501.9{n:04d}",
            f"Fresh paper {n}",
            f"新しい論文 {n}",
            ("A. Author",),
            ("要点",),
            topics=(TopicRef("dp", "差分プライバシー"),),
            categories=("cs.CR",),
            posted_at=dt.datetime(2025, 1, 25, 10, n),
        )
        for n in range(3)
    ]
    write_digest(archive, "dp", "差分プライバシー", NEW_WEEK, papers)
    write_digest(archive, "all", "全て", NEW_WEEK, papers)
    return [p.arxiv_id for p in papers]


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement.strip())

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def test_syncs_started_together_in_three_processes_index_once(
    db_url: str, example_archive: Path, tmp_path: Path
) -> None:
    """Without the sync lock the later ones would insert the same rows again and fail."""
    processes = [index_process(db_url, example_archive, tmp_path / f"index-{i}") for i in range(3)]
    reports = [finished(p) for p in processes]

    assert sorted(r["parsed"] for r in reports) == [0, 0, 9]
    assert {r["papers"] for r in reports} == {21}
    engine = open_engine(db_url)
    try:
        stored = {p.arxiv_id: p for p in Catalog(engine).iter_papers()}
        assert stored == load_archive(example_archive).papers
        assert Catalog(engine).version() == 1
    finally:
        engine.dispose()


def test_a_sync_in_another_process_reaches_changes_since(
    engine: Engine, db_url: str, example_archive: Path, tmp_path: Path
) -> None:
    """How a replica's search index learns of a week another replica indexed."""
    sync_archive(engine, example_archive)
    catalog = Catalog(engine)
    version = catalog.version()
    with statements(engine) as seen:
        assert catalog.changes_since(version) == (version, [], [])
    queries = [s for s in seen if s.upper().startswith("SELECT")]
    assert len(queries) == 1 and "state" in queries[0]  # nothing moved: one primary-key read

    added = add_week(example_archive)
    assert finished(index_process(db_url, example_archive, tmp_path / "search-index"))["papers_added"] == 3

    current, changed, removed = catalog.changes_since(version)
    assert current == version + 1 and removed == []
    assert sorted(p.arxiv_id for p in changed) == sorted(added)
    assert all(p.digests and p.digests[-1].week_start == NEW_WEEK for p in changed)
    assert catalog.changes_since(current) == (current, [], [])


def test_times_come_back_aware_in_utc_whatever_went_in(engine: Engine) -> None:
    tokyo = dt.datetime(2025, 1, 24, 18, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert lease_store.acquire_lease(engine, "k", "a", now=tokyo, ttl=dt.timedelta(minutes=10))
    lease = lease_store.get_lease(engine, "k")
    assert lease is not None
    assert lease.expires_at == dt.datetime(2025, 1, 24, 9, 10, tzinfo=dt.UTC)
    assert lease.expires_at.tzinfo == dt.UTC
    # Comparisons happen in the database: a naive time is UTC, not the server's zone.
    naive = dt.datetime(2025, 1, 24, 9, 9)
    assert not lease_store.acquire_lease(engine, "k", "b", now=naive, ttl=dt.timedelta(minutes=1))
    assert lease_store.acquire_lease(
        engine, "k", "b", now=naive + dt.timedelta(minutes=2), ttl=dt.timedelta(minutes=1)
    )
    assert [lease.holder for lease in lease_store.held_leases(engine, tokyo)] == ["b"]


def test_a_cli_run_with_another_archive_follows_it_on_sqlite_and_keeps_a_shared_index(
    engine: Engine, db_url: str, example_archive: Path, tmp_path: Path, backend: str
) -> None:
    """A single store follows the archive it is given; a shared store is re-targeted
    only by `index` (other commands say so and answer from it)."""
    sync_archive(engine, example_archive)
    other = tmp_path / "other"
    add_week(other)

    def cli(*args: str) -> Result:
        return CliRunner().invoke(
            main, ["--env-file", os.devnull, *args],
            env={"DIGEST_DB_URL": db_url, "DIGEST_INDEX_DIR": str(tmp_path / "search-index")},
        )

    topics = cli("topics", "--json", "--archive", str(other))
    assert topics.exit_code == 0, topics.output
    if backend == "sqlite":
        assert f"it now indexes {other.resolve()}" in topics.stderr
        assert {t["slug"] for t in json.loads(topics.stdout)} == {"dp"}  # the other archive has dp only
        assert Catalog(engine).count_papers() == 3
        return
    assert "digest-bot index --archive" in topics.stderr
    assert {t["slug"] for t in json.loads(topics.stdout)} == {"dp", "fl"}
    assert Catalog(engine).count_papers() == 21

    index = cli("index", "--json", "--archive", str(other))
    assert index.exit_code == 0, index.output
    assert json.loads(index.stdout)["papers"] == 3 and Catalog(engine).count_papers() == 3


def test_a_replica_with_another_archive_posts_nothing_from_a_shared_store(
    engine: Engine, example_archive: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture, backend: str,
    fake_slack: FakeSlack,
) -> None:
    """Never post from an index that is not the configured archive's: a single store
    follows the configured archive first, a shared one is left alone and nothing is posted."""
    sync_archive(engine, example_archive)
    elsewhere = tmp_path / "elsewhere"
    add_week(elsewhere)
    settings = load_settings(None, DIGEST_CHANNEL="C0SD", DIGEST_TOPICS="dp")
    now = dt.datetime(2025, 1, 31, 9, tzinfo=dt.UTC)
    with caplog.at_level(logging.ERROR):
        client = WebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)
        report = run_weekly(engine, elsewhere, client, now, settings, sleep=lambda s: None)

    if backend == "sqlite":  # followed: the configured archive's newest week is posted
        assert report.ok and report.sync is not None and report.sync.root == str(elsewhere.resolve())
        assert report.publish is not None and report.publish.channels["C0SD"].digests == ["dp 2025-01-24"]
        assert Catalog(engine).count_papers() == 3
        return
    assert not report.ok and report.sync is None and report.publish is None
    assert report.refused is not None and "digest-bot index" in report.refused
    assert not report.worth_retrying  # a setting to fix, not a moment to wait out
    assert any("the store indexes the archive at" in r.getMessage() for r in caplog.records)
    assert Catalog(engine).count_papers() == 21
    assert fake_slack.calls("chat.postMessage") == []


@pytest.mark.real_archive
@pytest.mark.backends("postgresql")
def test_the_real_archive_on_postgresql_reads_back_as_on_sqlite(
    engine: Engine, real_archive: Path, real_store: Catalog
) -> None:
    """Thousands of rows through executemany + RETURNING, JSON, dates and IN lists."""
    report = sync_archive(engine, real_archive)
    catalog = Catalog(engine)
    assert report.papers == real_store.count_papers() and report.parsed > 0
    assert list(catalog.iter_papers()) == list(real_store.iter_papers())
    assert catalog.topics() == real_store.topics()
    assert catalog.weeks() == real_store.weeks()
    assert catalog.digests(with_papers=True) == real_store.digests(with_papers=True)
    ids = [p.arxiv_id for p in real_store.iter_papers()]
    assert [p.arxiv_id for p in catalog.papers(ids)] == ids
    again = sync_archive(engine, real_archive)
    assert again.parsed == 0 and again.version == report.version


def test_claims_are_exclusive_on_postgresql_and_go_with_their_session(
    engine: Engine, backend: str, request: pytest.FixtureRequest
) -> None:
    first, second = locks.Claims(engine), locks.Claims(engine)
    try:
        assert first.try_claim("channel:C0SD") and first.holds("channel:C0SD")
        if backend == "sqlite":  # no such thing: the lease rows decide
            assert not first.exclusive and second.try_claim("channel:C0SD")
            return
        assert first.exclusive and not second.try_claim("channel:C0SD")
        assert second.try_claim("channel:C0FL")  # claims are per name
        first.release("channel:C0SD")
        assert not first.holds("channel:C0SD") and second.try_claim("channel:C0SD")
        second.close()
        assert first.try_claim("channel:C0FL")
        # The server ends the claiming session: the claim is gone, and says so.
        admin: Engine = request.getfixturevalue("pg_admin")
        with admin.connect() as conn:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend({first._backend})")
        assert not first.holds("channel:C0FL")
        assert second.try_claim("channel:C0FL")
        assert not first.try_claim("channel:C0FL") and first.try_claim("channel:C0SD")
    finally:
        first.close()
        second.close()


def test_held_claims_name_the_session_that_holds_them(engine: Engine, backend: str) -> None:
    assert locks.lock_key("channel:C0SD") > 0 > locks.lock_key("channel:C0AB")  # both halves
    with locks.Claims(engine) as ours:
        assert ours.try_claim("channel:C0SD") and ours.try_claim("channel:C0AB")
        names = ["channel:C0SD", "channel:C0AB", "channel:C0FL", "archive-sync"]
        held = locks.held_claims(engine, names)
        if backend == "sqlite":  # claims say nothing about other processes there
            assert held == []
            return
        assert [(c.name, c.pid) for c in held] == [
            ("channel:C0AB", ours._backend),
            ("channel:C0SD", ours._backend),
        ]
        assert held[0].since is not None and held[0].since.tzinfo == dt.UTC
        assert locks.held_claims(engine, ["channel:C0FL"]) == []
        assert locks.held_claims(engine, []) == []
    assert locks.held_claims(engine, names) == []  # gone with their session


def test_status_shows_the_channels_claimed_now(engine: Engine, db_url: str, backend: str) -> None:
    """`digest-bot status` on another replica: a channel's claim and the session holding it."""

    def status(*args: str) -> Result:
        return CliRunner().invoke(
            main,
            ["--env-file", os.devnull, "status", *args],
            env={"DIGEST_DB_URL": db_url, "DIGEST_CHANNELS": "dp=C0SD,fl=C0FL"},
        )

    assert json.loads(status("--json").stdout)["claims"] == []
    with locks.Claims(engine) as replica:
        assert replica.try_claim("channel:C0SD")
        data = json.loads(status("--json").stdout)
        text = status().output
    if backend == "sqlite":
        assert data["claims"] == [] and "Channel claimed" not in text
        return
    [claim] = data["claims"]
    assert claim["channel"] == "C0SD" and claim["session_pid"] == replica._backend
    assert dt.datetime.fromisoformat(claim["session_started_at"]).tzinfo is not None
    assert f"Channel claimed C0SD by database session {replica._backend}" in text
    assert json.loads(status("--json").stdout)["claims"] == []
