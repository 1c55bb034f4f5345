"""What a publishing run did: per channel, in total, and (dry run) the exact messages.

Plain data with `as_dict()`: `digest-bot post --json` prints it, the weekly
job logs it, and the run's totals and errors go to the store's `runs` row for
`digest-bot status`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class ChannelReport:
    """What one channel's run did, and why it stopped if it did."""

    channel: str
    digests: list[str] = field(default_factory=list)
    skipped_weeks: list[str] = field(default_factory=list)
    busy: list[str] = field(default_factory=list)
    held_back: list[str] = field(default_factory=list)
    posted: int = 0
    adopted: int = 0
    updated: int = 0
    error: str | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "digests": self.digests,
            "skipped_weeks": self.skipped_weeks,
            "busy": self.busy,
            "held_back": self.held_back,
            "posted": self.posted,
            "adopted": self.adopted,
            "updated": self.updated,
            "error": self.error,
            "problem": self.problem,
        }


@dataclass(frozen=True, slots=True)
class Preview:
    """A message a dry run would post or update, exactly as it would be sent."""

    channel: str
    action: str  # "post" | "update"
    kind: str  # "header" | "paper"
    slug: str
    week_start: dt.date
    arxiv_id: str | None
    message: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "action": self.action,
            "kind": self.kind,
            "slug": self.slug,
            "week_start": self.week_start.isoformat(),
            "arxiv_id": self.arxiv_id,
            "message": self.message,
        }


@dataclass(slots=True)
class PublishReport:
    """What a publishing run did, per channel; `ok` is False when a channel stopped."""

    started_at: dt.datetime
    dry_run: bool = False
    finished_at: dt.datetime | None = None
    channels: dict[str, ChannelReport] = field(default_factory=dict)
    unmapped_topics: list[str] = field(default_factory=list)
    unknown_topics: list[str] = field(default_factory=list)
    previews: list[Preview] = field(default_factory=list)
    run_id: int | None = None

    def channel(self, channel: str) -> ChannelReport:
        return self.channels.setdefault(channel, ChannelReport(channel))

    @property
    def ok(self) -> bool:
        return all(c.error is None for c in self.channels.values())

    @property
    def posted(self) -> int:
        return sum(c.posted for c in self.channels.values())

    @property
    def adopted(self) -> int:
        return sum(c.adopted for c in self.channels.values())

    @property
    def updated(self) -> int:
        return sum(c.updated for c in self.channels.values())

    @property
    def errors(self) -> list[dict[str, Any]]:
        return [
            {"channel": c.channel, "error": c.error, "problem": c.problem}
            for c in self.channels.values()
            if c.error is not None
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "dry_run": self.dry_run,
            "ok": self.ok,
            "posted": self.posted,
            "adopted": self.adopted,
            "updated": self.updated,
            "channels": [c.as_dict() for c in self.channels.values()],
            "unmapped_topics": self.unmapped_topics,
            "unknown_topics": self.unknown_topics,
            "messages": [p.as_dict() for p in self.previews] if self.dry_run else [],
        }
