"""Store faults: a store file deleted, replaced, read-only or corrupt under the bot.

Each is detected and said in one clear line; `/healthz` reports the store's
health (its file, a read, a write), not just that the process is up; nothing
is written where no one will read it again.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.engagement.discussion import record_reply
from bot.store import open_engine, sync_archive
from bot.store.health import StoreLost, StoreWatch
from bot.weekly.job import run_weekly
from tests.conftest import EXAMPLE_ARCHIVE, PROJECT
from tests.support.bot_server import running_bot, settings_for
from tests.support.fake_slack import FakeSlack

NOW = dt.datetime(2025, 1, 24, 9, 0, tzinfo=dt.UTC)


def healthz(url: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        with err:
            return err.code, json.loads(err.read())


def test_healthz_reports_the_store_read_and_write(fake: FakeSlack, tmp_path: Path) -> None:
    with running_bot(fake, EXAMPLE_ARCHIVE, tmp_path) as bot:
        status, body = healthz(bot.url)
    assert status == 200 and body["status"] == "ok"
    assert body["store"] == {"ok": True, "read": "ok", "write": "ok"} and body["papers"] == 21
    assert set(body["queues"]) == {"answers", "home", "deliveries", "writes", "notices"}


def test_a_write_lock_held_elsewhere_is_busy_not_down(
    fake: FakeSlack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.store.health.PROBE_CACHE", 0.0)
    with running_bot(fake, EXAMPLE_ARCHIVE, tmp_path) as bot:
        holder = sqlite3.connect(tmp_path / "bot.sqlite3", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            status, body = healthz(bot.url)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    assert status == 200 and body["store"]["write"].startswith("busy")


def test_deleting_the_store_file_is_detected_healthz_fails_and_nothing_is_written_to_it(
    fake: FakeSlack, tmp_path: Path
) -> None:
    with running_bot(fake, EXAMPLE_ARCHIVE, tmp_path) as bot:
        assert healthz(bot.url)[0] == 200
        for suffix in ("", "-wal", "-shm"):
            Path(f"{tmp_path / 'bot.sqlite3'}{suffix}").unlink(missing_ok=True)
        time.sleep(PROBE_WAIT)  # past the probe cache
        status, body = healthz(bot.url)
        assert status == 503 and body["status"] == "error"
        assert "was deleted while the bot was running" in body["store"]["problem"]
        # Every transaction refuses now: the weekly job says so in one line and posts nothing.
        report = run_weekly(bot.engine, EXAMPLE_ARCHIVE, _client(fake), NOW, settings_for(fake))
        assert report.error is not None and "was deleted" in report.error
        assert fake.calls("chat.postMessage") == []
        with pytest.raises(StoreLost):
            record_reply(bot.engine, channel="C0SD", thread_ts="1.0", user="U1", ts="2.0", bot_user_id="U0BOT")


PROBE_WAIT = 2.1


def _client(fake: FakeSlack) -> Any:
    from bot.slack.client import posting_client

    return posting_client("xoxb-test", fake.api_url)


def test_a_store_file_replaced_by_another_is_detected_and_the_owner_told_once(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    engine = open_engine(f"sqlite:///{path}")
    told: list[str] = []
    watch = StoreWatch(engine, on_lost=told.append)
    try:
        assert watch.probe().ok
        replacement = tmp_path / "other.sqlite3"
        open_engine(f"sqlite:///{replacement}").dispose()
        os.replace(replacement, path)
        with pytest.raises(StoreLost, match="was replaced by another file"), engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1").all()
        with pytest.raises(StoreLost):
            watch.check()
        assert len(told) == 1 and "replaced" in told[0]
    finally:
        watch.stop()
        engine.dispose()


def test_a_store_corrupted_under_the_bot_fails_healthz(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    engine = open_engine(f"sqlite:///{path}")
    sync_archive(engine, EXAMPLE_ARCHIVE)
    engine.dispose()
    watch = StoreWatch(engine)
    with open(path, "r+b") as file:  # same file, garbage inside
        file.write(b"this is not a database" * 100)
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    health = watch.probe()
    watch.stop()
    assert not health.ok and "is corrupt" in (health.problem or "")


def test_a_read_only_store_fails_healthz_with_one_clear_reason(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    sync_archive(writable := open_engine(f"sqlite:///{path}"), EXAMPLE_ARCHIVE)
    writable.dispose()
    engine = open_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    watch = StoreWatch(engine)
    try:
        health = watch.probe()
    finally:
        watch.stop()
        engine.dispose()
    assert not health.ok and health.read == "ok" and health.write == "failed"
    assert "is read-only" in (health.problem or "")


def _index(tmp_path: Path, db_url: str, archive: Path) -> Any:
    env = {"DIGEST_DB_URL": db_url, "DIGEST_ARCHIVE": str(archive)}
    return CliRunner().invoke(main, ["index"], env=env)


def test_the_cli_says_a_read_only_store_in_one_line(tmp_path: Path, example_archive: Path) -> None:
    path = tmp_path / "store.sqlite3"
    open_engine(f"sqlite:///{path}").dispose()
    result = _index(tmp_path, f"sqlite:///file:{path}?mode=ro&uri=true", example_archive)
    assert result.exit_code == 2, result.output
    assert "is read-only" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_the_cli_says_a_corrupt_store_in_one_line(tmp_path: Path, example_archive: Path) -> None:
    path = tmp_path / "store.sqlite3"
    path.write_bytes(b"garbage, not SQLite" * 200)
    result = _index(tmp_path, f"sqlite:///{path}", example_archive)
    assert result.exit_code == 2, result.output
    assert "is corrupt" in result.output and "Traceback" not in result.output
    assert path.read_bytes().startswith(b"garbage")  # left as it was: nothing lost silently


def test_the_running_bot_stops_with_a_clear_error_when_its_store_file_is_deleted(
    tmp_path: Path, fake_slack: FakeSlack
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    store = tmp_path / "store.sqlite3"
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT),
        "DIGEST_ARCHIVE": str(EXAMPLE_ARCHIVE),
        "DIGEST_DB_URL": f"sqlite:///{store}",
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "SLACK_API_URL": fake_slack.api_url,
        "PORT": str(port),
        "DIGEST_BIND_ADDRESS": "127.0.0.1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if healthz(f"http://127.0.0.1:{port}")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        store.unlink()
        output, _ = process.communicate(timeout=30)  # the watch looks every 5 s
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
    assert process.returncode == 3, output
    assert f"the store's file {store.resolve()} was deleted while the bot was running" in output
    assert "Traceback" not in output
