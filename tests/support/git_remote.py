"""A local bare git repository standing in for the digest site's remote (`file://`, no network).

The editors' side: a working clone that commits a week of the team archive
and pushes it, or rewrites history and force-pushes, or a remote that breaks.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.team_archive import write_team_archive

requires_git = pytest.mark.skipif(shutil.which("git") is None, reason="the git command is not installed")

_IDENTITY = ("-c", "user.name=Digest Editor", "-c", "user.email=editor@example.org", "-c", "commit.gpgsign=false")


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *_IDENTITY, *args], cwd=cwd, capture_output=True, text=True, check=True, timeout=60
    )
    return done.stdout.strip()


@dataclass
class Remote:
    """A bare repository (`url`) and the editors' working clone of it."""

    bare: Path
    work: Path

    @property
    def url(self) -> str:
        return self.bare.as_uri()

    def head(self) -> str:
        return git(self.bare, "rev-parse", "main")

    def publish_week(self, upto: dt.date, message: str | None = None) -> str:
        """Write the team archive up to `upto`, commit and push; the new commit."""
        write_team_archive(self.work, upto=upto)
        git(self.work, "add", "-A")
        git(self.work, "commit", "--quiet", "-m", message or f"digests up to {upto}")
        git(self.work, "push", "--quiet", "origin", "main")
        return self.head()

    def rewrite(self, edit: str, old: str, new: str, *, drop_last: bool = True) -> str:
        """Drop the last commit (optionally), edit a file, commit and force-push."""
        if drop_last:
            git(self.work, "reset", "--quiet", "--hard", "HEAD~1")
        path = self.work / edit
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
        git(self.work, "commit", "--quiet", "-am", f"rewrite {edit}")
        git(self.work, "push", "--quiet", "--force", "origin", "main")
        return self.head()

    def break_(self) -> Path:
        """Make the remote unreachable (moved away); returns where it went."""
        gone = self.bare.with_name(self.bare.name + ".gone")
        self.bare.rename(gone)
        return gone

    def mend(self, gone: Path) -> None:
        gone.rename(self.bare)


def new_remote(tmp: Path, first_week: dt.date) -> Remote:
    """A bare repository on branch main holding the team archive up to `first_week`."""
    bare, work = tmp / "remote" / "digests.git", tmp / "editor"
    bare.parent.mkdir(parents=True)
    git(bare.parent, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git(tmp, "init", "--quiet", "--initial-branch=main", str(work))
    git(work, "remote", "add", "origin", bare.as_uri())
    remote = Remote(bare, work)
    remote.publish_week(first_week)
    return remote
