"""Schema migrations: exactly the models' tables, old stores adopted, replicas racing safely."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner
from sqlalchemy import Engine, func, inspect, select

from bot.cli import main
from bot.store import Catalog, migrate, open_engine, sync_archive
from bot.store.schema import metadata, papers, state

pytestmark = pytest.mark.backends("sqlite", "postgresql")

PROJECT = Path(__file__).resolve().parents[2]
#: Tables a store made before the publisher existed has (`create_all` of that time).
ARCHIVE_ONLY = (
    "state",
    "archive_files",
    "topics",
    "site_files",
    "digests",
    "texts",
    "entries",
    "papers",
    "paper_topics",
    "removed_papers",
)


def schema_diff(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def test_migrations_create_exactly_the_models_tables(engine: Engine) -> None:
    assert migrate.current(engine) == migrate.head()
    assert schema_diff(engine) == []


def test_downgrade_to_nothing_and_up_again(engine: Engine) -> None:
    with engine.begin() as conn:
        command.downgrade(migrate.config(conn), "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert schema_diff(engine) == []


def test_opening_a_current_store_runs_no_migration(db_url: str) -> None:
    open_engine(db_url).dispose()
    engine = open_engine(db_url, migrate=False)
    try:
        assert migrate.upgrade(engine) == (migrate.head(), migrate.head())
    finally:
        engine.dispose()


@pytest.mark.parametrize("tables", ["all", "archive only"])
def test_a_store_made_before_migrations_is_adopted_with_its_data(
    db_url: str, example_archive: Path, tables: str
) -> None:
    """Stores made by `create_all` have no alembic_version; their data must stay."""
    legacy = open_engine(db_url, migrate=False)
    wanted = (
        metadata.sorted_tables if tables == "all" else [metadata.tables[t] for t in ARCHIVE_ONLY]
    )
    metadata.create_all(legacy, tables=wanted)
    with legacy.begin() as conn:  # what the pre-migration sync wrote
        conn.execute(state.insert().values(key="archive_version", value="7"))
    legacy.dispose()

    engine = open_engine(db_url)
    try:
        assert migrate.current(engine) == migrate.head()
        assert schema_diff(engine) == []
        assert Catalog(engine).version() == 7
    finally:
        engine.dispose()


def test_replicas_starting_together_migrate_once(db_url: str) -> None:
    """Four processes open one empty store at the same moment: one migrates, all start."""
    script = (
        "import sys, logging; logging.basicConfig(level=logging.INFO, format='%(message)s');"
        "from bot.store import open_engine; open_engine(sys.argv[1]).dispose()"
    )
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, db_url],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0] * 4, outputs
    migrated = [err for _, err in outputs if "store schema migrated from nothing" in err]
    assert len(migrated) == 1, outputs
    engine = open_engine(db_url, migrate=False)
    try:
        assert migrate.current(engine) == migrate.head() and schema_diff(engine) == []
    finally:
        engine.dispose()


def test_db_commands(db_url: str, example_archive: Path, tmp_path: Path) -> None:
    def db(*args: str) -> dict[str, object]:
        result = CliRunner().invoke(
            main,
            ["--env-file", str(tmp_path / "none.env"), "db", *args, "--json"],
            env={"DIGEST_DB_URL": db_url},
        )
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    assert db("current") | {"store": None} == {
        "store": None,
        "current": None,
        "head": migrate.head(),
        "up_to_date": False,
    }
    assert db("upgrade")["after"] == migrate.head()
    assert db("upgrade")["before"] == migrate.head()
    assert db("current")["up_to_date"] is True
    engine = open_engine(db_url)
    try:
        sync_archive(engine, example_archive)
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(papers)).scalar_one() == 21
    finally:
        engine.dispose()


def test_the_migrations_ship_in_the_package() -> None:
    """An installed bot must find its migrations (package data, not the checkout)."""
    pyproject = (PROJECT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"migrations/*.py"' in pyproject and '"migrations/versions/*.py"' in pyproject
    assert (migrate.MIGRATIONS / "env.py").is_file()
    assert min(p.name for p in (migrate.MIGRATIONS / "versions").glob("*.py")).startswith("0001")
