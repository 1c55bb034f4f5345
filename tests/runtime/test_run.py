"""`digest-bot run`: preview mode for a newcomer, and the choice of Socket Mode or HTTP."""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from bot.cli import main
from bot.runtime.preview import repl
from bot.runtime.scheduler import build_scheduler
from bot.runtime.service import assemble
from bot.store import open_engine, sync_archive
from tests.conftest import EXAMPLE_ARCHIVE
from tests.support.fake_slack import FakeSlack


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_preview_without_tokens_says_what_is_missing_and_what_it_would_post(in_tmp: Path) -> None:
    result = CliRunner().invoke(main, ["run"], catch_exceptions=False)
    assert result.exit_code == 0
    out = result.output
    assert "PREVIEW MODE" in out and "nothing is posted" in out
    for setting in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "DIGEST_CHANNEL"):
        assert setting in out
    assert "OAuth & Permissions" in out  # how to get the token
    assert "Next scheduled run" in out
    # The newest week of each topic, as readable text (not JSON).
    assert "差分プライバシー · Differential Privacy" in out and "連合学習 · Federated Learning" in out
    assert "2025-01-17" in out and '"blocks"' not in out
    assert "No interactive terminal" in out


def test_preview_names_only_what_is_still_missing(in_tmp: Path) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "DIGEST_CHANNEL": "C0123"}
    result = CliRunner().invoke(main, ["run", "--preview"], env=env, catch_exceptions=False)
    assert result.exit_code == 0
    missing = result.output.split("To go live")[1].split("Next scheduled run")[0]
    assert "SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET" in missing
    assert "SLACK_BOT_TOKEN" not in missing and "DIGEST_CHANNEL" not in missing


def test_repl_answers_like_slack(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 's.sqlite3'}")
    sync_archive(engine, EXAMPLE_ARCHIVE)
    from bot.config import Settings

    bot = assemble(Settings(_env_file=None, DIGEST_INDEX_DIR=str(tmp_path / "idx")), engine)
    lines = iter(["/papers federated lerning", "more", "topic 差分", "id 1607.00133", "quit", "never read"])
    console = Console(record=True, width=200)
    repl(console, bot.lookup, read=lambda prompt: next(lines))
    shown = console.export_text()
    assert "Results 1–5" in shown and "Results 6–" in shown  # a search, then its next page
    assert "差分プライバシー" in shown and "Deep Learning with Differential Privacy" in shown
    assert "never read" not in shown
    assert "<https://" not in shown  # links rendered for a terminal


