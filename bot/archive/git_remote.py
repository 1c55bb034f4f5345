"""`DIGEST_ARCHIVE_GIT` read as a value: the repository URL, its branch, where its checkout lives.

Pure (no git is run): the settings check the value with the very reading the bot
uses (`GitRemote.parse`), and name the checkout's folder (`checkout_path`) without
reaching into the runtime, which clones and fetches it (`bot.runtime.git_archive`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

_BRANCH_RE = re.compile(r"^(?!-)(?!/)(?!.*\.\.)(?!.*//)[A-Za-z0-9._/-]+(?<!/)(?<!\.lock)$")


@dataclass(frozen=True, slots=True)
class GitRemote:
    """`DIGEST_ARCHIVE_GIT`: a repository URL, and a branch after `#` (default: the remote's)."""

    url: str
    branch: str | None = None

    @classmethod
    def parse(cls, value: str) -> GitRemote:
        """`https://host/org/site.git#main`, `git@host:org/site.git`, `file:///srv/site.git`."""
        text = value.strip()
        url, _, branch = text.partition("#")
        url, branch = url.strip(), branch.strip()
        if not url or any(c.isspace() for c in url) or url.startswith("-"):
            raise ValueError(f"{value!r} is not a git repository URL (e.g. https://github.com/org/digests.git#main)")
        if "#" in text and not _BRANCH_RE.match(branch):
            raise ValueError(f"{branch!r} is not a branch name (after '#', e.g. ...digests.git#main)")
        return cls(url, branch or None)

    @property
    def shown(self) -> str:
        """The URL as it may be printed and stored: a password or token in it is hidden."""
        return redact(self.url) + (f"#{self.branch}" if self.branch else "")

    @property
    def folder_name(self) -> str:
        """`<repository>-<hash of the URL>`: readable, and another URL is another folder."""
        bare = redact(self.url)
        stem = re.sub(r"\.git$", "", bare.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]) or "archive"
        stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-")[:40] or "archive"
        return f"{stem}-{hashlib.sha256(bare.encode()).hexdigest()[:8]}"


def redact(text: str) -> str:
    """Hide the password of any URL in `text` (`https://user:SECRET@host` → `https://user:***@host`)."""

    def one(match: re.Match[str]) -> str:
        url = match.group(0)
        try:
            parts = urlsplit(url)
        except ValueError:
            return url
        if parts.password is None:
            return url
        host = parts.hostname or ""
        netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))

    return re.sub(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"]+", one, text)


def checkout_path(remote: GitRemote, data_dir: Path) -> Path:
    """Where the repository's checkout lives: `data_dir/archive-git/<repository>-<hash>/`."""
    return (Path(data_dir).expanduser() / "archive-git").resolve() / remote.folder_name
