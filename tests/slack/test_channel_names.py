"""One channel everywhere: `#name` settings resolve the same way in every command (issue 22, item 2).

`run`, `post` and `recap` look names up in Slack and remember the ids; the
commands that ask no Slack (`status`, `post --dry-run`, preview) plan with
the ids remembered, so they all speak of the channel the posts are under.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.test_first_contact import digest_bot, live_env
from tests.support.fake_slack import FakeSlack
from tests.support.team_archive import NEWEST_WEEK, write_team_archive


def test_dry_run_and_status_agree_after_a_week_was_posted_to_a_channel_name(
    tmp_path: Path, fake: FakeSlack
) -> None:
    archive = write_team_archive(tmp_path / "team")
    env = live_env(tmp_path, fake, archive, DIGEST_CHANNEL="#general")
    posted = digest_bot(tmp_path, "post", "--interval", "0.01", **env)
    assert posted.returncode == 0, posted.stderr
    assert f"CGENERAL: posted 6 (rl {NEWEST_WEEK}, sd {NEWEST_WEEK})" in posted.stdout

    status = digest_bot(tmp_path, "status", **env)
    dry_run = digest_bot(tmp_path, "post", "--dry-run", **env)
    dry_json = digest_bot(tmp_path, "post", "--dry-run", "--json", **env)

    assert "it would post: nothing to post" in status.stdout
    assert dry_run.returncode == 0, dry_run.stderr
    assert "Nothing is due." in dry_run.stdout, dry_run.stdout
    assert "would post" not in dry_run.stdout and "older week(s) unposted" not in dry_run.stdout
    assert json.loads(dry_json.stdout)["posted"] == 0
    assert len(fake.calls("chat.postMessage")) == 6  # the dry runs sent nothing


def test_dry_run_with_a_name_never_looked_up_says_so(tmp_path: Path, fake: FakeSlack) -> None:
    archive = write_team_archive(tmp_path / "team")
    env = live_env(tmp_path, fake, archive, DIGEST_CHANNEL="#general")
    dry_run = digest_bot(tmp_path, "post", "--dry-run", **env)
    assert dry_run.returncode == 0, dry_run.stderr
    assert "#general: would post 6" in dry_run.stdout
    assert "DIGEST_CHANNEL #general has not been looked up in Slack yet" in dry_run.stderr
    assert fake.calls("conversations.list") == []  # a dry run asks Slack nothing
