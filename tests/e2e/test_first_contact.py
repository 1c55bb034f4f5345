"""A new user's first steps, through the real CLI in a subprocess (issue 11's items).

Each test runs `python -m bot` as a person would run `digest-bot`, in a
folder of its own, with only the settings that test gives it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bot.render.limits import violations
from tests.conftest import EXAMPLE_ARCHIVE, PROJECT
from tests.support.bot_server import running_bot
from tests.support.fake_slack import BOT_TOKEN, FakeSlack
from tests.support.team_archive import newest_week_ids, write_team_archive


def digest_bot(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`digest-bot ARGS` in `cwd`, with no settings but `env` (and never a terminal)."""
    return digest_bot_within(120, cwd, *args, **env)


def digest_bot_within(timeout: float, cwd: Path, /, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`digest_bot`, given up after `timeout` seconds.

    The timeout is positional (not a keyword beside `**env`), so a `**dict[str, str]` of settings
    can never be taken for it, by Python or by mypy.
    """
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "SLACK_"))}
    base.update(PYTHONPATH=str(PROJECT), COLUMNS="160", **env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=base,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.sqlite3'}"


# ---- 4. post --dry-run is readable; --json is the exact Block Kit --------------------------------


def test_dry_run_shows_readable_messages_and_json_gives_the_exact_block_kit(tmp_path: Path) -> None:
    env = {"DIGEST_DB_URL": store_url(tmp_path), "DIGEST_CHANNEL": "C0SD", "DIGEST_ARCHIVE": str(EXAMPLE_ARCHIVE)}
    shown = digest_bot(tmp_path, "post", "--dry-run", **env)

    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    assert '"blocks"' not in out and '"type": "section"' not in out
    assert len(out.splitlines()) < 200  # 9 messages, not thousands of lines of JSON
    assert out.count("── C0SD · dp 2025-01-17 · header ──") == 1
    assert out.count("── C0SD · fl 2025-01-17 · paper ──") == 3
    assert "Opacus: User-Friendly Differential Privacy Library in PyTorch" in out
    assert "C0SD: would post 9 (dp 2025-01-17, fl 2025-01-17)" in out

    exact = digest_bot(tmp_path, "post", "--dry-run", "--json", **env)
    assert exact.returncode == 0, exact.stderr
    report = json.loads(exact.stdout)
    assert report["dry_run"] is True and report["posted"] == 9
    kinds = [m["kind"] for m in report["messages"]]
    assert kinds == ["header"] + ["paper"] * 4 + ["header"] + ["paper"] * 3
    assert all(m["message"]["blocks"] and m["message"]["text"] for m in report["messages"])


# ---- 8. preview: no placeholder link; "… and N more" right below its own topic ------------------


def test_preview_links_nothing_fake_and_says_what_is_left_of_each_topic_below_it(tmp_path: Path) -> None:
    preview = digest_bot(tmp_path, "run", DIGEST_DB_URL=store_url(tmp_path))

    assert preview.returncode == 0, preview.stderr
    out = preview.stdout
    assert "PREVIEW MODE" in out
    assert "https://slack.com/archives/#preview" not in out and "archives/#" not in out
    # dp shows 3 of its 4 papers; the line about the 4th comes before fl's header.
    more = out.index("… and 1 more paper message(s) for dp 2025-01-17 in #preview")
    assert out.index("── #preview · dp 2025-01-17 · header ──") < more
    assert more < out.index("── #preview · fl 2025-01-17 · header ──")
    # The paper fl shares with dp is linked to its message above, not to a made-up URL.
    assert "(its message above; linked once posted)" in out


def test_the_team_archive_fixture_reads_cleanly(tmp_path: Path) -> None:
    root = write_team_archive(tmp_path / "team")
    index = digest_bot(tmp_path, "index", "--json", "--archive", str(root), DIGEST_DB_URL=store_url(tmp_path))
    report = json.loads(index.stdout)
    assert report["skipped"] == [] and report["warnings"] == []
    assert report["papers"] == 22 and report["digests"] == 18


# ---- 5. /papers week last | this when the calendar ran ahead of the archive ---------------------


@pytest.mark.parametrize("word", ["last", "this", "先週"])
def test_week_last_and_this_answer_the_newest_week_there_is_and_say_so(
    tmp_path: Path, fake: FakeSlack, word: str
) -> None:
    tuesday = dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC)  # long after the archive's newest week
    with running_bot(fake, EXAMPLE_ARCHIVE, tmp_path, now=lambda: tuesday) as bot:
        status, response_url = bot.command(f"week {word}")
        assert status == 200
        [answer] = bot.answer(response_url)

    shown = json.dumps(answer, ensure_ascii=False)
    assert "2025-01-17" in answer["text"]  # the newest week of the example archive
    asked = (tuesday.date() - dt.timedelta(days=0 if word == "this" else 7)).isoformat()
    assert f"There is no digest for the week of {asked} (yet): this is the newest week there is." in shown
    assert "Opacus" in shown  # the week's papers, not an error
    assert violations(answer) == []


def test_a_date_with_no_digest_is_still_an_honest_no(tmp_path: Path, fake: FakeSlack) -> None:
    with running_bot(fake, EXAMPLE_ARCHIVE, tmp_path) as bot:
        _, response_url = bot.command("week 2024-06-01")
        [answer] = bot.answer(response_url)
    assert "There is no digest for the week of 2024-06-01." in answer["text"]


# ---- 2. a first start posts the archive's newest week only, and says so beforehand --------------


def posted_ids(fake: FakeSlack, channel: str) -> list[str]:
    """The digest messages in the channel: "header" or the paper's id (the weekly recap left out)."""
    return [
        m["metadata"]["event_payload"].get("arxiv_id", "header")
        for m in fake.messages(channel)
        if m.get("metadata") and m["metadata"]["event_payload"].get("kind") != "recap"
    ]


def test_a_first_start_posts_only_the_archives_newest_week_and_says_so_first(
    tmp_path: Path, fake: FakeSlack
) -> None:
    archive = write_team_archive(tmp_path / "team")
    env = {
        "DIGEST_DB_URL": store_url(tmp_path),
        "DIGEST_ARCHIVE": str(archive),
        "DIGEST_CHANNEL": "C0SD",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": fake.api_url,
    }
    assert digest_bot(tmp_path, "index", **env).returncode == 0
    status = digest_bot(tmp_path, "status", **env)
    assert (
        "it would post: 2 digest(s) to post (C0SD: rl 2025-03-14, sd 2025-03-14): "
        "6 message(s), about 6 s at Slack's pace"
    ) in status.stdout
    assert "leaves 9 older week(s) unposted (the archive's newest week is 2025-03-14)" in status.stdout
    coming = json.loads(digest_bot(tmp_path, "status", "--json", **env).stdout)["next_run_posts"]
    assert coming["digests"] == {"C0SD": ["rl 2025-03-14", "sd 2025-03-14"]} and coming["messages"] == 6

    post = digest_bot(tmp_path, "post", "--interval", "0.01", **env)

    assert post.returncode == 0, post.stderr
    assert "About to post: 2 digest(s) to post (C0SD: rl 2025-03-14, sd 2025-03-14): 6 message(s)" in post.stderr
    assert "C0SD: posted 6 (rl 2025-03-14, sd 2025-03-14)" in post.stdout
    assert "left 9 older week(s) unposted" in post.stdout
    papers = [i for i in posted_ids(fake, "C0SD") if i != "header"]
    assert sorted(papers) == sorted(newest_week_ids())  # the stale topic (mpc) posts nothing old
    assert "nothing to post" in digest_bot(tmp_path, "status", **env).stdout

    # Older weeks only when asked for.
    backfill = digest_bot(
        tmp_path, "post", "--topic", "mpc", "--backfill", "2025-01-31", "--interval", "0.01", **env
    )
    assert backfill.returncode == 0, backfill.stderr
    assert "C0SD: posted 3 (mpc 2025-01-31)" in backfill.stdout


# ---- 3. progress: a bar on a terminal, periodic lines elsewhere ---------------------------------


def live_env(tmp_path: Path, fake: FakeSlack, archive: Path, **more: str) -> dict[str, str]:
    return {
        "DIGEST_DB_URL": store_url(tmp_path),
        "DIGEST_ARCHIVE": str(archive),
        "DIGEST_CHANNEL": "C0SD",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": fake.api_url,
        **more,
    }


def test_post_and_index_write_progress_lines_when_not_on_a_terminal(tmp_path: Path, fake: FakeSlack) -> None:
    env = live_env(tmp_path, fake, EXAMPLE_ARCHIVE)
    index = digest_bot(tmp_path, "index", **env)
    assert index.returncode == 0, index.stderr
    assert "indexing: 1/9 files (11%)" in index.stderr and "indexing: 9/9 files (100%)" in index.stderr
    assert "left (_dp/2025-01-03.md)" in index.stderr

    post = digest_bot(tmp_path, "post", "--interval", "0.05", **env)

    assert post.returncode == 0, post.stderr
    lines = [line for line in post.stderr.splitlines() if line.startswith("posting: ")]
    assert lines[0].startswith("posting: 1/9 messages (11%), 0 s elapsed, about ") and lines[0].endswith(
        " left (dp 2025-01-17)"
    )
    assert lines[-1].startswith("posting: 9/9 messages (100%)")
    assert len(lines) == 9  # a line at every tenth of the way: here, every message


def on_a_terminal(cwd: Path, *args: str, **env: str) -> str:
    """Run digest-bot with stdin, stdout and stderr on a pseudo-terminal; what it drew."""
    import pty
    import select

    base = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "SLACK_"))}
    base.update(PYTHONPATH=str(PROJECT), TERM="xterm-256color", COLUMNS="120", LINES="40", **env)
    base.pop("NO_COLOR", None)
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=base, stdin=slave, stdout=slave, stderr=slave
    )
    os.close(slave)
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            process.kill()
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=30)
    os.close(master)
    assert process.returncode == 0, b"".join(chunks).decode(errors="replace")
    return b"".join(chunks).decode(errors="replace")


