"""`digest-bot db upgrade | current | revision`: the store's schema migrations.

Every command opens the store migrated already (`open_engine`), so these are
for operators who want to migrate on purpose before rolling out replicas, or
to see where a store stands.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
from alembic.util import CommandError
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.cli.archive_cmds import json_option
from bot.cli.context import CliContext, fail, pass_cli, print_json
from bot.store import StoreError, migrate, open_engine
from bot.store.database import database_url


def _engine(cli: CliContext) -> Engine:
    """The store as it is: not migrated on opening, so `current` tells the truth."""
    try:
        return open_engine(cli.settings.db_url, migrate=False)
    except StoreError as error:
        fail(str(error))


def _where(cli: CliContext) -> str:
    return database_url(cli.settings.db_url).render_as_string(hide_password=True)


@click.group()
def db() -> None:
    """The store's schema: migrate it, or show its revision (DIGEST_DB_URL)."""


@db.command()
@json_option
@pass_cli
def upgrade(cli: CliContext, as_json: bool) -> None:
    """Migrate the store to the newest schema (safe to run from several replicas at once).

    A store made before migrations existed is adopted as it is. The bot also
    does this by itself when it starts.
    """
    engine = _engine(cli)
    try:
        before, after = migrate.upgrade(engine)
    except (SQLAlchemyError, CommandError) as error:  # a server gone, a bad revision: one line
        fail(f"cannot migrate the store at {_where(cli)}: {error}")
    finally:
        engine.dispose()
    if as_json:
        print_json({"store": _where(cli), "before": before, "after": after})
    elif before == after:
        cli.out.print(f"{_where(cli)}: already at revision {after}")
    else:
        cli.out.print(f"{_where(cli)}: migrated from {before or 'an empty store'} to {after}")


@db.command()
@json_option
@pass_cli
def current(cli: CliContext, as_json: bool) -> None:
    """Show the store's schema revision and the newest one this version of the bot has."""
    engine = _engine(cli)
    try:
        revision = migrate.current(engine)
    except SQLAlchemyError as error:
        fail(f"cannot read the store at {_where(cli)}: {error}")
    finally:
        engine.dispose()
    head = migrate.head()
    if as_json:
        print_json(
            {
                "store": _where(cli),
                "current": revision,
                "head": head,
                "up_to_date": revision == head,
            }
        )
        return
    state = "up to date" if revision == head else f"behind {head}: run `digest-bot db upgrade`"
    cli.out.print(f"{_where(cli)}: revision {revision or 'none'} ({state})")


@db.command()
@click.argument("message")
def revision(message: str) -> None:
    """For developers: write the next migration script from the models' changes.

    Compares the tables on the store's metadata (bot/store/schema.py, posts.py, ...) with a
    scratch SQLite store at the newest revision and writes what differs to
    bot/store/migrations/versions/. Review it before committing.
    """
    with tempfile.TemporaryDirectory() as scratch:
        engine = open_engine(f"sqlite:///{Path(scratch) / 'scratch.sqlite3'}")
        try:
            path = migrate.revision(engine, message)
        finally:
            engine.dispose()
    click.echo(path)