def test_http_mode_when_there_is_no_app_token(in_tmp: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeSlack) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr(
        "bot.cli.run_cmd.serve", lambda asgi, *, port, host, sock: served.update(port=port, host=host, app=asgi)
    )
    # The port is bound before anything else (issue 22): recorded here, not taken.
    monkeypatch.setattr("bot.cli.run_cmd.bind_socket", lambda host, port: served.update(bound=(host, port)))
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s3cret", "SLACK_API_URL": fake.api_url,
           "PORT": "3456"}
    result = CliRunner().invoke(main, ["run"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert served["port"] == 3456 and "HTTP mode on 0.0.0.0 port 3456" in result.output
    assert served["bound"] == ("0.0.0.0", 3456)
    assert served["host"] == "0.0.0.0"  # the default, as before the setting existed
    assert [c.method for c in fake.calls()][:1] == ["auth.test"]
    assert "answering lookups only, posting nothing" in result.output  # no channel configured


@pytest.mark.parametrize(("value", "host"), [("127.0.0.1", "127.0.0.1"), (" ::1 ", "::1"), ("[::]", "::"),
                                             ("bot.internal", "bot.internal")])
def test_the_bind_address_is_a_setting(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch, value: str, host: str, fake: FakeSlack
) -> None:
    served: dict[str, Any] = {}
    monkeypatch.setattr("bot.cli.run_cmd.serve", lambda asgi, *, port, host, sock: served.update(host=host))
    monkeypatch.setattr("bot.cli.run_cmd.bind_socket", lambda host, port: served.update(bound=host))
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s3cret", "SLACK_API_URL": fake.api_url,
           "DIGEST_BIND_ADDRESS": value}
    result = CliRunner().invoke(main, ["run"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert served["host"] == host and served["bound"] == host


@pytest.mark.parametrize("value", ["not an address", "http://0.0.0.0", "1.2.3.4:80", "-bad-"])
def test_a_wrong_bind_address_is_one_clear_line(in_tmp: Path, value: str) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "s3cret", "DIGEST_BIND_ADDRESS": value}
    result = CliRunner().invoke(main, ["run"], env=env)
    assert result.exit_code == 2
    assert "DIGEST_BIND_ADDRESS" in result.output and "is not an address to listen on" in result.output
    assert "Traceback" not in result.output


def test_socket_mode_when_there_is_an_app_token(in_tmp: Path, monkeypatch: pytest.MonkeyPatch, fake: FakeSlack) -> None:
    started: list[Any] = []

    class Handler:
        def __init__(self, app: Any, token: str, web_client: Any) -> None:
            started.append((token, web_client.base_url))

        def connect(self) -> None:  # before the scheduler starts (issue 22): no post from a bot that cannot serve
            started.append("connected")

        def close(self) -> None:
            started.append("closed")

    monkeypatch.setattr("bot.cli.run_cmd.SocketModeHandler", Handler)
    monkeypatch.setattr("bot.cli.run_cmd.wait_until_stopped", lambda: started.append("served"))
    # No catch-up run in the background of this test: only the wiring is under test here.
    monkeypatch.setattr("bot.runtime.service.build_scheduler", functools.partial(build_scheduler, catch_up=False))
    api_url = fake.api_url
    # The bundled examples are posted only when named (a real team sets its own archive).
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_APP_TOKEN": "xapp-1", "SLACK_API_URL": api_url,
           "DIGEST_CHANNEL": "C0SD", "DIGEST_ARCHIVE": str(EXAMPLE_ARCHIVE)}
    result = CliRunner().invoke(main, ["run"], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert started == [("xapp-1", api_url), "connected", "served", "closed"]
    assert "Socket Mode" in result.output and "Posting schedule: 0 9 * * FRI" in result.output


def test_a_refused_token_is_one_clear_line(in_tmp: Path, fake: FakeSlack) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-wrong", "SLACK_APP_TOKEN": "xapp-1", "SLACK_API_URL": fake.api_url}
    result = CliRunner().invoke(main, ["run"], env=env)
    assert result.exit_code == 2
    assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in result.output and "Traceback" not in result.output


def test_japanese_words(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 's.sqlite3'}")
    sync_archive(engine, EXAMPLE_ARCHIVE)
    from bot.config import Settings

    settings = Settings(_env_file=None, DIGEST_LANG="ja", DIGEST_INDEX_DIR=str(tmp_path / "idx"))
    bot = assemble(settings, engine)
    assert "検索結果" in bot.lookup.answer("federated")["text"]
    assert "使い方" in bot.lookup.answer("help")["text"]


def test_background_jobs_post_weekly_and_re_read_the_archive(tmp_path: Path) -> None:
    from bot.config import Settings
    from bot.runtime.scheduler import JOB_ID, SYNC_JOB_ID
    from bot.runtime.service import background_jobs

    engine = open_engine(f"sqlite:///{tmp_path / 's.sqlite3'}")
    settings = Settings(_env_file=None, DIGEST_CHANNEL="C0SD", DIGEST_SYNC_MINUTES="5", SLACK_BOT_TOKEN="xoxb-1")
    bot = assemble(settings, engine)
    scheduler = background_jobs(bot, EXAMPLE_ARCHIVE)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {JOB_ID, SYNC_JOB_ID}
    assert jobs[SYNC_JOB_ID].trigger.interval.total_seconds() == 300
    jobs[SYNC_JOB_ID].func()  # what the interval runs: the archive lands in the store
    assert bot.catalog.count_papers() == 21
    lookups_only = background_jobs(assemble(Settings(_env_file=None), engine), EXAMPLE_ARCHIVE)
    assert [job.id for job in lookups_only.get_jobs()] == [SYNC_JOB_ID]


def test_a_run_left_undone_is_retried_soon(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A channel another replica held (maybe dead) is tried again in minutes, not next week."""
    from bot.config import Settings
    from bot.publisher import ChannelReport, PublishReport
    from bot.runtime.scheduler import JOB_ID, RETRY_JOB_ID
    from bot.runtime.service import background_jobs
    from bot.weekly.job import JobReport

    outcomes = iter([["C0SD: sd 2025-01-17"], [], []])

    def fake_weekly_job(*args: Any, **kwargs: Any) -> Any:
        def run() -> JobReport:
            publish = PublishReport(started_at=dt.datetime.now(dt.UTC))
            publish.channels["C0SD"] = ChannelReport("C0SD", busy=next(outcomes))
            return JobReport(publish=publish)

        return run

    monkeypatch.setattr("bot.runtime.service.make_weekly_job", fake_weekly_job)
    engine = open_engine(f"sqlite:///{tmp_path / 's.sqlite3'}")
    bot = assemble(Settings(_env_file=None, DIGEST_CHANNEL="C0SD", DIGEST_SYNC_MINUTES="0"), engine)
    scheduler = background_jobs(bot, EXAMPLE_ARCHIVE)
    scheduler.get_job(JOB_ID).func()  # the weekly run finds the channel busy
    retry = scheduler.get_job(RETRY_JOB_ID)
    assert retry is not None
    assert dt.timedelta(minutes=10) < retry.trigger.run_date - dt.datetime.now(dt.UTC) < dt.timedelta(minutes=12)
    scheduler.remove_job(RETRY_JOB_ID)
    scheduler.get_job(JOB_ID).func()  # a run that finishes schedules nothing more
    assert scheduler.get_job(RETRY_JOB_ID) is None
