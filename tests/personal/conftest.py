"""Tests of the personal layer: follows, saved papers, forget me, the weekly DMs, and its Slack
listeners end to end.

`search` is this folder's: the weekly DM pass matches each person's follows with it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.search import LiveSearch, SearchEngine
from bot.store import Catalog


@pytest.fixture
def search(posted_week: Engine, tmp_path: Path) -> SearchEngine:
    """The search engine over the posted week's store, its index in the test's folder."""
    return LiveSearch(Catalog(posted_week), index_dir=tmp_path / "index").engine()
