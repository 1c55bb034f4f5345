"""Fixtures shared by every test: archives, stores, the real archive when present, the
fake Slack (`fake_slack`, also called `fake`) and the example archive's newest week
posted to it (`posted_week`).

Stores come on two backends. A module (or test) marked
`@pytest.mark.backends("sqlite", "postgresql")` runs each test that uses the
`engine` (or `db_url`) fixture once per backend; unmarked tests use SQLite.
PostgreSQL comes from DIGEST_TEST_PG_URL, an admin URL (`.ci/run` starts a
server and sets it): each test gets a database of its own, dropped afterwards.
Without it the PostgreSQL variants are skipped, saying why.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL

from bot.config import load_settings
from bot.search import SearchEngine
from bot.slack.client import posting_client
from bot.store import Catalog, open_engine, sync_archive
from bot.store.database import database_url
from tests.support.block_kit import default_schema_path, validate_blocks
from tests.support.fake_slack import BOT_TOKEN, FakeSlack
from tests.support.publishing import publish

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE_ARCHIVE = PROJECT / "examples" / "archive"
SHARED = PROJECT.parent / "shared"
SCHEMAS = SHARED / "schemas"
#: $SLACK_BLOCK_KIT_SCHEMA, else SCHEMAS (as for the fake Slack).
BLOCK_KIT_SCHEMA = default_schema_path()

#: For tests whose point is the schema itself: skipped, with the reason, on a clone without it.
requires_block_kit_schema = pytest.mark.skipif(
    not BLOCK_KIT_SCHEMA.is_file(), reason=f"Block Kit schema not found at {BLOCK_KIT_SCHEMA}"
)


def schema_problems(blocks: list[dict[str, object]], *, exact: bool = False) -> list[str]:
    """Block Kit schema errors of `blocks`; none to report when the schema file is absent.

    Every message is also checked with `violations()` (Slack's limits), which
    needs no file, so a clone without ../shared still checks what it can.
    """
    if not BLOCK_KIT_SCHEMA.is_file():
        return []
    return validate_blocks(blocks, schema_path=BLOCK_KIT_SCHEMA, exact=exact)
#: Property tests in CI draw the same examples on every run (`derandomize`: the seed
#: comes from each test's code) and keep no example database, so a CI result never
#: depends on an earlier run's failures. `.ci/run` sets CI; HYPOTHESIS_PROFILE picks
#: a profile by name. Locally the default profile explores new examples each run.
hypothesis_settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
_PROFILE = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else None)
if _PROFILE:
    hypothesis_settings.load_profile(_PROFILE)

#: Read once, before any test's environment is cleaned.
PG_ADMIN_URL = os.environ.get("DIGEST_TEST_PG_URL", "").strip()
BACKENDS = ("sqlite", "postgresql")


def real_archive_path() -> Path | None:
    """The real digest archive: DIGEST_TEST_ARCHIVE, else ../shared/archive."""
    configured = os.environ.get("DIGEST_TEST_ARCHIVE")
    candidates = [Path(configured)] if configured else []
    candidates += [SHARED / "archive", Path.cwd().parent / "shared" / "archive"]
    for candidate in candidates:
        if (candidate / "_all").is_dir():
            return candidate.resolve()
    return None


@pytest.fixture(autouse=True)
def _isolated_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads the developer's own .env or Slack settings by accident."""
    for name in list(os.environ):
        if name.startswith(("DIGEST_", "SLACK_")) and not name.startswith("DIGEST_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.delenv("PORT", raising=False)


#: Tools' own caches at the checkout's top (pytest, hypothesis's example database, coverage).
TOOL_CACHES = frozenset({".pytest_cache", ".hypothesis", ".coverage", ".mypy_cache", ".ruff_cache"})


def checkout_files() -> set[str]:
    """The checkout's top-level names and every path under its data/: what a test must not add to."""
    found = {p.name for p in PROJECT.iterdir() if p.name not in TOOL_CACHES}
    data = PROJECT / "data"
    if data.is_dir():
        for folder, _dirs, files in os.walk(data):
            found.update(os.path.relpath(os.path.join(folder, f), PROJECT) for f in files)
    return found


@pytest.fixture(autouse=True)
def _writes_nothing_into_the_checkout() -> Iterator[None]:
    """Tests write only to temporary folders: a store, search index or file left in the
    checkout (its data/, a CURRENT beside README.md) fails the test that made it."""
    before = checkout_files()
    yield
    added = sorted(checkout_files() - before)
    if added:
        pytest.fail(
            f"the test wrote into the checkout ({PROJECT}): {', '.join(added[:10])}; "
            "give the store and DIGEST_INDEX_DIR a tmp_path",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def real_archive() -> Path:
    """The real archive, or a skip that says where it was looked for."""
    path = real_archive_path()
    if path is None:
        pytest.skip(
            "real digest archive not found: set DIGEST_TEST_ARCHIVE or put it at ../shared/archive",
        )
    return path


@pytest.fixture
def example_archive(tmp_path: Path) -> Path:
    """A private copy of the bundled example archive, free to change."""
    target = tmp_path / "archive"
    shutil.copytree(EXAMPLE_ARCHIVE, target)
    return target


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run tests marked `backends(...)` once per backend named."""
    marker = metafunc.definition.get_closest_marker("backends")
    if marker is not None and "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", marker.args or BACKENDS, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The store's backend: "sqlite" unless the test is marked to run on others."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[Engine]:
    """An AUTOCOMMIT engine on the PostgreSQL server, or a skip that says how to get one."""
    if not PG_ADMIN_URL:
        pytest.skip(
            "PostgreSQL variant: set DIGEST_TEST_PG_URL to an admin URL, e.g. "
            "postgresql+psycopg://postgres@localhost/postgres (.ci/run starts a server and sets it)"
        )
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("PostgreSQL variant: psycopg is not installed (pip install -e '.[test]')")
    admin = create_engine(database_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    yield admin
    admin.dispose()


def new_pg_database(admin: Engine) -> tuple[URL, str]:
    """A new empty database on the test server: (its URL, its name)."""
    name = f"digest_test_{secrets.token_hex(6)}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    return admin.url.set(database=name), name


def drop_pg_database(admin: Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The URL of a fresh, empty store on the test's backend (DIGEST_DB_URL for subprocesses)."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.sqlite3'}"
        return
    admin: Engine = request.getfixturevalue("pg_admin")
    url, name = new_pg_database(admin)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        drop_pg_database(admin, name)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A fresh store (SQLite in a temporary folder, or its own PostgreSQL database)."""
    eng = open_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture(scope="session")
def real_store(real_archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The real archive indexed once per session into its own store (read-only use)."""
    path = tmp_path_factory.mktemp("real-store") / "store.sqlite3"
    eng = open_engine(f"sqlite:///{path}")
    sync_archive(eng, real_archive)
    return Catalog(eng)


@pytest.fixture(scope="session")
def real_search(real_store: Catalog) -> SearchEngine:
    """The search engine over the real archive, built once per session (read-only use)."""
    return SearchEngine.build(real_store.iter_papers(), [s.topic for s in real_store.topics()])


@pytest.fixture(scope="session")
def example_store(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The example archive indexed once per session (read-only use)."""
    path = tmp_path_factory.mktemp("example-store") / "store.sqlite3"
    eng = open_engine(f"sqlite:///{path}")
    sync_archive(eng, EXAMPLE_ARCHIVE)
    return Catalog(eng)


@pytest.fixture
def fake_slack_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """What `fake_slack` builds its FakeSlack with: the test module's `FAKE_SLACK_OPTIONS`
    (people, channels, scopes), else Slack's defaults. A module overrides this fixture for
    options made per test (a clock), so no test builds a fake of its own."""
    return dict(getattr(request.module, "FAKE_SLACK_OPTIONS", {}))


@pytest.fixture
def fake_slack(fake_slack_options: dict[str, Any]) -> Iterator[FakeSlack]:
    """The fake Slack on a free port for one test, stopped after it."""
    with FakeSlack(**fake_slack_options) as fake:
        yield fake


@pytest.fixture
def fake(fake_slack: FakeSlack) -> FakeSlack:
    """`fake_slack` by the short name most tests use."""
    return fake_slack


@pytest.fixture(scope="module")
def module_fake_slack(request: pytest.FixtureRequest) -> Iterator[FakeSlack]:
    """One fake Slack for a whole module (`FAKE_SLACK_OPTIONS` as for `fake_slack`), for a
    module whose tests share one running bot: the bot keeps its Slack for its lifetime."""
    with FakeSlack(**getattr(request.module, "FAKE_SLACK_OPTIONS", {})) as fake:
        yield fake


#: When `posted_week` posts: the example archive's newest week (2025-01-17) is due.
POSTED_WEEK_NOW = dt.datetime(2025, 1, 24, 9, tzinfo=dt.UTC)


@pytest.fixture
def posted_week_settings() -> list[dict[str, str]]:
    """The channel settings `posted_week` posts under, one run each (a module overrides it)."""
    return [{"DIGEST_CHANNEL": "C0SD"}]


@pytest.fixture
def posted_week(
    engine: Engine, example_archive: Path, fake_slack: FakeSlack, posted_week_settings: list[dict[str, str]]
) -> Engine:
    """The example archive in `engine` and its newest week posted to `fake_slack`, as the
    weekly job posts it at POSTED_WEEK_NOW: what recaps, DMs and replies start from."""
    sync_archive(engine, example_archive)
    client = posting_client(BOT_TOKEN, fake_slack.api_url)
    for channels in posted_week_settings:
        settings = load_settings(None, **channels)
        report = publish(engine, client, settings, POSTED_WEEK_NOW)
        assert report.ok and report.posted, report
    return engine
