"""`digest-bot post` as a real process: SIGKILL it mid-week, run it again, exactly once.

The kill comes from the fake Slack's `on_post` hook, i.e. right after Slack stored
a post and before the bot heard the answer: the hardest moment to crash. The
CLI's refusals and `status` are checked in-process with click's runner.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.store import Catalog, open_engine
from tests.publisher.test_publisher import expected, sequence
from tests.support.fake_slack import BOT_TOKEN, Call, FakeSlack

PROJECT = Path(__file__).resolve().parents[2]
NEWEST = [("dp", "2025-01-17"), ("fl", "2025-01-17")]


def bot_env(tmp_path: Path, archive: Path, fake: FakeSlack) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "SLACK_"))}
    env.update(
        DIGEST_DB_URL=f"sqlite:///{tmp_path / 'store.sqlite3'}",
        DIGEST_ARCHIVE=str(archive),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=fake.api_url,
        DIGEST_CHANNEL="C0SD",
        PYTHONPATH=str(PROJECT),
    )
    return env


def digest_bot(*args: str) -> list[str]:
    # A short pace keeps the test quick; the real default is one post per second.
    return [sys.executable, "-m", "bot", *args]


def expected_newest(tmp_path: Path) -> list[tuple[str, str, str | None]]:
    import datetime as dt

    engine = open_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    try:
        assert Catalog(engine).count_papers() > 0
        return expected(engine, [(slug, dt.date.fromisoformat(week)) for slug, week in NEWEST])
    finally:
        engine.dispose()


@pytest.mark.parametrize("kill_after", [1, 4, 9])
def test_post_killed_with_sigkill_mid_week_then_run_again_posts_exactly_once(
    tmp_path: Path, example_archive: Path, fake: FakeSlack, kill_after: int
) -> None:
    env = bot_env(tmp_path, example_archive, fake)
    process = subprocess.Popen(
        digest_bot("post", "--interval", "0.01"),
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    accepted: list[Call] = []

    def kill(call: Call) -> None:
        accepted.append(call)
        if len(accepted) == kill_after:
            process.send_signal(signal.SIGKILL)
            raise RuntimeError("the bot died before hearing Slack's answer")

    fake.on_post(kill)
    try:
        process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == -signal.SIGKILL
    fake.on_post(None)
    assert len(fake.messages("C0SD")) == kill_after

    def post(*args: str) -> subprocess.CompletedProcess[str]:
        """`digest-bot post --json` run to its end, as the scheduler's next run would be."""
        return subprocess.run(
            digest_bot("post", "--json", *args), env=env, cwd=tmp_path, capture_output=True, text=True,
            timeout=60, check=False,
        )

    again = post("--interval", "0.01")

    assert again.returncode == 0, again.stderr
    report = json.loads(again.stdout)
    assert report["ok"] and report["adopted"] == 1
    assert report["posted"] == 9 - kill_after
    assert sequence(fake, "C0SD") == expected_newest(tmp_path)
    killed_in = "dp" if kill_after <= 5 else "fl"  # dp: header + 4 papers, then fl
    assert f"took over {killed_in} 2025-01-17 in C0SD" in again.stderr  # the dead process's lease
    third = post()
    assert json.loads(third.stdout)["posted"] == 0
    assert sequence(fake, "C0SD") == expected_newest(tmp_path)


# ---- the CLI, in-process -----------------------------------------------------------------------


def invoke(tmp_path: Path, *args: str, **env: str) -> Result:
    base = {"DIGEST_DB_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}"}
    return CliRunner().invoke(
        main, ["--env-file", str(tmp_path / "none.env"), *args], env=base | env
    )


def test_post_refuses_without_a_token_and_names_the_setting(tmp_path: Path) -> None:
    result = invoke(tmp_path, "post", DIGEST_CHANNEL="C0SD")
    assert result.exit_code == 2
    assert "SLACK_BOT_TOKEN" in result.output and "--dry-run" in result.output


