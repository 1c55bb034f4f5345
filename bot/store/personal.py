"""The personal layer's tables: votes, follows, saved papers, people's settings, weekly DMs.

Everything here is about one Slack user and is theirs alone: nothing in these
tables is shown to anyone else, and `bot.personal.privacy.forget_user` deletes every
row that names a user (here and in `thread_replies`). Portable SQLAlchemy
Core like the rest of the store; created by migration 0003.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from bot.store.schema import UtcDateTime, metadata

#: One row per (message, user, emoji) ever reacted on a paper's message in a
#: channel. `active` is whether the reaction stands now; a removal keeps the
#: row (inactive) so that an older event Slack delivers late cannot revive it:
#: `event_us` is the Slack time of the newest event applied.
reactions = Table(
    "reactions",
    metadata,
    Column("channel", String(32), primary_key=True),
    Column("ts", String(32), primary_key=True),
    Column("user_id", String(64), primary_key=True),
    Column("reaction", String(100), primary_key=True),
    Column("arxiv_id", String(64), nullable=False),
    Column("active", Boolean, nullable=False),
    # When the reaction (that stands now) was added: what "votes this week" counts.
    Column("reacted_at", UtcDateTime, nullable=False),
    Column("event_us", BigInteger, nullable=False),
    Index("ix_reactions_arxiv_id", "arxiv_id"),
    Index("ix_reactions_reacted_at", "reacted_at"),
    Index("ix_reactions_user_id", "user_id"),
)

#: A person's follows: any query the search understands, checked when saved.
follows = Table(
    "follows",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(64), nullable=False),
    Column("query", Text, nullable=False),
    # The query's canonical form, hashed: the same follow typed twice is one follow.
    Column("query_key", String(64), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("user_id", "query_key", name="uq_follows_user_query"),
)

#: A person's reading list.
saved_papers = Table(
    "saved_papers",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("arxiv_id", String(64), primary_key=True),
    Column("saved_at", UtcDateTime, nullable=False),
    Index("ix_saved_papers_user_saved_at", "user_id", "saved_at"),
)

#: One row per person the bot has something about: DMs muted, their DM channel, last Home visit.
people = Table(
    "people",
    metadata,
    Column("user_id", String(64), primary_key=True),
    Column("dm_muted", Boolean, nullable=False),
    # The IM channel conversations.open gave (asked once, then kept).
    Column("dm_channel", String(32)),
    # When the Home tab was last opened: "new since your last visit" starts there.
    Column("home_seen_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
)

#: The weekly DM: one row per (user, week), the intent committed before
#: chat.postMessage and completed with its ts after, like `posts`.
dm_posts = Table(
    "dm_posts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("user_id", String(64), nullable=False),
    Column("week_start", Date, nullable=False),
    Column("state", String(8), nullable=False),
    Column("channel", String(32)),
    Column("ts", String(32)),
    # The arXiv ids the DM lists, and a hash of what it shows (a new match: chat.update).
    Column("papers", JSON, nullable=False),
    Column("content_hash", String(32)),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("created_at", UtcDateTime, nullable=False),
    Column("attempted_at", UtcDateTime, nullable=False),
    Column("posted_at", UtcDateTime),
    Column("updated_at", UtcDateTime, nullable=False),
    UniqueConstraint("user_id", "week_start", name="uq_dm_posts_user_week"),
    Index("ix_dm_posts_week_state", "week_start", "state"),
)
