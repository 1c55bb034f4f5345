"""The initial schema: the archive index, posts, digest marks, leases, runs, thread replies.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Stores created before migrations existed (by `metadata.create_all`) hold some
or all of these tables already, with exactly these definitions: the upgrade
adopts them, creating only the tables that are missing (the post tables came
later than the archive ones), and the store is stamped at this revision.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _state() -> None:
    op.create_table(
        "state",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )


def _archive_files() -> None:
    op.create_table(
        "archive_files",
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("mtime_ns", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("indexed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("path"),
    )


def _topics() -> None:
    op.create_table(
        "topics",
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("name_ja", sa.Text(), nullable=False),
        sa.Column("name_en", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("slug"),
    )


def _site_files() -> None:
    op.create_table(
        "site_files",
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("path"),
    )


def _digests() -> None:
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("week_end", sa.Date(), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("source_path", sa.String(length=1024), nullable=False),
        sa.Column("site_root", sa.String(length=1024), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("paper_count", sa.Integer(), nullable=False),
        sa.Column("link_names", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug", "week_start", name="uq_digest_slug_week"),
        sa.UniqueConstraint("source_path"),
    )


def _texts() -> None:
    op.create_table(
        "texts",
        sa.Column("hash", sa.String(length=32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("hash"),
    )


def _entries() -> None:
    op.create_table(
        "entries",
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("arxiv_id", sa.String(length=64), nullable=False),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("posted_at", sa.DateTime(), nullable=True),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["digest_id"], ["digests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("digest_id", "position"),
    )
    op.create_index("ix_entries_arxiv_id", "entries", ["arxiv_id"])
    op.create_index("ix_entries_text_hash", "entries", ["text_hash"])


def _papers() -> None:
    op.create_table(
        "papers",
        sa.Column("arxiv_id", sa.String(length=64), nullable=False),
        sa.Column("text_hash", sa.String(length=32), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("digests", sa.JSON(), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("posted_at", sa.DateTime(), nullable=True),
        sa.Column("content_hash", sa.String(length=32), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("arxiv_id"),
    )
    op.create_index("ix_papers_version", "papers", ["version"])
    op.create_index("ix_papers_week_start", "papers", ["week_start"])


def _paper_topics() -> None:
    op.create_table(
        "paper_topics",
        sa.Column("arxiv_id", sa.String(length=64), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("arxiv_id", "slug"),
    )
    op.create_index("ix_paper_topics_slug", "paper_topics", ["slug"])


def _removed_papers() -> None:
    op.create_table(
        "removed_papers",
        sa.Column("arxiv_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("arxiv_id"),
    )


def _posts() -> None:
    op.create_table(
        "posts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("post_key", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("arxiv_id", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("permalink", sa.Text(), nullable=True),
        sa.Column("content_hash", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("channel", "post_key", name="uq_posts_channel_key"),
    )
    op.create_index("ix_posts_arxiv_id", "posts", ["arxiv_id"])
    op.create_index("ix_posts_channel_ts", "posts", ["channel", "ts"])
    op.create_index("ix_posts_digest", "posts", ["channel", "slug", "week_start"])
    op.create_index("ix_posts_state", "posts", ["state"])


def _digest_marks() -> None:
    op.create_table(
        "digest_marks",
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("slug", sa.String(length=64), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("checked_version", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "slug", "week_start"),
    )


def _leases() -> None:
    op.create_table(
        "leases",
        sa.Column("lease_key", sa.String(length=200), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("lease_key"),
    )


def _runs() -> None:
    op.create_table(
        "runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("started_by", sa.String(length=16), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("posted", sa.Integer(), nullable=False),
        sa.Column("adopted", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("errors", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_runs_started_at", "runs", ["started_at"])


def _thread_replies() -> None:
    op.create_table(
        "thread_replies",
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("thread_ts", sa.String(length=32), nullable=False),
        sa.Column("arxiv_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("replied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "ts"),
    )
    op.create_index("ix_thread_replies_arxiv_id", "thread_replies", ["arxiv_id"])
    op.create_index("ix_thread_replies_replied_at", "thread_replies", ["replied_at"])
    op.create_index("ix_thread_replies_thread", "thread_replies", ["channel", "thread_ts"])


#: Every table in creation order (`entries` refers to `digests`).
_TABLES: dict[str, Callable[[], None]] = {
    "state": _state,
    "archive_files": _archive_files,
    "topics": _topics,
    "site_files": _site_files,
    "digests": _digests,
    "texts": _texts,
    "entries": _entries,
    "papers": _papers,
    "paper_topics": _paper_topics,
    "removed_papers": _removed_papers,
    "posts": _posts,
    "digest_marks": _digest_marks,
    "leases": _leases,
    "runs": _runs,
    "thread_replies": _thread_replies,
}


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name, create in _TABLES.items():
        if name not in existing:
            create()


def downgrade() -> None:
    for name in reversed(_TABLES):
        op.drop_table(name)
