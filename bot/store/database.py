"""Open the store: an SQLAlchemy engine with its schema migrated to the newest revision.

SQLite (the default, a file under `./data/`) serves one bot process and the CLI
next to it: WAL mode, a busy timeout, and real transactions (`bot.store.locks`).
PostgreSQL (`postgresql+psycopg://…`, the `postgres` extra) serves several
replicas. Either way the schema comes from the Alembic migrations, applied
under a lock so that replicas starting together do not race.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, insert
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.schema import Table

from bot.store import locks
from bot.store.errors import StoreError, known_problem

DEFAULT_DB_URL = "sqlite:///data/digest-bot.sqlite3"
#: Driver names a user may write for PostgreSQL; psycopg 3 is the one the extra installs.
_PG_ALIASES = {"postgres", "postgresql"}


def database_url(url: str) -> URL:
    """The URL to connect with: `postgresql://` (or `postgres://`) means psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError as err:
        raise StoreError(f"DIGEST_DB_URL {url!r} is not a database URL: {err}") from err
    if parsed.drivername in _PG_ALIASES:
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def open_engine(url: str = DEFAULT_DB_URL, *, migrate: bool = True) -> Engine:
    """An engine for `url`, its schema brought up to the newest migration first."""
    parsed = database_url(url)
    where = parsed.render_as_string(hide_password=True)
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {}
    if backend == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
        if backend == "postgresql":
            kwargs["connect_args"] = {"application_name": "digest-bot", "connect_timeout": 10}
    try:
        engine = create_engine(parsed, **kwargs)
    except ModuleNotFoundError as err:
        hint = (
            " PostgreSQL needs the extra: pip install 'digest-bot[postgres]'"
            if backend == "postgresql"
            else ""
        )
        raise StoreError(f"cannot open the store at {where}: {err}.{hint}") from err
    except Exception as err:  # a bad option: say which setting to fix
        raise StoreError(f"cannot open the store at {where}: {err}") from err
    locks.configure(engine)
    if migrate:
        from bot.store.migrate import upgrade

        try:
            upgrade(engine)
        except StoreError:
            raise
        except Exception as err:
            reason = known_problem(err, where=f"the store at {where}")
            raise StoreError(reason or f"cannot bring the store's tables up to date at {where}: {err}") from err
    return engine


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
