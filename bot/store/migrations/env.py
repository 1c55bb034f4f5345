"""Alembic's entry point for the store's migrations.

Always run through `bot.store.migrate`, which passes the connection to use
(already inside the transaction and lock it migrates under); there is no
`alembic.ini`. The target is the store's whole metadata: the archive tables
of `bot.store.schema` and the posting tables (`bot.store.posts`, `marks`,
`leases`, `runs`, `replies`).
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context

# Imported for their tables, which they define on the shared metadata (the posting layer's,
# the personal ones, ...): a migration sees every table.
import bot.store.leases
import bot.store.marks
import bot.store.personal
import bot.store.posts
import bot.store.replies
import bot.store.runs  # noqa: F401
from bot.store.schema import UtcDateTime, metadata


def _render_type(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Write the store's own column types as plain SQLAlchemy ones in scripts.

    A migration must not import application code that may change later;
    `UtcDateTime` is `DateTime(timezone=True)` in the database.
    """
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through bot.store.migrate (digest-bot db upgrade)")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters a table by copying it
    render_item=_render_type,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
