"""Fixtures shared by every test: archives, stores, and the real archive when present."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.store import Catalog, open_engine, sync_archive

PROJECT = Path(__file__).resolve().parent.parent
EXAMPLE_ARCHIVE = PROJECT / "examples" / "archive"
SHARED = PROJECT.parent / "shared"
SCHEMAS = SHARED / "schemas"
BLOCK_KIT_SCHEMA = SCHEMAS / "slack-block-kit.schema.json"

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
    from bot.render.limits import validate_blocks

    return validate_blocks(blocks, schema_path=BLOCK_KIT_SCHEMA, exact=exact)


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
        if name.startswith(("DIGEST_", "SLACK_")) and name != "DIGEST_TEST_ARCHIVE":
            monkeypatch.delenv(name)
    monkeypatch.delenv("PORT", raising=False)


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


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    """A fresh SQLite store in a temporary folder."""
    eng = open_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
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
def example_store(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The example archive indexed once per session (read-only use)."""
    path = tmp_path_factory.mktemp("example-store") / "store.sqlite3"
    eng = open_engine(f"sqlite:///{path}")
    sync_archive(eng, EXAMPLE_ARCHIVE)
    return Catalog(eng)
