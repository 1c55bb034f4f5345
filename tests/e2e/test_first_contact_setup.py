"""First contact, round 2 (issue 22, items 1, 4, 8, 12): what a new user's set-up meets.

- Item 1: an empty path setting (as `.env.example` has them) means the default,
  and the search index deletes only folders it made itself.
- Item 4: a wrong archive (missing, or a folder without digest files) is an
  error naming the setting, before anything is re-indexed.
- Item 8: `digest-bot index` brings the search index up to date too, with
  progress; `run` says what it builds and how far it is.
- Item 12: the small things a first look catches (log lines inside the bar,
  raw reprs in logs, silent corrections, output hard-wrapped in a pipe).
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.config import load_settings
from bot.search import LiveSearch, disk_index
from bot.store import Catalog, sync_archive
from tests.conftest import EXAMPLE_ARCHIVE, PROJECT
from tests.support.fake_slack import FakeSlack


def digest_bot(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """`digest-bot ARGS` in `cwd` as a user runs it (never a terminal), with only `env` set."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "SLACK_"))}
    base.pop("COLUMNS", None)
    base.pop("PORT", None)
    base.update(PYTHONPATH=str(PROJECT), **env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=base, capture_output=True, text=True,
        timeout=120, check=False,
    )


def env_example_in(folder: Path, **values: str) -> None:
    """`cp .env.example .env`, then the lines named filled in (the README's step)."""
    text = (PROJECT / ".env.example").read_text(encoding="utf-8")
    for name, value in values.items():
        lines = text.splitlines()
        assert sum(line.startswith(f"{name}=") for line in lines) == 1, name
        text = "\n".join(f"{name}={value}" if line.startswith(f"{name}=") else line for line in lines) + "\n"
    (folder / ".env").write_text(text, encoding="utf-8")


def users_notes(folder: Path) -> Path:
    """A folder of the user's beside the bot, named like the index's own folders."""
    notes = folder / "index-my-notes" / "important.txt"
    notes.parent.mkdir(parents=True)
    notes.write_text("do not lose this\n", encoding="utf-8")
    return notes


# ---- item 1: empty settings are defaults; the index deletes only what it made --------------------


