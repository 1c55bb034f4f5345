"""The README's set-up, walked from a fresh clone as a newcomer walks it.

1. The try-it command (README, "Two commands"): preview mode on the bundled
   examples, which fills the clone's default store with them.
2. "Set up in Slack", step 4: `cp .env.example .env`, then the settings filled
   in: a real-looking archive, the tokens and `DIGEST_CHANNEL=#general` (a
   name), and the fake Slack's URL in place of Slack's.
3. Step 6: `digest-bot run`. Its first start posts exactly the archive's
   newest week, and nothing from `examples/`.

The clone is the project's tracked files copied as they are now (what
`git clone` would give, uncommitted edits included), run with this
interpreter (`python -m bot` from the clone, so the clone's code runs): the
pip install of the try-it line is what `.ci/run` runs for real.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PROJECT
from tests.e2e.test_first_contact import example_ids, posted_ids
from tests.support.fake_slack import BOT_TOKEN, FakeSlack
from tests.support.team_archive import NEWEST_WEEK, newest_week_ids, write_team_archive

README = PROJECT / "README.md"
TRY_IT = "python3 -m venv .venv && .venv/bin/pip install -q -e . && .venv/bin/digest-bot run"


def readme_command(marker: str) -> str:
    """The line in the fenced block after `<!-- marker`, as `.ci/run` reads it."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"<!-- {marker}"))
    fence = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("```"))
    return lines[fence + 1]


def fresh_clone(target: Path) -> Path:
    """The project's tracked (and new, not ignored) files, as a clone has them."""
    if shutil.which("git") is None or not (PROJECT / ".git").exists():
        pytest.skip("needs the project as a git checkout and the git command")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT, capture_output=True, check=True,
    ).stdout.decode().split("\0")
    for rel in filter(None, listed):
        source = PROJECT / rel
        if source.is_file():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / rel)
    assert not (target / "data").exists() and not (target / ".env").exists()
    return target


