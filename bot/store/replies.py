"""The `thread_replies` table: who replied in a paper's thread and when (never the text).

Its queries live with the features that count replies (`bot.discussion`,
`bot.recap`, `bot.privacy`); the table is here so the store defines every table.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, String, Table

from bot.store.schema import UtcDateTime, metadata

#: One row per human reply in a paper's thread (no text): idempotent per reply ts,
#: so Slack's event retries never count a reply twice.
thread_replies = Table(
    "thread_replies",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("ts", String(32), primary_key=True),
    Column("thread_ts", String(32), nullable=False),
    Column("arxiv_id", String(64), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("replied_at", UtcDateTime, nullable=False),
    Index("ix_thread_replies_thread", "channel", "thread_ts"),
    Index("ix_thread_replies_arxiv_id", "arxiv_id"),
    Index("ix_thread_replies_replied_at", "replied_at"),
)


__all__ = ["thread_replies"]
