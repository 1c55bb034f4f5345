"""Open the store: an SQLAlchemy engine with its schema in place.

SQLite (the default, a file under `./data/`) gets WAL mode and a busy timeout
so that the bot's web server, scheduler and a CLI run can share one file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, insert
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.schema import Table

from bot.store.schema import metadata

DEFAULT_DB_URL = "sqlite:///data/digest-bot.sqlite3"


class StoreError(RuntimeError):
    """The store cannot be opened; the message says why and what to change."""


def open_engine(url: str = DEFAULT_DB_URL, *, create: bool = True) -> Engine:
    """An engine for `url`, with the schema created on first use."""
    try:
        parsed = make_url(url)
    except ArgumentError as err:
        raise StoreError(f"DIGEST_DB_URL {url!r} is not a database URL: {err}") from err
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    try:
        engine = create_engine(parsed, **kwargs)
    except Exception as err:  # a missing driver, a bad option: say which setting to fix
        raise StoreError(f"cannot open the store at {parsed.render_as_string(hide_password=True)}: {err}") from err
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if create:
        try:
            metadata.create_all(engine)
        except Exception as err:
            where = parsed.render_as_string(hide_password=True)
            raise StoreError(f"cannot create the store's tables at {where}: {err}") from err
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def insert_ignoring_duplicates(conn: Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """INSERT rows whose primary key may already exist, keeping the existing ones."""
    if not rows:
        return
    dialect = conn.dialect.name
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    elif dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert  # type: ignore[assignment]
    else:  # pragma: no cover - other backends: one by one
        for row in rows:
            if conn.execute(table.select().filter_by(**{c.name: row[c.name] for c in table.primary_key})).first() is None:
                conn.execute(insert(table), [row])
        return
    conn.execute(dialect_insert(table).on_conflict_do_nothing(), rows)