def test_post_shows_a_progress_bar_with_count_and_time_left_on_a_terminal(
    tmp_path: Path, fake: FakeSlack
) -> None:
    drawn = on_a_terminal(tmp_path, "post", "--interval", "0.3", **live_env(tmp_path, fake, EXAMPLE_ARCHIVE))

    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)
    assert "━" in text  # rich's bar
    assert re.search(r"posting ━+ [1-9]/9 messages 0:00:0\d · 0:00:0\d left", text), text
    assert "posting: 1/9" not in drawn  # no log lines on a terminal
    assert len(fake.messages("C0SD")) == 9


# ---- 6. channels: #name or an id, resolved and checked at start --------------------------------


@pytest.mark.parametrize("given", ["general", "#general", "CGENERAL"])
def test_a_channel_by_name_or_id_is_resolved_and_posted_to_by_its_id(
    tmp_path: Path, fake: FakeSlack, given: str
) -> None:
    env = live_env(tmp_path, fake, EXAMPLE_ARCHIVE, DIGEST_CHANNEL=given)
    post = digest_bot(tmp_path, "post", "--interval", "0.01", "--json", **env)

    assert post.returncode == 0, post.stderr
    assert [c["channel"] for c in json.loads(post.stdout)["channels"]] == ["CGENERAL"]
    assert len(fake.messages("CGENERAL")) == 9
    assert {c.params["channel"] for c in fake.calls("chat.postMessage")} == {"CGENERAL"}
    status = json.loads(digest_bot(tmp_path, "status", "--json", **env).stdout)
    assert status["posts"]["posted"] == 9
    # status asks no Slack: it plans for the id the name resolved to, where the posts are.
    assert status["next_run_posts"]["digests"] == {} and status["next_run_posts"]["skipped_weeks"] == 0