def test_post_refuses_without_a_channel_and_names_both_settings(tmp_path: Path) -> None:
    result = invoke(tmp_path, "post", SLACK_BOT_TOKEN=BOT_TOKEN)
    assert result.exit_code == 2
    assert "DIGEST_CHANNEL" in result.output and "DIGEST_CHANNELS" in result.output
    result = invoke(
        tmp_path, "post", "--topic", "dp", SLACK_BOT_TOKEN=BOT_TOKEN, DIGEST_CHANNELS="fl=C0FL"
    )
    assert result.exit_code == 2 and "DIGEST_CHANNELS" in result.output and "'dp'" in result.output


def test_dry_run_needs_no_token_and_prints_the_block_kit_messages(
    tmp_path: Path, example_archive: Path
) -> None:
    result = invoke(
        tmp_path, "post", "--dry-run", "--json", "--archive", str(example_archive), DIGEST_CHANNEL="C0SD"
    )
    assert result.exit_code == 0, result.output
    messages = json.loads(result.stdout)["messages"]
    assert [m["kind"] for m in messages] == ["header"] + ["paper"] * 4 + ["header"] + ["paper"] * 3
    assert all(m["message"]["blocks"] and m["message"]["text"] for m in messages)
    status = invoke(tmp_path, "status", "--json")
    assert json.loads(status.stdout)["posts"] == {"posted": 0, "pending": 0, "failed": 0}


def test_status_shows_the_next_run_the_last_run_and_failed_posts(
    tmp_path: Path, example_archive: Path, fake: FakeSlack
) -> None:
    env = {"DIGEST_CHANNEL": "C0SD", "SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": fake.api_url}
    # Removed from the channel after the start-up check: the first post is refused.
    fake.fail("chat.postMessage", "not_in_channel", channel="C0SD")
    result = invoke(tmp_path, "post", "--archive", str(example_archive), "--interval", "0", **env)
    assert result.exit_code == 1
    assert "not_in_channel" in result.output and "/invite" in result.output

    status = invoke(
        tmp_path, "status", "--json", DIGEST_TIMEZONE="Asia/Tokyo", DIGEST_SCHEDULE="0 9 * * 5"
    )
    data = json.loads(status.stdout)
    assert data["next_run"].endswith("09:00:00+09:00")
    assert data["last_run"]["errors"][0]["error"] == "not_in_channel"
    assert data["posts"] == {"posted": 0, "pending": 0, "failed": 1}
    assert (
        data["unsettled"][0]["kind"] == "header"
        and data["unsettled"][0]["last_error"] == "not_in_channel"
    )
    text = invoke(tmp_path, "status", DIGEST_TIMEZONE="Asia/Tokyo")
    assert "Next run Fri" in text.output and "1 failed" in text.output

    result = invoke(tmp_path, "post", "--archive", str(example_archive), "--interval", "0", **env)
    assert result.exit_code == 0, result.output
    assert "posted 9" in result.output
    assert json.loads(invoke(tmp_path, "status", "--json").stdout)["posts"]["posted"] == 9


def test_week_and_backfill_do_not_go_together(tmp_path: Path) -> None:
    result = invoke(
        tmp_path,
        "post",
        "--week",
        "2025-01-10",
        "--backfill",
        "2025-01-01",
        "--dry-run",
        DIGEST_CHANNEL="C0SD",
    )
    assert result.exit_code == 2 and "--backfill" in result.output


def test_post_and_status_say_which_papers_were_held_back_over_the_cap(
    tmp_path: Path, example_archive: Path, fake: FakeSlack
) -> None:
    env = {"DIGEST_CHANNELS": "dp=C0SD", "DIGEST_TOPICS": "dp", "SLACK_BOT_TOKEN": BOT_TOKEN,
           "SLACK_API_URL": fake.api_url, "DIGEST_MAX_PAPERS_PER_DIGEST": "3"}
    result = invoke(tmp_path, "post", "--archive", str(example_archive), "--interval", "0", **env)
    assert result.exit_code == 0, result.output
    assert "held back dp 2025-01-17: 1 of 4 papers not posted (at most 3 per digest)" in result.output

    data = json.loads(invoke(tmp_path, "status", "--json", **env).stdout)
    assert data["held_back"] == [
        {"channel": "C0SD", "slug": "dp", "week_start": "2025-01-17", "papers": 1, "cap": 3}
    ]
    text = invoke(tmp_path, "status", **env).output
    assert "Held back 1 papers of dp 2025-01-17 in C0SD (at most 3 per digest" in text