def test_an_empty_path_setting_means_its_default(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("DIGEST_INDEX_DIR=\nDIGEST_DB_URL=\nDIGEST_DATA_DIR=\nDIGEST_ARCHIVE=\n", encoding="utf-8")
    settings = load_settings(env_file)
    default = load_settings(None)
    assert settings.index_dir is None
    assert settings.search_index_dir == default.search_index_dir == Path("data") / "search-index"
    assert settings.db_url == default.db_url
    blank = load_settings(None, DIGEST_INDEX_DIR="   ")
    assert blank.search_index_dir == Path("data") / "search-index"


def test_search_with_the_env_example_keeps_the_users_folders(tmp_path: Path) -> None:
    env_example_in(tmp_path)
    notes = users_notes(tmp_path)

    for _ in range(2):  # the second search opens the index the first built
        found = digest_bot(tmp_path, "search", "dp")
        assert found.returncode == 0, found.stderr

    assert notes.read_text(encoding="utf-8") == "do not lose this\n"
    assert not (tmp_path / "CURRENT").exists() and not (tmp_path / "build.lock").exists()
    assert (tmp_path / "data" / "search-index" / "CURRENT").is_file()


def test_a_rebuild_removes_only_the_index_folders_it_made(
    example_archive: Path, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shared = tmp_path / "shared-folder"  # DIGEST_INDEX_DIR set to a folder the user also keeps things in
    notes = users_notes(shared)
    stray = shared / "index-0123456789ab"  # looks like one of the bot's, but the bot never made it
    stray.mkdir()
    (stray / "meta.json").write_text("{}", encoding="utf-8")
    sync_archive(engine, example_archive)
    first = LiveSearch(Catalog(engine), index_dir=shared)
    first.engine()
    built = first.engine().path

    monkeypatch.setattr(disk_index, "FORMAT", disk_index.FORMAT + 1)  # the next start must rebuild
    again = LiveSearch(Catalog(engine), index_dir=shared)
    assert again.engine().search("federated learning").hits and again.opened == "built"

    assert notes.is_file() and stray.is_dir()
    assert not built.exists()  # the bot's own old build is removed
    assert again.engine().path.is_dir()


# ---- item 4: a wrong archive is an error naming the setting, before anything is re-indexed ------


def test_an_archive_folder_without_digest_files_is_an_error_naming_digest_archive(tmp_path: Path) -> None:
    empty = tmp_path / "paper-digest"
    (empty / "notes").mkdir(parents=True)
    (empty / "notes" / "todo.md").write_text("# not a digest\n", encoding="utf-8")
    env = {"DIGEST_ARCHIVE": str(empty), "DIGEST_DB_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}"}

    for command in (("index",), ("run",), ("search", "dp"), ("weeks",)):
        result = digest_bot(tmp_path, *command, **env)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert f"DIGEST_ARCHIVE ({empty})" in result.stderr and "no digest files" in result.stderr
        assert "_<topic>/YYYY-MM-DD.md" in result.stderr  # what a digest file looks like
        assert "Traceback" not in result.stderr and "0 digests" not in result.stdout

    asked = digest_bot(tmp_path, "index", "--allow-empty-archive", **env)
    assert asked.returncode == 0, asked.stderr
    assert "0 digests, 0 papers" in asked.stdout
    again = digest_bot(tmp_path, "weeks", **env)  # the store indexes it now: asked for once
    assert again.returncode == 0, again.stderr


def test_a_missing_archive_fails_before_anything_is_re_indexed(tmp_path: Path) -> None:
    store = {"DIGEST_DB_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}"}
    tried = digest_bot(tmp_path, "index", **store)  # the try-it step: the store holds the examples
    assert tried.returncode == 0, tried.stderr
    typo = tmp_path / "paper-digset"

    for command in ("index", "run", "status"):
        result = digest_bot(tmp_path, command, DIGEST_ARCHIVE=str(typo), **store)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert f"DIGEST_ARCHIVE ({typo}) does not exist" in result.stderr
        assert "re-indexing" not in result.stderr and "Traceback" not in result.stderr
        assert str(EXAMPLE_ARCHIVE) not in result.stdout  # not the store's archive shown as if fine

    weeks = digest_bot(tmp_path, "weeks", "--json", **store)
    assert weeks.returncode == 0 and weeks.stdout.count("week_start") == 3  # the store was left as it was


# ---- item 8: `index` brings the search index up to date too; `run` says what it builds ---------


def example_papers() -> int:
    from bot.archive import load_archive

    return len(load_archive(EXAMPLE_ARCHIVE).papers)


def test_index_builds_the_search_index_with_progress_so_the_first_search_does_not(tmp_path: Path) -> None:
    env = {"DIGEST_DB_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}", "DIGEST_INDEX_DIR": str(tmp_path / "idx")}
    papers = example_papers()

    index = digest_bot(tmp_path, "index", **env)

    assert index.returncode == 0, index.stderr
    assert f"search index: {papers}/{papers} papers (100%)" in index.stderr  # progress lines, piped
    assert f"Search index {tmp_path / 'idx'}: built, {papers} papers" in index.stdout
    built = (tmp_path / "idx" / "CURRENT").read_text(encoding="utf-8")
    searched = digest_bot(tmp_path, "search", "dp", **env)
    assert searched.returncode == 0, searched.stderr
    assert (tmp_path / "idx" / "CURRENT").read_text(encoding="utf-8") == built  # opened, not rebuilt

    again = digest_bot(tmp_path, "index", **env)  # nothing changed: opened and up to date
    assert again.returncode == 0, again.stderr
    assert f"Search index {tmp_path / 'idx'}: up to date, {papers} papers" in again.stdout
    assert "search index:" not in again.stderr


def test_index_draws_a_search_index_bar_on_a_terminal(tmp_path: Path) -> None:
    from tests.e2e.test_first_contact import on_a_terminal

    store = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    drawn = on_a_terminal(tmp_path, "index", DIGEST_DB_URL=store, DIGEST_INDEX_DIR=str(tmp_path / "idx"))
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)
    assert re.search(r"search index ━+ \d+/\d+ papers", text), text
    assert "search index: " not in text  # a bar, not log lines


def test_run_logs_what_search_index_it_builds_and_how_far_it_is(tmp_path: Path) -> None:
    env = {"DIGEST_DB_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}", "DIGEST_INDEX_DIR": str(tmp_path / "idx")}
    papers = example_papers()

    started = digest_bot(tmp_path, "run", **env)  # preview (no Slack settings), not a terminal

    assert started.returncode == 0, started.stderr
    log = started.stderr
    assert re.search(rf"building the search index in {re.escape(str(tmp_path / 'idx'))}/index-\w+: {papers} papers", log)
    assert f"search index: {papers}/{papers} papers (100%)" in log
    assert log.index("building the search index") < log.index(f"search index: {papers}/{papers} papers (100%)")


# ---- item 12: what a first look catches ---------------------------------------------------------


def test_a_log_line_during_the_progress_bar_gets_its_own_line(tmp_path: Path) -> None:
    from tests.e2e.test_first_contact import on_a_terminal

    env = {"DIGEST_DB_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}", "DIGEST_INDEX_DIR": str(tmp_path / "idx")}
    on_a_terminal(tmp_path, "index", **env)  # the store holds the examples
    other = tmp_path / "paper-digest"
    shutil.copytree(EXAMPLE_ARCHIVE, other)

    drawn = on_a_terminal(tmp_path, "index", "--archive", str(other), **env)  # warns while the bar runs

    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", drawn)
    lines = [piece for line in text.split("\n") for piece in line.split("\r")]
    warning = [line for line in lines if "re-indexing it from" in line]
    assert warning, text
    assert all(line.startswith("WARNING bot.runtime.archive_source: the store indexed") for line in warning), warning
    assert not any("━" in line and "WARNING" in line for line in lines)


def test_apschedulers_own_info_lines_do_not_contradict_the_bots_next_run(caplog: pytest.LogCaptureFixture) -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    from bot.runtime.scheduler import add_archive_sync, build_scheduler

    caplog.set_level(logging.INFO)  # what `run` logs at (DIGEST_LOG_LEVEL=INFO)
    scheduler = build_scheduler(lambda: None, schedule="0 9 * * FRI", timezone=ZoneInfo("UTC"),
                                now=dt.datetime(2026, 12, 6, 22, 25, 40, tzinfo=dt.UTC))
    add_archive_sync(scheduler, lambda: None, minutes=15)
    scheduler.start(paused=True)  # adds the jobs ("Added job …"), runs nothing
    scheduler.shutdown(wait=False)

    said = [r.getMessage() for r in caplog.records if r.name.startswith("apscheduler") and r.levelno < logging.WARNING]
    assert said == []


def test_a_rebuild_says_why_in_words_not_a_raw_index_meta(
    example_archive: Path, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sync_archive(engine, example_archive)
    LiveSearch(Catalog(engine), index_dir=tmp_path / "idx").engine()
    monkeypatch.setattr(disk_index, "FORMAT", disk_index.FORMAT + 1)
    caplog.set_level(logging.INFO, logger="bot.search.live")

    LiveSearch(Catalog(engine), index_dir=tmp_path / "idx").engine()

    said = " ".join(r.getMessage() for r in caplog.records)
    assert "IndexMeta(" not in said
    assert f"was built in index format {disk_index.FORMAT - 1}, this bot reads format {disk_index.FORMAT}" in said


def test_run_says_in_words_why_it_rebuilds_the_search_index(tmp_path: Path) -> None:
    """Where a raw `IndexMeta(...)` was seen: `run`'s log, once the store holds another archive."""
    env = {"DIGEST_DB_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}", "DIGEST_INDEX_DIR": str(tmp_path / "idx")}
    first = digest_bot(tmp_path, "run", **env)  # preview: the examples and their search index
    assert first.returncode == 0, first.stderr
    other = tmp_path / "paper-digest"
    shutil.copytree(EXAMPLE_ARCHIVE, other)

    again = digest_bot(tmp_path, "run", DIGEST_ARCHIVE=str(other), **env)  # the store follows it

    assert again.returncode == 0, again.stderr
    assert "cannot serve this store (it was built from the archive at " in again.stderr
    assert "IndexMeta(" not in again.stderr


def test_a_corrected_glossary_phrase_is_said_in_the_cli_and_in_slack(tmp_path: Path, fake: FakeSlack) -> None:
    env = {"DIGEST_DB_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}", "DIGEST_INDEX_DIR": str(tmp_path / "idx")}
    found = digest_bot(tmp_path, "search", "federated", "lerning", **env)
    assert found.returncode == 0, found.stderr
    assert "note: searched for federated learning instead of `federated lerning`" in found.stdout

    from tests.support.bot_server import running_bot

    with running_bot(fake, EXAMPLE_ARCHIVE, tmp_path) as bot:
        status, response_url = bot.command("federated lerning")
        assert status == 200
        answer = json.dumps(bot.answer(response_url)[0], ensure_ascii=False)
    assert "searched for federated learning instead of `federated lerning`" in answer


def test_a_typed_glossary_phrase_gets_no_correction_notice(tmp_path: Path) -> None:
    env = {"DIGEST_DB_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}", "DIGEST_INDEX_DIR": str(tmp_path / "idx")}
    found = digest_bot(tmp_path, "search", "federated", "learning", **env)
    assert found.returncode == 0 and "instead of" not in found.stdout


def test_output_to_a_pipe_is_not_hard_wrapped_at_80_columns(tmp_path: Path, fake: FakeSlack) -> None:
    from tests.support.fake_slack import BOT_TOKEN

    posted = digest_bot(
        tmp_path, "post", "--interval", "0.01",
        DIGEST_DB_URL=f"sqlite:///{tmp_path / 'store.sqlite3'}", DIGEST_INDEX_DIR=str(tmp_path / "idx"),
        DIGEST_ARCHIVE=str(EXAMPLE_ARCHIVE), DIGEST_CHANNEL="C0SD", SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=fake.api_url,
    )
    assert posted.returncode == 0, posted.stderr
    about = [line for line in posted.stderr.splitlines() if line.startswith("About to post: ")]
    assert len(about) == 1 and "at Slack's pace" in about[0], posted.stderr
    assert about[0].endswith("post them with --backfill SINCE"), posted.stderr  # one line, however long
    assert len(about[0]) > 80


def test_the_time_left_is_counted_from_when_writing_starts_not_from_the_learning_before() -> None:
    from bot.progress import ProgressLines

    lines: list[str] = []
    now = [0.0]
    report = ProgressLines(lines.append, "search index", "papers", clock=lambda: now[0])
    report(0, 100, "learning translations and the semantic space")
    now[0] = 60.0
    report(0, 100)  # writing starts
    now[0] = 61.0
    report(10, 100)
    assert lines[-1] == "search index: 10/100 papers (10%), 61 s elapsed, about 9 s left"
