"""A restart in place (same host, same pid: a container's pid 1) takes its own old leases at once.

Leases name their holder by host, pid and the process's incarnation (a token
drawn once per process). The process that ran before a restart in place had
the same host and pid but another incarnation: it is dead, and its leases are
taken over at once instead of waited out (the weekly DMs came 11 minutes late).
The restart itself is real here: a process takes the lease, then `exec`s a new
Python, which keeps the pid, as a container's pid 1 does when restarted in place.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import Engine

from bot.config import load_settings
from bot.personal import follows, records
from bot.publisher.leases import INCARNATION, default_holder, holder_is_dead
from bot.search import LiveSearch
from bot.slack.client import posting_client
from bot.store import Catalog, sync_archive
from bot.store import leases as lease_store
from tests.conftest import PROJECT
from tests.support.fake_slack import BOT_TOKEN, BOT_USER_ID, USER_ID, FakeSlack
from tests.support.publishing import publish

NOW = dt.datetime(2025, 1, 24, 9, tzinfo=dt.UTC)
WEEK = dt.date(2025, 1, 17)
TTL = dt.timedelta(minutes=10)


#: Whom the fake Slack knows: read by the `fake_slack` fixture (tests/conftest.py).
FAKE_SLACK_OPTIONS = {"users": {USER_ID: "alice", BOT_USER_ID: "digest-bot"}}


def test_a_holder_is_dead_when_it_is_this_pid_in_an_earlier_incarnation() -> None:
    host, pid = socket.gethostname(), os.getpid()
    assert not holder_is_dead(default_holder())  # this very process
    assert not holder_is_dead(f"{host}:{pid}:{INCARNATION}:another-run")  # another run of this process
    assert holder_is_dead(f"{host}:{pid}:{'0' * 12}:aa")  # this pid before a restart in place
    assert holder_is_dead(f"{host}:{pid}:aa")  # the older form, written before a restart
    assert not holder_is_dead(f"elsewhere:{pid}:{'0' * 12}:aa")  # a pid means nothing on another host
    assert not holder_is_dead("a-restarted-bot")


def test_a_digest_leased_by_this_pid_before_a_restart_is_posted_at_once(
    engine: Engine, example_archive: Path, fake: FakeSlack
) -> None:
    sync_archive(engine, example_archive)
    key = f"C0SD|dp|{WEEK.isoformat()}"
    earlier = f"{socket.gethostname()}:{os.getpid()}:{'0' * 12}:aa"
    assert lease_store.acquire_lease(engine, key, earlier, now=NOW, ttl=TTL)

    settings = load_settings(None, DIGEST_CHANNEL="C0SD")
    report = publish(engine, posting_client(BOT_TOKEN, fake.api_url), settings, NOW)

    assert report.ok and report.channels["C0SD"].busy == []
    assert "dp 2025-01-17" in report.channels["C0SD"].digests


RESTARTED = textwrap.dedent(
    """
    import datetime as dt, json, os, sys
    from bot.publisher.leases import default_holder
    from bot.store import open_engine
    from bot.store import leases as lease_store
    db_url, api_url, token, index_dir, phase = sys.argv[1:6]
    engine = open_engine(db_url)
    now = dt.datetime(2025, 1, 24, 9, tzinfo=dt.UTC)
    if phase == "before":
        # The bot takes the week's DM lease, then its container restarts in place:
        # the same pid runs a new program (exec), which finds that lease in the store.
        holder = default_holder()
        assert lease_store.acquire_lease(engine, "dm|2025-01-17", holder, now=now, ttl=dt.timedelta(minutes=10))
        engine.dispose()
        os.execv(sys.executable, [sys.executable, "-c", SCRIPT, db_url, api_url, token, index_dir, "after", holder, str(os.getpid())])
    from bot.search import LiveSearch
    from bot.slack.client import posting_client
    from bot.store import Catalog
    from bot.weekly.dms import send_weekly_dms
    search = LiveSearch(Catalog(engine), index_dir=index_dir).engine()
    client = posting_client(token, api_url)
    report = send_weekly_dms(engine, client, search, now=now, min_interval=0, sleep=lambda s: None)
    print(json.dumps({"pid": os.getpid(), "before": sys.argv[7], "old_holder": sys.argv[6], "report": report.as_dict()}))
    """
)


def test_a_restart_in_place_with_the_same_pid_sends_the_dms_at_once(
    tmp_path: Path, example_archive: Path, fake: FakeSlack
) -> None:
    db_url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    from bot.store import open_engine

    engine = open_engine(db_url)
    sync_archive(engine, example_archive)
    settings = load_settings(None, DIGEST_CHANNEL="C0SD")
    assert publish(engine, posting_client(BOT_TOKEN, fake.api_url), settings, NOW).ok
    LiveSearch(Catalog(engine), index_dir=tmp_path / "index").engine()  # built once, read by the restarted bot
    made = follows.follow_query("differential privacy")
    assert made is not None
    records.add_follow(engine, USER_ID, made.text, now=NOW)
    engine.dispose()

    script = f"SCRIPT = {RESTARTED!r}\n{RESTARTED}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "SLACK_"))}
    done = subprocess.run(
        [sys.executable, "-c", script, db_url, fake.api_url, BOT_TOKEN, str(tmp_path / "index"), "before"],
        cwd=PROJECT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert str(result["pid"]) == result["before"]  # the same pid, a new process image
    assert result["report"]["busy"] == [], result  # not left to "another process" for 10 minutes
    assert result["report"]["sent"] == 1 and len(fake.dms(USER_ID)) == 1
