"""Keep a search engine in step with the store, for every bot replica, across restarts.

The store's version moves whenever any replica (or `digest-bot index`) syncs
the archive; `engine()` notices and applies just the changed papers, so a
replica sees another's changes on its next search without rebuilding.

With an index folder the engine lives on disk: a restart opens it (in
milliseconds, whatever the archive's size) and catches up from the version
it recorded. It is rebuilt only when it cannot serve: another format, another
store or archive folder (`Catalog.archive_identity`), or a version ahead of
the store's. A rebuild goes into a fresh subfolder and `CURRENT` is switched
to it when it is complete, so a crash mid-build leaves the old index in use.
Several processes may share the folder (a `flock` serialises builds; tantivy
allows one writer at a time and a busy writer just postpones a catch-up).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from bot.model import Topic
from bot.progress import Progress, ProgressLines
from bot.search.disk_index import new_meta
from bot.search.engine import Options, SearchEngine
from bot.store import Catalog

log = logging.getLogger(__name__)

CURRENT = "CURRENT"
#: Written into every index folder this bot makes. A rebuild removes old folders holding it
#: and nothing else: DIGEST_INDEX_DIR may be a folder the user keeps other things in.
OWNER_MARKER = "DIGEST-BOT-INDEX"
#: The meta file every index folder of earlier versions holds (they wrote no marker).
LEGACY_META = "digest-bot.json"
#: How long a catch-up waits for another process's writer on a shared folder (seconds).
WRITER_WAIT = 10.0
#: A catch-up with at least this many papers says how far it is (smaller ones take a moment).
LARGE_CATCH_UP = 2_000


class LiveSearch:
    """A `SearchEngine` built from the store once (or opened from disk), then updated.

    `min_interval` (seconds) bounds how often the store's version is read:
    0 checks on every call (one small SELECT), more trades freshness for
    fewer queries under load. `index_dir` None keeps the index in a temporary
    folder for this process only. A build (at a million papers, minutes) says
    how far it is through `progress`; without one, as log lines (INFO), so a
    bot's first start never goes silent while it builds.
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        index_dir: Path | None = None,
        min_interval: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        options: Options | None = None,
        progress: Progress | None = None,
    ) -> None:
        self.catalog = catalog
        self.index_dir = Path(index_dir) if index_dir is not None else None
        self.min_interval = min_interval
        self.options = options or Options()
        self.progress = progress
        self._clock = clock
        self._lock = threading.Lock()
        self._engine: SearchEngine | None = None
        self._version = -1
        self._checked_at = float("-inf")
        self.opened: str = ""  # "opened" or "built": what the first call did (for logs and benches)

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
            if self._engine is None or not self._catch_up(self._engine, serving=True):
                self._engine = self._open_or_build()
            self._checked_at = self._clock()
            return self._engine

    def refresh(self) -> bool:
        """Check the store now; True when changes were applied."""
        before = self._version
        self._checked_at = float("-inf")
        self.engine()
        return self._version != before

    # Opening ----------------------------------------------------------------

    def _open_or_build(self) -> SearchEngine:
        archive_id, root = self.catalog.archive_identity()
        topics = self._topics()
        if self.index_dir is None:
            return self._build(None, archive_id, root, topics)
        try:
            self.index_dir.mkdir(parents=True, exist_ok=True)
            (self.index_dir / "build.lock").touch()
        except OSError as err:
            # Lookups must still work: build for this process only, and say where to look.
            log.warning("search index folder %s cannot be used (%s); keeping the index in a temporary "
                        "folder for this process (set DIGEST_INDEX_DIR to a writable folder)", self.index_dir, err)
            self.index_dir = None
            return self._build(None, archive_id, root, topics)
        first = self._current()
        engine = self._try_open(first, archive_id, root, topics)
        if engine is not None:
            return engine
        with self._build_lock():
            # Another process may have finished a build while this one waited.
            again = self._current()
            engine = self._try_open(again, archive_id, root, topics) if again != first else None
            if engine is not None:
                return engine
            folder = self.index_dir / f"index-{uuid.uuid4().hex[:12]}"
            claim_folder(folder)
            engine = self._build(folder, archive_id, root, topics)
            self._switch(folder)
            return engine

    def _try_open(self, folder: Path | None, archive_id: str, root: str, topics: list[Topic]) -> SearchEngine | None:
        """The index in `folder` caught up with the store, if it can serve this store."""
        if folder is None:
            return None
        try:
            engine = SearchEngine.open(folder, topics, options=self.options)
        except (OSError, ValueError) as err:
            log.warning("search index at %s cannot be opened (%s); rebuilding", folder, err)
            return None
        meta = engine.meta
        store_version = self.catalog.version()
        if meta is None:
            why: str | None = "it has no digest-bot.json"
        elif meta.version > store_version:
            why = f"it reflects store version {meta.version}, ahead of the store's {store_version}"
        else:
            why = meta.mismatch(archive_id, root)
        if why is not None or meta is None:
            log.info("search index at %s cannot serve this store (%s); rebuilding", folder, why)
            return None
        self._version = meta.version
        self._catch_up(engine)
        self.opened = "opened"
        log.info("search index opened at %s (%d papers, store version %d)", folder, len(engine), self._version)
        return engine

    def _build(self, folder: Path | None, archive_id: str, root: str, topics: list[Topic]) -> SearchEngine:
        started = time.perf_counter()
        version = self.catalog.version()
        total = self.catalog.count_papers()
        log.info("building the search index in %s: %d papers (store version %d)",
                 folder if folder is not None else "a temporary folder", total, version)
        if self.progress is not None:
            self.progress(0, total, "learning translations and the semantic space")
        else:
            log.info("search index: learning translations and the semantic space, then writing %d papers", total)
        engine = SearchEngine.build(
            self.catalog.iter_papers(), topics, path=folder, meta=new_meta(archive_id, root, version),
            options=self.options, progress=written_of(self._progress, total),
        )
        self._version = version
        self.opened = "built"
        log.info("search index built: %d papers in %.1f s", len(engine), time.perf_counter() - started)
        # Papers indexed while the build read the store are picked up now.
        self._catch_up(engine)
        return engine

    def _current(self) -> Path | None:
        assert self.index_dir is not None
        try:
            name = (self.index_dir / CURRENT).read_text(encoding="utf-8").strip()
        except OSError:
            return None
        path = self.index_dir / name
        return path if name and path.is_dir() else None

    def _switch(self, folder: Path) -> None:
        """Point CURRENT at the new folder atomically, then remove the bot's older builds
        (only folders it made: `made_by_bot`; whatever else is there stays)."""
        assert self.index_dir is not None
        tmp = self.index_dir / f"{CURRENT}.{os.getpid()}"
        tmp.write_text(folder.name, encoding="utf-8")
        os.replace(tmp, self.index_dir / CURRENT)
        for other in self.index_dir.iterdir():
            if other != folder and made_by_bot(other):
                shutil.rmtree(other, ignore_errors=True)

    @contextlib.contextmanager
    def _build_lock(self) -> Iterator[None]:
        assert self.index_dir is not None
        with open(self.index_dir / "build.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # Catching up ------------------------------------------------------------

    def _replaced(self, engine: SearchEngine) -> bool:
        """True when another process sharing the folder switched CURRENT to a new build
        (after a store or archive change): this engine's folder is gone or going."""
        if self.index_dir is None:
            return False
        current = self._current()
        if current is not None and current.resolve() == engine.path.resolve():
            return False
        log.info("search index at %s was replaced by another process; opening %s", engine.path, current)
        return True

    def _catch_up(self, engine: SearchEngine, *, serving: bool = False) -> bool:
        """Apply the store's changes since our version, or adopt them when another process
        sharing the folder applied them already; a busy writer is waited for briefly.

        False when this engine cannot follow the store any more (the store or archive
        folder changed identity, or another process removed the folder mid-update, or,
        for the engine being `serving`, switched CURRENT to a new build): the caller
        opens or builds the right index instead of serving a stale one."""
        if self.catalog.version() == self._version:
            return True
        version, changed, removed = self.catalog.changes_since(self._version)
        if version == self._version:
            return True
        if serving and self._replaced(engine):  # only when there is something to apply: no file read per search
            return False
        archive_id, root = self.catalog.archive_identity()
        built_for = engine.meta
        if built_for is not None and not built_for.matches(archive_id, root):
            log.info("the store now holds another archive (%s); reopening the search index", root)
            return False
        deadline = self._clock() + WRITER_WAIT
        while True:
            meta = engine.meta
            if meta is not None and meta.matches(archive_id, root) and version <= meta.version <= self.catalog.version():
                engine.reload()  # another process sharing the folder got there first
                self._version = meta.version
                return True
            told: Callable[[int], None] | None = None
            if len(changed) >= LARGE_CATCH_UP:
                log.info("updating the search index at %s: %d papers changed", engine.path, len(changed))
                told = written_of(self._progress, len(changed))
            try:
                engine.update(changed, removed, topics=self._topics(), meta=new_meta(archive_id, root, version),
                              progress=told)
            except ValueError as err:
                if self.index_dir is not None and (not engine.path.is_dir() or (serving and self._replaced(engine))):
                    return False
                if "LockBusy" not in str(err) or self._clock() > deadline:
                    log.warning("search index not updated (%s); serving version %d for now", err, self._version)
                    return True
                time.sleep(0.05)
                continue
            self._version = version
            return True

    def _topics(self) -> list[Topic]:
        return [s.topic for s in self.catalog.topics()]

    def _progress(self) -> Progress:
        """The caller's progress, else new lines in the log (`run`, a rebuild while serving)."""
        if self.progress is not None:
            return self.progress
        return ProgressLines(lambda line: log.info("%s", line), "search index", "papers")


def written_of(make: Callable[[], Progress], total: int) -> Callable[[int], None]:
    """The count of papers a write reports (`DiskIndex.write`) as `(done, total, label)` progress,
    made when writing starts: the time left is measured from then, not from the learning before."""
    made: list[Progress] = []

    def told(written: int) -> None:
        if not made:
            made.append(make())
        made[0](written, max(total, written), "")

    return told


def claim_folder(folder: Path) -> None:
    """Make a new index folder and mark it as the bot's own before anything is written in it."""
    folder.mkdir(parents=True)
    (folder / OWNER_MARKER).write_text(
        "A search index folder made by digest-bot; it removes it when it builds a newer one.\n", encoding="utf-8"
    )


def made_by_bot(path: Path) -> bool:
    """Is `path` an index folder this bot made (its marker, or an earlier version's meta file)?

    Never judged by name: a user's `index-my-notes/` beside the index is not the bot's."""
    if path.is_symlink() or not path.is_dir():
        return False
    return (path / OWNER_MARKER).is_file() or ((path / LEGACY_META).is_file() and (path / "meta.json").is_file())