@pytest.mark.parametrize(
    ("given", "line"),
    [
        ("nowhere", "DIGEST_CHANNEL: no channel named #nowhere that the bot can see"),
        ("C0NOPE", "DIGEST_CHANNEL: there is no channel C0NOPE in this workspace"),
        ("#quiet", "DIGEST_CHANNEL: the bot is not in #quiet (C0QUIET); in Slack, type /invite @digest-bot in #quiet"),
        ("#old", "DIGEST_CHANNEL: #old (C0OLD) is archived; unarchive it or choose another channel"),
        ("#secret", "DIGEST_CHANNEL: no channel named #secret that the bot can see"),
    ],
)
def test_a_channel_that_cannot_be_posted_to_stops_post_and_run_at_start_with_the_fix(
    tmp_path: Path, fake: FakeSlack, given: str, line: str
) -> None:
    fake.add_channel("C0QUIET", "quiet", member=False)
    fake.add_channel("C0OLD", "old", archived=True)
    fake.add_channel("C0SECRET", "secret", member=False, private=True)
    env = live_env(tmp_path, fake, EXAMPLE_ARCHIVE, DIGEST_CHANNEL=given, SLACK_SIGNING_SECRET="s", PORT="9")
    for command in ("post", "run") if given == "#quiet" else ("post",):  # both check the same way
        result = digest_bot(tmp_path, command, **env)
        assert result.returncode == 2, result.stdout + result.stderr
        assert f"digest-bot: {line}" in result.stderr and "Traceback" not in result.stderr
    assert fake.calls("chat.postMessage") == []


