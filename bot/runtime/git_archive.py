"""The archive as a git checkout the bot keeps fresh itself (`DIGEST_ARCHIVE_GIT`).

A real archive is a git repository its editors push to every week. The bot
clones it once into its data folder (`DIGEST_DATA_DIR`) and, before each
re-read of the archive and before posting, fetches and moves the checkout to
the remote branch's commit. It uses the git command line: nothing is
re-implemented, and credentials work as they do for the user (SSH keys,
credential helpers), but never by asking on a terminal.

- A failed fetch changes nothing: the last good checkout stays and is served;
  the reason is returned (and recorded by the caller for `status`).
- A force-push or a diverged history is followed: the checkout becomes the
  new tree exactly (`checkout --force -B`, `clean`), and the store re-indexes
  whatever changed; the bot's own records (posts, marks, thread replies) are
  never touched by any of this.
- The checkout folder is named after the repository URL, so another URL is
  another archive folder (the store follows it, or refuses on a shared store).
- Symlinks are checked out as plain files (`core.symlinks=false`): a file in
  the repository can never make the bot read outside the checkout.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bot.archive.git_remote import GitRemote, checkout_path, redact

try:  # file locks: two threads or processes never run git in one checkout at once
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None  # type: ignore[assignment]

#: How long one git command may take before it is given up (seconds).
FETCH_TIMEOUT = 300
CLONE_TIMEOUT = 1800


class GitError(Exception):
    """A git command failed; the message is one line, with any password in a URL hidden."""


@dataclass(frozen=True, slots=True)
class GitUpdate:
    """What one fetch did: the commit before and after, a rewritten history, or why it failed."""

    before: str | None
    after: str | None
    rewritten: bool = False
    error: str | None = None

    @property
    def moved(self) -> bool:
        return self.error is None and self.before != self.after


class GitArchive:
    """One repository's checkout under `data_dir/archive-git/`, cloned and updated by git."""

    def __init__(self, remote: GitRemote, data_dir: Path) -> None:
        self.remote = remote
        self.path = checkout_path(remote, data_dir)
        self.root = self.path.parent

    # ---- what there is -------------------------------------------------------------------

    @property
    def cloned(self) -> bool:
        return (self.path / ".git").is_dir()

    def head(self) -> str | None:
        """The commit checked out, or None before the first clone."""
        if not self.cloned:
            return None
        try:
            return self._git("rev-parse", "--verify", "HEAD^{commit}", cwd=self.path)
        except GitError:
            return None

    def subject(self, commit: str) -> str:
        """A commit's first line, for `status` (empty when unknown)."""
        try:
            return self._git("log", "-1", "--format=%s", commit, "--", cwd=self.path)
        except GitError:
            return ""

    # ---- clone and update ----------------------------------------------------------------

    def ensure(self) -> bool:
        """Clone on first use; True when it cloned now. GitError when there is no checkout."""
        if self.cloned:
            return False
        with self._locked():
            if self.cloned:  # another process cloned while this one waited
                return False
            scratch = self.root / f".{self.path.name}.clone-{os.getpid()}"
            shutil.rmtree(scratch, ignore_errors=True)
            args = ["-c", "core.symlinks=false", "clone", "--quiet", "--no-tags", "--single-branch"]
            if self.remote.branch:
                args += ["--branch", self.remote.branch]
            try:
                self._git(*args, "--", self.remote.url, str(scratch), timeout=CLONE_TIMEOUT)
                self._git("config", "core.symlinks", "false", cwd=scratch)
            except GitError as err:
                shutil.rmtree(scratch, ignore_errors=True)
                raise GitError(f"cannot clone DIGEST_ARCHIVE_GIT {self.remote.shown}: {err}") from None
            scratch.rename(self.path)
        return True

    def update(self) -> GitUpdate:
        """Fetch the branch and move the checkout to it; on failure keep the checkout as it is."""
        with self._locked():
            before = self.head()
            try:
                branch = self.remote.branch or self._git("symbolic-ref", "--short", "HEAD", cwd=self.path)
                self._git("remote", "set-url", "origin", "--", self.remote.url, cwd=self.path)
                self._git(
                    "fetch", "--quiet", "--no-tags", "origin",
                    f"+refs/heads/{branch}:refs/remotes/origin/{branch}",
                    cwd=self.path,
                )
                target = self._git("rev-parse", "--verify", f"refs/remotes/origin/{branch}^{{commit}}", cwd=self.path)
            except GitError as err:
                return GitUpdate(before, before, error=f"fetch failed: {err}")
            rewritten = before is not None and target != before and not self._is_ancestor(before, target)
            try:
                self._git("checkout", "--quiet", "--force", "-B", branch, target, cwd=self.path)
                self._git("clean", "-ffdxq", cwd=self.path)
            except GitError as err:
                return GitUpdate(before, self.head(), rewritten, error=f"could not check out {target[:12]}: {err}")
            return GitUpdate(before, target, rewritten)

    def _is_ancestor(self, old: str, new: str) -> bool:
        try:
            self._git("merge-base", "--is-ancestor", old, new, cwd=self.path)
        except GitError:
            return False
        return True

    # ---- plumbing ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / f".{self.path.name}.lock", "a") as handle:
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if fcntl is not None:
                    fcntl.flock(handle, fcntl.LOCK_UN)

    def _git(self, *args: str, cwd: Path | None = None, timeout: float = FETCH_TIMEOUT) -> str:
        env = {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",  # a missing credential fails, never waits for a person
            "GIT_SSH_COMMAND": os.environ.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes"),
            "LC_ALL": "C",
        }
        try:
            done = subprocess.run(
                ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
            )
        except FileNotFoundError:
            raise GitError("the git command is not installed (e.g. apt-get install git)") from None
        except subprocess.TimeoutExpired:
            raise GitError(f"git {args[0]} took longer than {timeout:.0f} s") from None
        if done.returncode != 0:
            lines = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
            reason = next((line for line in reversed(lines) if line.startswith(("fatal:", "error:"))), None)
            reason = reason or (lines[-1] if lines else f"git {args[0]} exited with {done.returncode}")
            raise GitError(redact(reason)[:300])
        return done.stdout.strip()