def newcomer_env() -> dict[str, str]:
    """A shell with none of the bot's settings: they come from the clone's .env."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "SLACK_"))}
    env.pop("PORT", None)
    env.pop("PYTHONPATH", None)  # `python -m bot` in the clone runs the clone's code
    return env


def digest_bot(clone: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=clone, env=newcomer_env(),
        capture_output=True, text=True, timeout=120, check=False,
    )


def fill_env_file(clone: Path, values: dict[str, str]) -> None:
    """Step 4: `cp .env.example .env`, then fill in the lines the README names."""
    shutil.copy(clone / ".env.example", clone / ".env")
    text = (clone / ".env").read_text(encoding="utf-8")
    for name, value in values.items():
        text, found = re.subn(rf"^{name}=.*$", f"{name}={value}", text, flags=re.MULTILINE)
        assert found == 1, f".env.example has no line {name}="
    (clone / ".env").write_text(text, encoding="utf-8")


def team_settings(archive: Path, fake: FakeSlack, **more: str) -> dict[str, str]:
    """The lines a team fills in (step 4): its archive, `#general`, the bot token, the fake Slack."""
    return {
        "DIGEST_ARCHIVE": str(archive),
        "DIGEST_CHANNEL": "#general",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": fake.api_url,
        **more,
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_readme_set_up_from_a_fresh_clone_posts_exactly_the_newest_week(tmp_path: Path, fake: FakeSlack) -> None:
    assert readme_command("try-command") == TRY_IT  # the line .ci/run runs; its last step is below
    clone = fresh_clone(tmp_path / "digest-bot")

    # 1. Try it: preview mode, the bundled examples indexed into the default store.
    try_it = digest_bot(clone, "run")
    assert try_it.returncode == 0, try_it.stderr
    assert "PREVIEW MODE" in try_it.stdout and f"{clone / 'examples' / 'archive'}" in try_it.stdout
    assert (clone / "data" / "digest-bot.sqlite3").is_file()

    # 2. Configure: the team's archive, the tokens, the channel by its name.
    archive = write_team_archive(tmp_path / "paper-digest")
    port = free_port()
    fill_env_file(clone, team_settings(archive, fake, SLACK_SIGNING_SECRET="walkthrough-secret", PORT=str(port)))

    # 3. Run: HTTP mode, the catch-up run at start, then stop it as a service manager would.
    bot = subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], cwd=clone, env=newcomer_env(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            assert bot.poll() is None, bot.communicate()[0]
            last = json.loads(digest_bot(clone, "status", "--json").stdout or "{}").get("last_run")
            if last and last.get("finished_at"):
                break
            assert time.monotonic() < deadline, "the first start's run did not finish"
            time.sleep(0.5)
        bot.send_signal(signal.SIGTERM)
        output, _ = bot.communicate(timeout=30)
    finally:
        if bot.poll() is None:
            bot.kill()

    assert bot.returncode == 0, output
    ids = posted_ids(fake, "CGENERAL")
    assert fake.calls("chat.postMessage") and {
        c.params["channel"] for c in fake.calls("chat.postMessage")
    } == {"CGENERAL"}

    assert sorted(i for i in ids if i != "header") == sorted(newest_week_ids())
    assert ids.count("header") == 2  # the two topics with a digest in the newest week
    assert not set(ids) & example_ids()
    assert f"it now indexes {archive.resolve()}" in output  # the example store followed the archive
    assert (
        f"about to post: 2 digest(s) to post (CGENERAL: rl {NEWEST_WEEK}, sd {NEWEST_WEEK}): "
        "6 message(s), about 6 s at Slack's pace"
    ) in output
    assert "posting: 6/6 messages (100%)" in output and "Traceback" not in output


def test_every_setting_is_in_env_example_and_the_readme_configuration_table() -> None:
    from bot.config import _ENV_NAMES

    example = (PROJECT / ".env.example").read_text(encoding="utf-8")
    readme = README.read_text(encoding="utf-8")
    for name in _ENV_NAMES.values():
        assert re.search(rf"^{name}=", example, flags=re.MULTILINE), f"{name} missing from .env.example"
        assert f"| `{name}` |" in readme, f"{name} missing from the README's configuration table"


# ---- issue 22: what a newcomer met after step 4 (`.env` made from `.env.example`) ----------------


def test_after_the_set_up_post_dry_run_and_status_agree_on_a_channel_name(tmp_path: Path, fake: FakeSlack) -> None:
    """Item 2: right after a week was posted to `#general`, the dry run and `status` both say nothing is due."""
    clone = fresh_clone(tmp_path / "digest-bot")
    archive = write_team_archive(tmp_path / "paper-digest")
    fill_env_file(clone, team_settings(archive, fake))
    posted = digest_bot(clone, "post", "--interval", "0.01")
    assert posted.returncode == 0, posted.stderr
    assert len(fake.messages("CGENERAL")) == 6

    status = digest_bot(clone, "status")
    dry_run = digest_bot(clone, "post", "--dry-run")

    assert "it would post: nothing to post" in status.stdout, status.stdout
    assert dry_run.returncode == 0, dry_run.stderr
    assert "Nothing is due." in dry_run.stdout
    assert "would post" not in dry_run.stdout and "unposted" not in dry_run.stdout


def test_after_the_set_up_a_taken_port_posts_nothing_and_names_port(tmp_path: Path, fake: FakeSlack) -> None:
    """Item 3: `run` with PORT taken stops at once, naming PORT, before the catch-up run posts anything."""
    clone = fresh_clone(tmp_path / "digest-bot")
    archive = write_team_archive(tmp_path / "paper-digest")
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        fill_env_file(clone, team_settings(archive, fake, SLACK_SIGNING_SECRET="walkthrough-secret", PORT=str(port)))
        run = digest_bot(clone, "run")

        assert run.returncode == 2, run.stdout + run.stderr
        assert f"cannot listen on 0.0.0.0 port {port}" in run.stderr and "set PORT to a free port" in run.stderr
        assert fake.calls("chat.postMessage") == []
    assert "listening" not in run.stdout + run.stderr and "Traceback" not in run.stderr


def test_after_the_set_up_a_missing_token_is_an_error_not_a_preview(tmp_path: Path) -> None:
    """Item 5: the channel and the signing secret set, SLACK_BOT_TOKEN forgotten: exit 2 naming it."""
    clone = fresh_clone(tmp_path / "digest-bot")
    archive = write_team_archive(tmp_path / "paper-digest")
    fill_env_file(
        clone,
        {"DIGEST_ARCHIVE": str(archive), "DIGEST_CHANNEL": "#general", "SLACK_SIGNING_SECRET": "walkthrough-secret"},
    )
    run = digest_bot(clone, "run")

    assert run.returncode == 2, run.stdout + run.stderr
    assert "SLACK_BOT_TOKEN is not" in run.stderr and "OAuth & Permissions" in run.stderr
    assert "preview done" not in run.stdout and "PREVIEW MODE" not in run.stdout


def users_folder(clone: Path) -> Path:
    """A folder of the user's beside `.env`, named like the search index's own folders."""
    notes = clone / "index-my-notes" / "important.txt"
    notes.parent.mkdir()
    notes.write_text("do not lose this\n", encoding="utf-8")
    return notes


def test_the_env_example_keeps_the_users_folders_and_index_builds_the_search_index(tmp_path: Path) -> None:
    """Items 1 and 8: `.env` made from `.env.example` (its empty DIGEST_INDEX_DIR= is the
    default, not the clone's own folder), a search, then `index` of the team's archive,
    which brings the search index up to date too, with progress, so a search opens it."""
    clone = fresh_clone(tmp_path / "digest-bot")
    notes = users_folder(clone)
    fill_env_file(clone, {})
    searched = digest_bot(clone, "search", "dp")
    assert searched.returncode == 0, searched.stderr
    assert not (clone / "CURRENT").exists() and not (clone / "build.lock").exists()

    archive = write_team_archive(tmp_path / "paper-digest")
    fill_env_file(clone, {"DIGEST_ARCHIVE": str(archive)})
    indexed = digest_bot(clone, "index")
    assert indexed.returncode == 0, indexed.stderr
    papers = int(re.search(r"(\d+) papers \(\+", indexed.stdout).group(1))  # type: ignore[union-attr]
    assert f"search index: {papers}/{papers} papers (100%)" in indexed.stderr
    assert f"Search index {Path('data') / 'search-index'}: built, {papers} papers" in indexed.stdout
    built = (clone / "data" / "search-index" / "CURRENT").read_text(encoding="utf-8")
    again = digest_bot(clone, "search", "synthetic data")
    assert again.returncode == 0, again.stderr
    assert (clone / "data" / "search-index" / "CURRENT").read_text(encoding="utf-8") == built  # opened, not rebuilt

    assert notes.read_text(encoding="utf-8") == "do not lose this\n"
    assert sorted(p.name for p in clone.glob("index-*")) == ["index-my-notes"]


def test_the_env_example_with_a_wrong_archive_names_digest_archive_before_re_indexing(tmp_path: Path) -> None:
    """Item 4: after the try-it step (the store holds the examples), a typo in
    DIGEST_ARCHIVE stops `run` and `status` before anything is re-indexed, and a folder
    without digest files is an error that says what a digest file looks like."""
    clone = fresh_clone(tmp_path / "digest-bot")
    users_folder(clone)
    tried = digest_bot(clone, "run")
    assert tried.returncode == 0, tried.stderr

    typo = tmp_path / "paper-digset"
    fill_env_file(clone, {"DIGEST_ARCHIVE": str(typo)})
    for command in ("run", "status", "index"):
        result = digest_bot(clone, command)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert f"DIGEST_ARCHIVE ({typo}) does not exist" in result.stderr
        assert "re-indexing" not in result.stderr and "Traceback" not in result.stderr

    empty = tmp_path / "paper-digest"
    empty.mkdir()
    fill_env_file(clone, {"DIGEST_ARCHIVE": str(empty)})
    for command in ("run", "index"):
        result = digest_bot(clone, command)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert f"DIGEST_ARCHIVE ({empty}) holds no digest files" in result.stderr
        assert "_<topic>/YYYY-MM-DD.md" in result.stderr and "--allow-empty-archive" in result.stderr

    status = digest_bot(clone, "status", "--json")
    assert status.returncode == 2  # still the empty folder configured
    fill_env_file(clone, {})
    kept = json.loads(digest_bot(clone, "status", "--json").stdout)
    assert kept["archive"]["root"] == str(clone / "examples" / "archive")  # the store was left as it was
