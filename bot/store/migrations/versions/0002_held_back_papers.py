"""digest_marks.held_back: papers of a digest not posted in a channel (over the per-digest cap).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

Adopted stores (0001 on tables made by `create_all` from today's models) may
hold the column already: then there is nothing to add.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A store adopted by 0001 from the models' own tables may have the column already.
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("digest_marks")}
    if "held_back" in columns:
        return
    with op.batch_alter_table("digest_marks") as batch:
        batch.add_column(sa.Column("held_back", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("digest_marks") as batch:
        batch.drop_column("held_back")