def test_every_channel_setting_is_checked_and_each_problem_named(tmp_path: Path, fake: FakeSlack) -> None:
    fake.not_member.add("C0FL")
    env = live_env(tmp_path, fake, EXAMPLE_ARCHIVE, DIGEST_CHANNEL="", DIGEST_CHANNELS="dp=#sd,fl=C0FL,sd=#nope")
    result = digest_bot(tmp_path, "post", **env)
    assert result.returncode == 2
    problems = [line for line in result.stderr.splitlines() if line.startswith("digest-bot: ")]
    assert problems == [
        "digest-bot: DIGEST_CHANNELS fl=C0FL: the bot is not in #fl (C0FL); in Slack, type /invite @digest-bot in #fl",
        (
            "digest-bot: DIGEST_CHANNELS sd=#nope: no channel named #nope that the bot can see; check the "
            "name, or use the channel's id (its details → About, at the bottom); a private channel needs "
            "/invite @digest-bot first"
        ),
    ]


def test_missing_read_scopes_are_named_with_the_way_to_add_them(tmp_path: Path) -> None:
    with FakeSlack(scopes={"chat:write", "commands"}) as fake:
        result = digest_bot(tmp_path, "post", **live_env(tmp_path, fake, EXAMPLE_ARCHIVE, DIGEST_CHANNEL="#sd"))
    assert result.returncode == 2
    assert "missing_scope channels:read" in result.stderr
    assert "channels:read and groups:read" in result.stderr and "reinstall the app" in result.stderr


# ---- 1. the bundled examples never reach a real channel; the store follows the archive --------


def example_ids() -> set[str]:
    from bot.archive import load_archive

    return set(load_archive(EXAMPLE_ARCHIVE).papers)


def test_after_try_it_a_configured_archive_is_posted_and_never_the_examples(
    tmp_path: Path, fake: FakeSlack
) -> None:
    """The issue's path: try it (the store indexes the examples), configure, `post`."""
    url = store_url(tmp_path)
    try_it = digest_bot(tmp_path, "run", DIGEST_DB_URL=url)
    assert try_it.returncode == 0 and "examples/archive" in try_it.stdout
    archive = write_team_archive(tmp_path / "team")

    post = digest_bot(tmp_path, "post", "--interval", "0.01", **live_env(tmp_path, fake, archive))

    assert post.returncode == 0, post.stderr
    assert "not re-reading the archive" not in post.stderr
    assert f"it now indexes {archive.resolve()}" in post.stderr
    posted = {i for i in posted_ids(fake, "C0SD") if i != "header"}
    assert posted == set(newest_week_ids()) and not posted & example_ids()


