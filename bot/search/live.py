"""Keep a search engine in step with the store, for every bot replica.

The store's version moves whenever any replica (or `digest-bot index`) syncs
the archive; `engine()` notices and applies just the changed papers, so a
replica sees another's changes on its next search without rebuilding.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from bot.search.engine import SearchEngine
from bot.store import Catalog


class LiveSearch:
    """A `SearchEngine` built from the store once, then updated incrementally.

    `min_interval` (seconds) bounds how often the store's version is read:
    0 checks on every call (one small SELECT), more trades freshness for
    fewer queries under load.
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        min_interval: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.catalog = catalog
        self.min_interval = min_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._engine: SearchEngine | None = None
        self._version = -1
        self._checked_at = float("-inf")

    @property
    def version(self) -> int:
        """The store version the engine reflects (-1 before the first build)."""
        return self._version

    def engine(self) -> SearchEngine:
        """The engine, brought up to date with the store first when the store moved."""
        engine = self._engine
        if engine is not None and self._clock() - self._checked_at < self.min_interval:
            return engine
        with self._lock:
            if self._engine is None:
                version = self.catalog.version()
                self._engine = SearchEngine.build(self.catalog.iter_papers(), self._topics())
                self._version = version
            else:
                self._catch_up(self._engine)
            self._checked_at = self._clock()
            return self._engine

    def refresh(self) -> bool:
        """Check the store now; True when changes were applied."""
        before = self._version
        self._checked_at = float("-inf")
        self.engine()
        return self._version != before

    def _catch_up(self, engine: SearchEngine) -> None:
        if self.catalog.version() == self._version:
            return
        version, changed, removed = self.catalog.changes_since(self._version)
        if version != self._version:
            engine.update(changed, removed, topics=self._topics())
            self._version = version

    def _topics(self) -> list:
        return [s.topic for s in self.catalog.topics()]
