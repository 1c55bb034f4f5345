"""The personal layer: reactions (votes), follows, saved papers, people, weekly DMs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-09

Stores adopted by 0001 from tables made by `create_all` of today's models may
hold some of these tables already: only the missing ones are created.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _reactions() -> None:
    op.create_table(
        "reactions",
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("ts", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("reaction", sa.String(length=100), nullable=False),
        sa.Column("arxiv_id", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("reacted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("event_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("channel", "ts", "user_id", "reaction"),
    )
    op.create_index("ix_reactions_arxiv_id", "reactions", ["arxiv_id"])
    op.create_index("ix_reactions_reacted_at", "reactions", ["reacted_at"])
    op.create_index("ix_reactions_user_id", "reactions", ["user_id"])


def _follows() -> None:
    op.create_table(
        "follows",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("query_key", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "query_key", name="uq_follows_user_query"),
    )


def _saved_papers() -> None:
    op.create_table(
        "saved_papers",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("arxiv_id", sa.String(length=64), nullable=False),
        sa.Column("saved_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "arxiv_id"),
    )
    op.create_index("ix_saved_papers_user_saved_at", "saved_papers", ["user_id", "saved_at"])


def _people() -> None:
    op.create_table(
        "people",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("dm_muted", sa.Boolean(), nullable=False),
        sa.Column("dm_channel", sa.String(length=32), nullable=True),
        sa.Column("home_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("user_id"),
    )


def _dm_posts() -> None:
    op.create_table(
        "dm_posts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("week_start", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("ts", sa.String(length=32), nullable=True),
        sa.Column("papers", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "week_start", name="uq_dm_posts_user_week"),
    )
    op.create_index("ix_dm_posts_week_state", "dm_posts", ["week_start", "state"])


_TABLES: dict[str, Callable[[], None]] = {
    "reactions": _reactions,
    "follows": _follows,
    "saved_papers": _saved_papers,
    "people": _people,
    "dm_posts": _dm_posts,
}


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name, create in _TABLES.items():
        if name not in existing:
            create()


def downgrade() -> None:
    for name in reversed(_TABLES):
        op.drop_table(name)
