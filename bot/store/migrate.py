"""Schema migrations (Alembic), run by `open_engine` and `digest-bot db`.

The migration scripts ship inside the package (`bot/store/migrations/`), so an
installed bot can migrate its store without a checkout or an `alembic.ini`.
`upgrade` is cheap when the store is current (one SELECT of its revision) and
otherwise runs under `locks.exclusive`, so of several replicas starting
together one migrates and the others find the work done.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from bot.store import locks

log = logging.getLogger(__name__)
# Alembic says "Context impl SQLiteImpl." at INFO each time a store is opened;
# what matters (a migration ran) is logged here instead.
if logging.getLogger("alembic").level == logging.NOTSET:
    logging.getLogger("alembic").setLevel(logging.WARNING)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
#: The advisory lock name migrations run under.
LOCK_NAME = "schema-migration"


def config(connection: Connection | None = None) -> Config:
    """An Alembic config for the packaged scripts, bound to `connection` when given."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("version_path_separator", "os")
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@functools.cache
def head() -> str:
    """The newest revision the package ships."""
    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None, "no migration scripts found"
    return revision


def current(engine: Engine) -> str | None:
    """The store's revision (None: an empty or pre-migrations store)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate the store to `revision`; (revision before, revision after).

    A store created before migrations existed (tables, but no
    `alembic_version`) is adopted by the first revision, which creates only
    the tables it lacks: its data stays.
    """
    before = current(engine)
    if revision == "head" and before == head():
        return before, before
    with locks.exclusive(engine, LOCK_NAME) as conn:
        # Another replica may have migrated while this one waited for the lock.
        before = MigrationContext.configure(conn).get_current_revision()
        if not (revision == "head" and before == head()):
            command.upgrade(config(conn), revision)
        after = MigrationContext.configure(conn).get_current_revision()
    if after != before:
        log.info("store schema migrated from %s to %s", before or "nothing", after)
    return before, after


def revision(engine: Engine, message: str, *, autogenerate: bool = True) -> str:
    """Write a new migration script (for developers): what the models changed since head.

    The store must be at head first, so the script holds only the new changes.
    """
    latest = head()
    number = f"{int(latest) + 1:04d}" if latest.isdigit() else None  # 0001, 0002, ...
    with engine.connect() as conn:
        script = command.revision(
            config(conn), message=message, autogenerate=autogenerate, rev_id=number
        )
    if isinstance(script, list):  # pragma: no cover - only with several heads
        script = script[0]
    assert script is not None
    return str(script.path)
