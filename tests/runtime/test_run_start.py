"""`digest-bot run`'s start, as a service manager and a person meet it (issue 22, items 3, 5, 7, 9).

- a start that cannot serve (the port taken, an address not this machine's)
  posts nothing and exits non-zero naming PORT / DIGEST_BIND_ADDRESS;
- some Slack settings but not all is an error naming what is missing, never
  a preview that exits 0;
- a second `run` on one SQLite store says which run serves it already, and a
  crashed run's leftover says nothing;
- a week too old for a recap is said in the log, once, and the log has no
  APScheduler INFO lines whose "next run at" contradicts the bot's (item 12).

Each runs `python -m bot run` in a subprocess against the local fake Slack.
"""

from __future__ import annotations

import datetime as dt
import logging
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.slack.client import posting_client
from bot.store import open_engine
from bot.weekly.job import make_weekly_job
from tests.conftest import EXAMPLE_ARCHIVE, PROJECT
from tests.e2e.test_first_contact import digest_bot, digest_bot_within, live_env, store_url
from tests.e2e.test_run_subprocess import free_port, wait_healthy
from tests.publisher.test_publisher import settings
from tests.support.clock import FakeClock
from tests.support.fake_slack import BOT_TOKEN, FakeSlack
from tests.support.team_archive import NEWEST_WEEK, write_team_archive


