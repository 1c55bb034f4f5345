"""The store's tables, in portable SQLAlchemy Core (SQLite and PostgreSQL).

Archive data is content-addressed: an entry's text is stored once in `texts`
however many digests repeat it (a paper stands in its topics' digests and in
`all`), and `papers` points at the text chosen for the merged record.

The schema is created and changed by the Alembic migrations in
`bot/store/migrations/` (a test checks that they produce exactly these tables).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect

metadata = MetaData()


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A moment in time, handed back aware and in UTC on every backend.

    PostgreSQL's `timestamptz` returns aware values, SQLite naive ones (it
    keeps text): both come back as aware UTC here, so no caller has to know
    which store it reads. Values are converted to UTC before they are sent
    (naive ones are taken as UTC), so PostgreSQL never reads one in its
    session's time zone and SQLite's text compares in time order.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utc(value: dt.datetime) -> dt.datetime:
    """An aware UTC datetime; naive values (SQLite drops the zone) are UTC already."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utc_or_none(value: dt.datetime | None) -> dt.datetime | None:
    """`utc` for a column that may be NULL."""
    return None if value is None else utc(value)


#: Key/value facts about the store: the archive root it indexes, its version.
state = Table(
    "state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

#: Every source file read, with what decides whether it must be read again.
archive_files = Table(
    "archive_files",
    metadata,
    Column("path", String(1024), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("mtime_ns", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("problems", JSON, nullable=False),
    Column("indexed_at", UtcDateTime, nullable=False),
)

topics = Table(
    "topics",
    metadata,
    Column("slug", String(64), primary_key=True),
    Column("name_ja", Text, nullable=False),
    Column("name_en", Text, nullable=False),
)

#: The pages and site config a sync last read, to name topics and link digests.
site_files = Table(
    "site_files",
    metadata,
    Column("path", String(1024), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("data", JSON, nullable=False),
)

digests = Table(
    "digests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("slug", String(64), nullable=False),
    Column("week_start", Date, nullable=False),
    Column("week_end", Date, nullable=False),
    Column("title", Text, nullable=False),
    Column("source_path", String(1024), nullable=False, unique=True),
    Column("site_root", String(1024), nullable=False, default=""),
    Column("url", Text),
    Column("paper_count", Integer, nullable=False),
    # {slug: name} of the topic links its entries hold, to name topics without reading texts.
    Column("link_names", JSON, nullable=False),
    UniqueConstraint("slug", "week_start", name="uq_digest_slug_week"),
)

#: Entry texts (a Paper's fields, without digests), keyed by their content hash.
texts = Table(
    "texts",
    metadata,
    Column("hash", String(32), primary_key=True),
    Column("data", JSON, nullable=False),
)

entries = Table(
    "entries",
    metadata,
    Column("digest_id", Integer, ForeignKey("digests.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("arxiv_id", String(64), nullable=False),
    Column("text_hash", String(32), nullable=False),
    Column("topics", JSON, nullable=False),
    # The archive's own wall-clock time (no zone in the source): naive on every backend.
    Column("posted_at", DateTime),
    Column("line", Integer, nullable=False),
    Index("ix_entries_arxiv_id", "arxiv_id"),
    Index("ix_entries_text_hash", "text_hash"),
)

#: One merged record per paper: the chosen text, every topic, every digest.
papers = Table(
    "papers",
    metadata,
    Column("arxiv_id", String(64), primary_key=True),
    Column("text_hash", String(32), nullable=False),
    Column("topics", JSON, nullable=False),
    Column("digests", JSON, nullable=False),
    Column("week_start", Date, nullable=False),
    Column("posted_at", DateTime),
    # Hash of everything a paper's Slack card shows: a changed hash means "edit the post".
    Column("content_hash", String(32), nullable=False),
    # The archive version that last changed this row, so readers can catch up incrementally.
    Column("version", BigInteger, nullable=False),
    Index("ix_papers_week_start", "week_start"),
    Index("ix_papers_version", "version"),
)

paper_topics = Table(
    "paper_topics",
    metadata,
    Column("arxiv_id", String(64), primary_key=True),
    Column("slug", String(64), primary_key=True),
    Index("ix_paper_topics_slug", "slug"),
)

#: Papers removed from the archive, so readers at an older version can drop them too.
removed_papers = Table(
    "removed_papers",
    metadata,
    Column("arxiv_id", String(64), primary_key=True),
    Column("version", BigInteger, nullable=False),
)

ARCHIVE_TABLES = (paper_topics, papers, entries, texts, digests, topics, site_files, archive_files)
