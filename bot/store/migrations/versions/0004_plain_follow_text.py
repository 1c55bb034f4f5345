"""follows.query as plain text: `AT&T privacy`, no longer the query language's `AT&amp;T privacy`.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06

A follow was stored as the query's canonical text, which keeps `&` as `&amp;`
(it parses back as Slack's escaped text does), and so was shown escaped twice
or three times. Follows are now stored plain (`bot.personal.follows.plain_text`), and
read back with `bot.personal.follows.parse_follow`; the rows saved before are made
plain here, with their `query_key` (a hash of the text) made again to match.
Self-contained: the hash is written out here as `bot.personal.records.query_key` has it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_follows = sa.table(
    "follows", sa.column("id", sa.Integer), sa.column("query", sa.Text), sa.column("query_key", sa.String)
)


def _key(text: str) -> str:
    return hashlib.sha256(" ".join(text.casefold().split()).encode()).hexdigest()


def _rewrite(old: str, new: str) -> None:
    conn = op.get_bind()
    rows = conn.execute(sa.select(_follows.c.id, _follows.c.query).where(_follows.c.query.contains(old))).all()
    for follow_id, query in rows:
        text = query.replace(old, new)
        conn.execute(
            sa.update(_follows).where(_follows.c.id == follow_id).values(query=text, query_key=_key(text))
        )


def upgrade() -> None:
    _rewrite("&amp;", "&")


def downgrade() -> None:
    _rewrite("&", "&amp;")