def start_run(tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """`digest-bot run` in the background, stdout and stderr together."""
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "SLACK_"))}
    base.update(PYTHONPATH=str(PROJECT), COLUMNS="160", **env)
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=tmp_path, env=base,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def stop(process: subprocess.Popen[str]) -> str:
    """SIGTERM, then its whole output."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    return output


# ---- 3. a start that cannot serve posts nothing and names the setting -------------------------


def test_a_taken_port_stops_run_before_anything_is_posted_and_names_port(
    tmp_path: Path, fake: FakeSlack
) -> None:
    archive = write_team_archive(tmp_path / "team")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = live_env(
            tmp_path, fake, archive, SLACK_SIGNING_SECRET="s", PORT=str(port), DIGEST_BIND_ADDRESS="127.0.0.1"
        )
        result = digest_bot_within(90, tmp_path, "run", **env)

    assert result.returncode == 2, result.stdout + result.stderr
    assert f"digest-bot: cannot listen on 127.0.0.1 port {port}" in result.stderr
    assert "set PORT to a free port" in result.stderr
    assert fake.calls("chat.postMessage") == []  # the catch-up run never started
    assert "listening" not in result.stdout + result.stderr and "Traceback" not in result.stderr


def test_an_address_not_this_machines_stops_run_and_names_digest_bind_address(
    tmp_path: Path, fake: FakeSlack
) -> None:
    env = live_env(
        tmp_path, fake, EXAMPLE_ARCHIVE, SLACK_SIGNING_SECRET="s", PORT=str(free_port()),
        DIGEST_BIND_ADDRESS="203.0.113.7",  # TEST-NET-3: never this machine's
    )
    result = digest_bot_within(90, tmp_path, "run", **env)

    assert result.returncode == 2, result.stdout + result.stderr
    assert "cannot listen on 203.0.113.7 port" in result.stderr and "set DIGEST_BIND_ADDRESS" in result.stderr
    assert fake.calls("chat.postMessage") == []


def test_a_socket_mode_start_that_cannot_connect_posts_nothing_and_names_slack_app_token(
    tmp_path: Path, fake: FakeSlack
) -> None:
    archive = write_team_archive(tmp_path / "team")
    env = live_env(tmp_path, fake, archive, SLACK_APP_TOKEN="xapp-refused")  # the fake opens no connection
    result = digest_bot_within(90, tmp_path, "run", **env)

    assert result.returncode == 2, result.stdout + result.stderr
    assert "digest-bot: Slack refused SLACK_APP_TOKEN" in result.stderr and "Traceback" not in result.stderr
    assert fake.calls("chat.postMessage") == []  # the catch-up run never started


# ---- 5. half configured is not preview ----------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "missing"),
    [
        ({"DIGEST_CHANNEL": "#general", "SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN is not"),
        ({"SLACK_BOT_TOKEN": BOT_TOKEN}, "SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode) is not"),
        ({"DIGEST_CHANNEL": "C0SD"}, "SLACK_BOT_TOKEN and SLACK_APP_TOKEN"),
    ],
)
def test_run_with_some_slack_settings_but_not_all_fails_naming_what_is_missing(
    tmp_path: Path, given: dict[str, str], missing: str
) -> None:
    env = {"DIGEST_DB_URL": store_url(tmp_path), "DIGEST_ARCHIVE": str(EXAMPLE_ARCHIVE), **given}
    result = digest_bot(tmp_path, "run", **env)

    assert result.returncode == 2, result.stdout + result.stderr
    assert missing in result.stderr and "run --preview" in result.stderr
    assert "preview done" not in result.stdout and "PREVIEW MODE" not in result.stdout
    said = result.stderr.split(" set, but ")[0]  # what was set, so the reader sees why it is not a preview
    assert all(name in said for name in given)

    asked = digest_bot(tmp_path, "run", "--preview", **env)  # a preview asked for is still one
    assert asked.returncode == 0, asked.stderr
    assert "preview done" in asked.stdout


# ---- 7. a second run on one SQLite store says so ------------------------------------------------


def test_a_second_run_on_one_sqlite_store_names_the_first_and_a_crashed_one_is_not_named(
    tmp_path: Path, fake: FakeSlack
) -> None:
    def env(port: int) -> dict[str, str]:
        return {
            "DIGEST_DB_URL": store_url(tmp_path),
            "DIGEST_ARCHIVE": str(EXAMPLE_ARCHIVE),
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": "s",
            "SLACK_API_URL": fake.api_url,
            "DIGEST_BIND_ADDRESS": "127.0.0.1",
            "PORT": str(port),
        }

    first_port, second_port, third_port = free_port(), free_port(), free_port()
    first = start_run(tmp_path, env(first_port))
    try:
        wait_healthy(f"http://127.0.0.1:{first_port}/healthz", first)
        second = start_run(tmp_path, env(second_port))
        try:
            wait_healthy(f"http://127.0.0.1:{second_port}/healthz", second)
        finally:
            second_output = stop(second)
    finally:
        first.send_signal(signal.SIGKILL)  # a crash: its lock file stays behind, with its pid
        first.communicate(timeout=30)

    assert f"another digest-bot run serves this store: pid {first.pid}" in second_output, second_output
    assert "store.sqlite3-run.lock" in second_output

    third = start_run(tmp_path, env(third_port))
    try:
        wait_healthy(f"http://127.0.0.1:{third_port}/healthz", third)
    finally:
        third_output = stop(third)
    assert "another digest-bot run" not in third_output, third_output
    assert third.returncode == 0, third_output


# ---- 9. no recap, and the log says why ----------------------------------------------------------


def test_run_logs_once_which_week_gets_no_recap_and_why(tmp_path: Path, fake: FakeSlack) -> None:
    archive = write_team_archive(tmp_path / "team")
    port = free_port()
    env = live_env(tmp_path, fake, archive, SLACK_SIGNING_SECRET="s", PORT=str(port), DIGEST_BIND_ADDRESS="127.0.0.1")
    bot = start_run(tmp_path, env)
    try:
        wait_healthy(f"http://127.0.0.1:{port}/healthz", bot)
        fake.wait_for(lambda: len(fake.messages("C0SD")) >= 6, timeout=60)  # the catch-up run posted the week
        fake.wait_for(lambda: '"finished_at": "2' in digest_bot(tmp_path, "status", "--json", **env).stdout, timeout=60)
    finally:
        output = stop(bot)

    line = (
        f"no weekly recap in C0SD: the newest digest week that has ended (the week of {NEWEST_WEEK}) ended "
        "over 14 days ago, and a recap is posted only for a week that ended within 14 days"
    )
    assert output.count(line) == 1, output
    assert f"`digest-bot recap --week {NEWEST_WEEK}` posts it anyway" in output
    assert "WARNING" in output.split(line)[0].splitlines()[-1]
    # Item 12: APScheduler's own INFO lines ("Running job … next run at …") are not in the log,
    # beside the bot's "next run" that they contradicted.
    assert "apscheduler" not in output and "next run at" not in output, output


def test_the_recap_age_limit_is_logged_once_however_often_the_job_runs(
    tmp_path: Path, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    engine = open_engine(store_url(tmp_path))
    archive = write_team_archive(tmp_path / "team")
    late = dt.datetime.combine(NEWEST_WEEK + dt.timedelta(days=30), dt.time(9), tzinfo=dt.UTC)
    clock = FakeClock()
    job = make_weekly_job(
        engine, archive, posting_client(BOT_TOKEN, fake.api_url), settings(), clock=lambda: late, sleep=clock.sleep
    )
    with caplog.at_level(logging.INFO):
        first, again = job(), job()
    assert first.ok and again.ok
    assert [c.too_old for c in first.recap.channels] == [NEWEST_WEEK]  # type: ignore[union-attr]
    said = [r for r in caplog.records if "no weekly recap" in r.getMessage()]
    assert len(said) == 1 and said[0].levelno == logging.WARNING
    assert f"the week of {NEWEST_WEEK}" in said[0].getMessage()
    engine.dispose()


def test_the_run_lock_names_a_live_holder_and_never_a_dead_pid_left_in_the_file(tmp_path: Path) -> None:
    import os

    from bot.store.serving import lock_path, serve_store

    engine = open_engine(store_url(tmp_path))
    path = lock_path(engine)
    assert path is not None and path.name == "store.sqlite3-run.lock"
    path.write_text("999999999 2026-01-01 00:00 UTC\n")  # a crashed run's leftover: nobody holds it
    first = serve_store(engine)
    assert first is not None and first.other is None and first.held
    assert path.read_text().split()[0] == str(os.getpid())
    second = serve_store(engine)  # another open file description: as another process would be
    assert second is not None and second.other is not None and second.other.startswith(f"pid {os.getpid()} (since ")
    assert not second.held
    second.release()
    first.release()
    engine.dispose()
