"""DIGEST_ARCHIVE_GIT: the bot clones the archive, fetches it before every re-read and post.

Every remote is a local bare repository (`file://`); the scheduler's job
functions are called directly with a fixed clock and no pacing sleep.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.config import Settings, load_settings
from bot.runtime.archive_source import source_for, sync_source
from bot.runtime.git_archive import GitArchive, GitError, GitRemote, redact
from bot.runtime.scheduler import JOB_ID, SYNC_JOB_ID
from bot.runtime.service import assemble, background_jobs
from bot.store import Catalog
from bot.store import marks as mark_store
from bot.store import posts as store
from bot.store.source_state import git_state
from tests.e2e.test_first_contact import digest_bot, posted_ids
from tests.support.fake_slack import BOT_TOKEN, FakeSlack
from tests.support.git_remote import Remote, git, new_remote, requires_git
from tests.support.team_archive import NEWEST_WEEK, WEEK, paper_id

pytestmark = [requires_git, pytest.mark.backends("sqlite", "postgresql")]

BEFORE = NEWEST_WEEK - WEEK  # the remote starts a week behind; the editors then push NEWEST_WEEK


def after(week: dt.date) -> dt.datetime:
    """Friday 09:00 after the week ended: when the schedule posts it."""
    return dt.datetime.combine(week + dt.timedelta(days=7), dt.time(9), tzinfo=dt.UTC)


@pytest.fixture
def remote(tmp_path: Path) -> Remote:
    return new_remote(tmp_path, BEFORE)


def settings_for(remote: Remote, tmp_path: Path, fake: FakeSlack, **more: str) -> Settings:
    return load_settings(
        None,
        DIGEST_ARCHIVE_GIT=remote.url,
        DIGEST_DATA_DIR=str(tmp_path / "data"),
        DIGEST_INDEX_DIR=str(tmp_path / "search-index"),  # never the checkout's data/
        DIGEST_CHANNEL="C0SD",
        DIGEST_SYNC_MINUTES="15",
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_API_URL=fake.api_url,
        **more,
    )


def lookup_text(settings: Settings, engine: Engine, text: str) -> str:
    bot = assemble(settings, engine, search_refresh=0.0)
    return json.dumps(bot.lookup.answer(text), ensure_ascii=False)


def test_a_week_pushed_to_the_repository_is_found_and_posted_on_schedule_without_a_restart(
    remote: Remote, tmp_path: Path, fake: FakeSlack, engine: Engine
) -> None:
    settings = settings_for(remote, tmp_path, fake)
    source = source_for(settings)
    sync_source(engine, source, fetch=True)  # what `digest-bot run` does at start: the first clone
    assert source.git is not None and source.git.head() == remote.head()
    now = [after(BEFORE)]
    bot = assemble(settings, engine, search_refresh=0.0)
    jobs = background_jobs(bot, source, clock=lambda: now[0], sleep=lambda s: None)
    weekly, resync = jobs.get_job(JOB_ID).func, jobs.get_job(SYNC_JOB_ID).func

    first = weekly()  # the catch-up run at start: the newest week there is
    assert first.ok and first.publish.channels["C0SD"].digests == [f"rl {BEFORE}", f"sd {BEFORE}"]
    new_id = paper_id(0, NEWEST_WEEK, 1)
    assert "is in the digests" in bot.lookup.answer(f"id {new_id}")["text"]  # "No paper … is in the digests."

    pushed = remote.publish_week(NEWEST_WEEK, "add the newest week")
    resync()  # DIGEST_SYNC_MINUTES later: fetched, fast-forwarded, re-read

    assert source.git.head() == pushed
    assert f"Synthetic Data Study {NEWEST_WEEK.isoformat()} No. 1" in json.dumps(
        bot.lookup.answer(f"id {new_id}"), ensure_ascii=False
    )
    state = git_state(engine)
    assert state is not None and state.commit == pushed and state.subject == "add the newest week"
    assert state.error is None and state.indexed_at is not None

    now[0] = after(NEWEST_WEEK)
    second = weekly()  # posting day: the new week, nothing twice
    assert second.ok and second.publish.channels["C0SD"].digests == [f"rl {NEWEST_WEEK}", f"sd {NEWEST_WEEK}"]
    ids = posted_ids(fake, "C0SD")
    papers = [i for i in ids if i != "header"]
    assert ids.count("header") == 4 and len(papers) == len(set(papers)) == 8 and new_id in papers


def test_a_broken_remote_leaves_the_bot_serving_the_last_good_archive(
    remote: Remote, tmp_path: Path, fake: FakeSlack, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(remote, tmp_path, fake)
    source = source_for(settings)
    sync_source(engine, source, fetch=True)
    good = remote.head()
    bot = assemble(settings, engine, search_refresh=0.0)
    jobs = background_jobs(bot, source, clock=lambda: after(BEFORE), sleep=lambda s: None)
    gone = remote.break_()

    with caplog.at_level(logging.WARNING):
        jobs.get_job(SYNC_JOB_ID).func()
        report = jobs.get_job(JOB_ID).func()  # posting day with the remote down

    assert report.ok and report.publish.posted == 6  # the week the last good checkout holds
    assert source.git is not None and source.git.head() == good and (source.path / "_sd" / f"{BEFORE}.md").is_file()
    state = git_state(engine)
    assert state is not None and state.commit == good
    assert state.error is not None and state.error.startswith("fetch failed:") and state.error_at is not None
    assert any("serving the last good checkout" in r.getMessage() for r in caplog.records)
    old_id = paper_id(0, BEFORE, 1)
    assert "Lattice Sketches" in json.dumps(bot.lookup.answer(f"id {old_id}"), ensure_ascii=False)

    remote.mend(gone)
    remote.publish_week(NEWEST_WEEK)
    jobs.get_job(SYNC_JOB_ID).func()
    state = git_state(engine)
    assert state is not None and state.error is None and state.commit == remote.head()


def test_a_force_push_re_indexes_from_the_new_tree_and_keeps_every_record_of_the_bot(
    remote: Remote, tmp_path: Path, fake: FakeSlack, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(remote, tmp_path, fake)
    source = source_for(settings)
    remote.publish_week(NEWEST_WEEK)
    sync_source(engine, source, fetch=True)
    bot = assemble(settings, engine, search_refresh=0.0)
    now = [after(NEWEST_WEEK)]
    jobs = background_jobs(bot, source, clock=lambda: now[0], sleep=lambda s: None)
    assert jobs.get_job(JOB_ID).func().publish.posted == 6
    posts_before = store.post_counts(engine)
    marks_before = mark_store.mark_counts(engine)
    messages_before = len(fake.messages("C0SD"))

    # The editors drop the newest week's commit and fix a title a week earlier, then force-push.
    title = f"Reinforcement Learning Study {BEFORE.isoformat()} No. 1"
    with caplog.at_level(logging.WARNING):
        rewritten = remote.rewrite(f"_rl/{BEFORE}.md", title, title + " (revised)")
        jobs.get_job(SYNC_JOB_ID).func()

    assert source.git is not None and source.git.head() == rewritten
    assert not (source.path / "_sd" / f"{NEWEST_WEEK}.md").exists()  # the checkout is the new tree
    assert any("history was rewritten" in r.getMessage() for r in caplog.records)
    catalog = Catalog(engine)
    assert catalog.digest("sd", NEWEST_WEEK) is None
    revised = catalog.paper(paper_id(1, BEFORE, 1))
    assert revised is not None and f"{title} (revised)" in revised.title
    # The bot's records are all there: nothing deleted, nothing posted again.
    assert store.post_counts(engine) == posts_before and mark_store.mark_counts(engine) == marks_before
    report = jobs.get_job(JOB_ID).func()
    assert report.ok and report.publish.posted == 0
    assert len(fake.messages("C0SD")) == messages_before and fake.calls("chat.delete") == []


def test_symlinks_in_the_repository_are_plain_files_in_the_checkout(
    remote: Remote, tmp_path: Path, fake: FakeSlack, engine: Engine
) -> None:
    secret = tmp_path / "secret.md"
    secret.write_text("---\ntitle: outside (2025-03-21 ~ 2025-03-27)\ndate: 2025-03-21\n---\n", encoding="utf-8")
    (remote.work / "_sd" / "2025-03-21.md").symlink_to(secret)
    git(remote.work, "add", "-A")
    git(remote.work, "commit", "--quiet", "-m", "a symlink")
    git(remote.work, "push", "--quiet", "origin", "main")
    source = source_for(settings_for(remote, tmp_path, fake))

    report = sync_source(engine, source, fetch=True).report

    checked_out = source.path / "_sd" / "2025-03-21.md"
    assert not checked_out.is_symlink() and checked_out.read_text() == str(secret)
    digest = Catalog(engine).digest("sd", dt.date(2025, 3, 21))  # the link's text, read as a digest
    assert digest is not None and digest.papers == () and "outside" not in digest.title
    assert any(p.path == "_sd/2025-03-21.md" for p in report.problems)


# ---- the CLI ---------------------------------------------------------------------------------


def test_index_clones_then_status_shows_the_commit_and_a_failed_fetch(
    remote: Remote, tmp_path: Path, db_url: str
) -> None:
    env = {"DIGEST_ARCHIVE_GIT": remote.url, "DIGEST_DATA_DIR": str(tmp_path / "data"), "DIGEST_DB_URL": db_url}
    index = digest_bot(tmp_path, "index", **env)
    assert index.returncode == 0, index.stderr
    checkout = GitArchive(GitRemote.parse(remote.url), tmp_path / "data").path
    assert f"Archive {checkout}" in index.stdout and "15 digests, 18 papers" in index.stdout
    status = digest_bot(tmp_path, "status", **env)
    assert f"Archive git {remote.url}: commit {remote.head()[:12]} “digests up to {BEFORE}”, indexed" in status.stdout
    data = json.loads(digest_bot(tmp_path, "status", "--json", **env).stdout)
    assert data["archive"]["git"]["commit"] == remote.head() and data["archive"]["root"] == str(checkout)

    remote.break_()
    again = digest_bot(tmp_path, "index", **env)
    assert again.returncode == 0, again.stderr
    assert "fetch failed" in again.stderr and "reading the last good checkout" in again.stderr
    status = digest_bot(tmp_path, "status", **env)
    assert "last fetch failed" in status.stdout and "the last good checkout" in status.stdout


def test_a_repository_that_cannot_be_cloned_stops_run_and_index_with_the_reason(
    tmp_path: Path, db_url: str
) -> None:
    env = {
        "DIGEST_ARCHIVE_GIT": (tmp_path / "nowhere.git").as_uri(),
        "DIGEST_DATA_DIR": str(tmp_path / "data"),
        "DIGEST_DB_URL": db_url,
    }
    for command in ("index", "run"):
        result = digest_bot(tmp_path, command, **env)
        assert result.returncode == 2, result.stdout + result.stderr
        assert f"digest-bot: cannot clone DIGEST_ARCHIVE_GIT {env['DIGEST_ARCHIVE_GIT']}: fatal:" in result.stderr
        assert "Traceback" not in result.stderr


# ---- settings and URLs -------------------------------------------------------------------------


@pytest.mark.backends("sqlite")
def test_urls_branches_and_hidden_passwords() -> None:
    assert GitRemote.parse(" https://github.com/org/site.git#gh-pages ") == GitRemote(
        "https://github.com/org/site.git", "gh-pages"
    )
    assert GitRemote.parse("git@github.com:org/site.git").branch is None
    for bad in ("", "--upload-pack=touch /tmp/x", "https://x/y z", "https://x/y#a..b", "https://x/y#-b"):
        with pytest.raises(ValueError):
            GitRemote.parse(bad)
    secret = GitRemote.parse("https://bot:ghp_SECRET@github.com/org/site.git#main")
    assert secret.shown == "https://bot:***@github.com/org/site.git#main"
    assert secret.folder_name.startswith("site-")
    assert redact("fatal: unable to access 'https://u:pw@host/x.git/': 403") == (
        "fatal: unable to access 'https://u:***@host/x.git/': 403"
    )


@pytest.mark.backends("sqlite")
def test_a_failed_clone_never_shows_a_password(tmp_path: Path) -> None:
    remote = GitRemote.parse("http://bot:TOPSECRET@127.0.0.1:9/site.git")
    with pytest.raises(GitError) as raised:
        GitArchive(remote, tmp_path).ensure()
    assert "TOPSECRET" not in str(raised.value) and "bot:***@127.0.0.1" in str(raised.value)
    assert not any(tmp_path.glob("archive-git/*/.git"))  # nothing half-cloned left behind


@pytest.mark.backends("sqlite")
def test_archive_and_archive_git_together_is_one_clear_error(tmp_path: Path) -> None:
    from bot.config import ConfigError

    with pytest.raises(ConfigError) as raised:
        load_settings(None, DIGEST_ARCHIVE=str(tmp_path), DIGEST_ARCHIVE_GIT="file:///x.git")
    assert "DIGEST_ARCHIVE and DIGEST_ARCHIVE_GIT are both set" in str(raised.value)
    settings = load_settings(None, DIGEST_ARCHIVE_GIT="file:///srv/site.git#main", DIGEST_DATA_DIR=str(tmp_path))
    assert settings.archive_path.parent == (tmp_path / "archive-git").resolve()
