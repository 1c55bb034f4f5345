"""A dry run: the exact messages a run would post or update, recorded instead of sent.

It stands in for `bot.publisher.posting.Writer` with the same methods: no
Slack call, no store write, and nothing to reconcile. What it "posts" is
remembered as posted, so the rest of the run (another topic's header linking
a paper posted above) comes out as a real run's would, and `digest-bot post
--dry-run` shows what the next run sends.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine

from bot.model import Digest
from bot.publisher.messages import post_metadata
from bot.publisher.plan import Target
from bot.publisher.report import ChannelReport, Preview, PublishReport
from bot.store import posts as store
from bot.store.posts import PostRow

#: Where a message pretended posted is linked from a header: Slack makes the real
#: permalink only when the message is posted. `.invalid` (RFC 2606) never resolves.
PLACEHOLDER_HOST = "https://not-posted-yet.invalid/"
#: The placeholder as text renders it (`title (url)`), and what a reader is told instead.
PLACEHOLDER_LINK_RE = re.compile(r"\(" + re.escape(PLACEHOLDER_HOST) + r"[^\s()]*\)")
PLACEHOLDER_TEXT = "(its message above; linked once posted)"


def placeholder_permalink(channel: str, key: str) -> str:
    """A link that says it is none, for a message a dry run only pretended to post."""
    return f"{PLACEHOLDER_HOST}{quote(channel, safe='')}/{quote(key, safe='')}"


class DryRun:
    """Records each message in the report's `previews` and pretends it was posted."""

    def __init__(
        self, engine: Engine, report: PublishReport, *, clock: Callable[[], dt.datetime]
    ) -> None:
        self.engine = engine
        self.report = report
        self.clock = clock
        self._dry_rows: dict[tuple[str, str], PostRow] = {}

    def rows(self, channel: str, keys: list[str]) -> dict[str, PostRow]:
        """The channel's post rows under these keys, this dry run's pretended posts included."""
        rows = store.posts_by_key(self.engine, channel, keys)
        rows.update(
            {key: self._dry_rows[channel, key] for key in keys if (channel, key) in self._dry_rows}
        )
        return rows

    def own_messages(self, target: Target, oldest: dt.datetime) -> list[Mapping[str, Any]]:
        """None looked for: a dry run asks Slack nothing (a real run may adopt some)."""
        return []

    def thread_messages(self, target: Target, thread_ts: str) -> list[Mapping[str, Any]]:
        return []

    def adopt(self, *args: Any, **kwargs: Any) -> PostRow | None:
        return None

    def reconcile(self, target: Target, digest: Digest) -> None:
        """Nothing to settle: a dry run leaves interrupted posts to the next real run."""

    def post(
        self,
        target: Target,
        report: ChannelReport,
        kind: store.PostKind,
        key: str,
        arxiv_id: str | None,
        row: PostRow | None,
        message: dict[str, Any],
        hash_: str | None,
        thread_ts: str | None = None,
    ) -> PostRow:
        """Record the message, and pretend it was posted for what follows."""
        now = self.clock()
        row = PostRow(
            id=-(len(self._dry_rows) + 1),
            channel=target.channel,
            key=key,
            kind=kind,
            slug=target.slug,
            week_start=target.week_start,
            arxiv_id=arxiv_id,
            state="posted",
            ts=None,
            permalink=placeholder_permalink(target.channel, key),
            content_hash=hash_,
            attempts=0,
            last_error=None,
            created_at=now,
            attempted_at=now,
            posted_at=now,
        )
        self._dry_rows[target.channel, key] = row
        self.report.channel(target.channel).posted += 1
        self.report.previews.append(
            Preview(
                target.channel,
                "post",
                kind,
                target.slug,
                target.week_start,
                arxiv_id,
                {**message, "metadata": post_metadata(row)},
            )
        )
        return row

    def update(
        self,
        target: Target,
        report: ChannelReport,
        row: PostRow,
        message: dict[str, Any],
        hash_: str | None,
    ) -> PostRow:
        """Record the update; the row stays as it is."""
        self.report.previews.append(
            Preview(
                target.channel,
                "update",
                row.kind,
                row.slug,
                row.week_start,
                row.arxiv_id,
                {**message, "ts": row.ts, "metadata": post_metadata(row)},
            )
        )
        return row

    def permalink(self, row: PostRow) -> str | None:
        """None: a dry run asks Slack nothing."""
        return None