def test_the_examples_are_posted_only_when_named(tmp_path: Path, fake: FakeSlack) -> None:
    unnamed = live_env(tmp_path, fake, EXAMPLE_ARCHIVE)
    del unnamed["DIGEST_ARCHIVE"]
    for command in ("post", "run"):
        result = digest_bot(tmp_path, command, **unnamed, SLACK_SIGNING_SECRET="s", PORT="9")
        assert result.returncode == 2, result.stdout + result.stderr
        assert "not posting the bundled example archive to Slack: set DIGEST_ARCHIVE" in result.stderr
        assert "DIGEST_ARCHIVE=examples/archive" in result.stderr
    assert fake.calls("chat.postMessage") == []
    assert digest_bot(tmp_path, "post", "--dry-run", **unnamed).returncode == 0  # showing is fine

    named = digest_bot(tmp_path, "post", "--interval", "0.01", **live_env(tmp_path, fake, EXAMPLE_ARCHIVE))
    assert named.returncode == 0, named.stderr
    assert len(fake.messages("C0SD")) == 9


@pytest.mark.backends("postgresql")
def test_a_shared_store_is_not_posted_from_another_archive_and_the_fix_is_printed(
    tmp_path: Path, fake: FakeSlack, db_url: str, backend: str
) -> None:
    first = write_team_archive(tmp_path / "first")
    second = write_team_archive(tmp_path / "second")
    env = live_env(tmp_path, fake, second, DIGEST_DB_URL=db_url, SLACK_SIGNING_SECRET="s", PORT="9")
    assert digest_bot(tmp_path, "index", "--archive", str(first), **env).returncode == 0

    for command in ("post", "run"):
        refused = digest_bot(tmp_path, command, **env)
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert f"the store indexes the archive at {first.resolve()}, not {second.resolve()}" in refused.stderr
        assert refused.stderr.rstrip().endswith("run: digest-bot index")
    assert fake.calls("chat.postMessage") == []

    assert digest_bot(tmp_path, "index", **env).returncode == 0  # the one command printed
    post = digest_bot(tmp_path, "post", "--interval", "0.01", **env)
    assert post.returncode == 0, post.stderr
    assert {i for i in posted_ids(fake, "C0SD") if i != "header"} == set(newest_week_ids())


@pytest.mark.backends("postgresql")
def test_a_shared_store_that_held_the_examples_follows_the_configured_archive(
    tmp_path: Path, fake: FakeSlack, db_url: str, backend: str
) -> None:
    assert digest_bot(tmp_path, "run", DIGEST_DB_URL=db_url).returncode == 0  # try-it, on PostgreSQL
    archive = write_team_archive(tmp_path / "team")
    post = digest_bot(tmp_path, "post", "--interval", "0.01", **live_env(tmp_path, fake, archive, DIGEST_DB_URL=db_url))
    assert post.returncode == 0, post.stderr
    assert not {i for i in posted_ids(fake, "C0SD")} & example_ids()


def test_preview_after_posting_to_a_channel_name_knows_it_is_posted(tmp_path: Path, fake: FakeSlack) -> None:
    env = live_env(tmp_path, fake, EXAMPLE_ARCHIVE, DIGEST_CHANNEL="#general")
    assert digest_bot(tmp_path, "post", "--interval", "0.01", **env).returncode == 0
    preview = digest_bot(tmp_path, "run", "--preview", **env)
    assert preview.returncode == 0, preview.stderr
    assert "Nothing would be posted: every due digest is already posted." in preview.stdout
