"""Where the indexed archive came from: the git commit indexed and when, the last fetch.

Kept in the store's `state` table (key/value, no schema change), so `status`
in any process, and every replica of a shared store, can say which commit the
index holds and whether the last fetch failed. Written by
`bot.runtime.archive_source` after each fetch and each sync of a git archive.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Engine

from bot.store import locks
from bot.store.state import get_state, set_state

_KEYS = (
    "archive_git_url",
    "archive_git_commit",
    "archive_git_subject",
    "archive_git_indexed_at",
    "archive_git_fetched_at",
    "archive_git_error",
    "archive_git_error_at",
)


@dataclass(frozen=True, slots=True)
class GitState:
    """What the store knows of its git archive (every field may be missing)."""

    url: str | None = None
    commit: str | None = None
    subject: str | None = None
    indexed_at: dt.datetime | None = None
    fetched_at: dt.datetime | None = None
    error: str | None = None
    error_at: dt.datetime | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "url": self.url,
            "commit": self.commit,
            "subject": self.subject,
            "indexed_at": self.indexed_at.isoformat() if self.indexed_at else None,
            "fetched_at": self.fetched_at.isoformat() if self.fetched_at else None,
            "error": self.error,
            "error_at": self.error_at.isoformat() if self.error_at else None,
        }


def _time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def git_state(engine: Engine) -> GitState | None:
    """The store's git archive state, or None when the archive never came from git."""
    with locks.snapshot(engine) as conn:
        values = {key: get_state(conn, key) for key in _KEYS}
    if not values["archive_git_url"]:
        return None
    return GitState(
        url=values["archive_git_url"],
        commit=values["archive_git_commit"] or None,
        subject=values["archive_git_subject"] or None,
        indexed_at=_time(values["archive_git_indexed_at"]),
        fetched_at=_time(values["archive_git_fetched_at"]),
        error=values["archive_git_error"] or None,
        error_at=_time(values["archive_git_error_at"]),
    )


def record_fetch(engine: Engine, url: str, error: str | None, now: dt.datetime) -> None:
    """A fetch happened: when it succeeded last, or why it failed (cleared by the next success)."""
    with engine.begin() as conn:
        set_state(conn, "archive_git_url", url)
        if error is None:
            set_state(conn, "archive_git_fetched_at", now.isoformat())
            set_state(conn, "archive_git_error", "")
            set_state(conn, "archive_git_error_at", "")
        else:
            set_state(conn, "archive_git_error", error)
            set_state(conn, "archive_git_error_at", now.isoformat())


def record_indexed(engine: Engine, url: str, commit: str, subject: str, now: dt.datetime) -> None:
    """The index now holds `commit` (its time is kept while the commit stays the same)."""
    with engine.begin() as conn:
        set_state(conn, "archive_git_url", url)
        if get_state(conn, "archive_git_commit") != commit:
            set_state(conn, "archive_git_commit", commit)
            set_state(conn, "archive_git_subject", subject[:200])
            set_state(conn, "archive_git_indexed_at", now.isoformat())
