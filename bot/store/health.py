"""Is the store still there, readable and writable? And what to say when it is not.

SQLite keeps writing to a database file that was deleted while it was open:
the bot would go on "recording" posts in a file nobody will ever read again,
and after a restart post the week again. `StoreWatch` remembers the file's
identity (device and inode) when the store is opened and checks it before
every transaction (one `stat`) and every few seconds in the background: a
file that vanished or was replaced raises `StoreLost`, and the owner (the
running bot) is told once, so it can stop with a clear error instead.

`StoreWatch.probe` is what `/healthz` reports: the file, a read, and a write
that is rolled back (the write lock taken and released; a store that is
read-only or corrupt fails here). A lock held by another process (an
`index`) is "busy", not a failure. `describe` (`bot.store.errors`) turns the database driver's
errors into one sentence that says what is wrong with the store.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, OperationalError

from bot.store.errors import StoreError, describe
from bot.store.locks import BEGIN_IMMEDIATE, sqlite_path

log = logging.getLogger(__name__)

#: Seconds between background checks of the store's file.
WATCH_INTERVAL = 5.0
#: Milliseconds the write probe waits for the lock before saying "busy".
PROBE_BUSY_MS = 1000
#: Seconds a probe's result is reused (`/healthz` may be polled often).
PROBE_CACHE = 2.0


class StoreLost(StoreError):
    """The store's file was deleted or replaced while the bot had it open."""


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """What a probe found; `ok` is False when the store cannot serve (not merely busy)."""

    ok: bool
    read: str
    write: str
    problem: str | None = None
    checked_at: float = field(default_factory=time.monotonic)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": self.ok, "read": self.read, "write": self.write}
        if self.problem:
            data["problem"] = self.problem
        return data


class StoreWatch:
    """Watches one engine's store: its file's identity, and reads and writes on demand."""

    def __init__(self, engine: Engine, *, on_lost: Callable[[str], None] | None = None) -> None:
        self.engine = engine
        self.path = sqlite_path(engine)
        self._identity = self._stat_identity() if self.path is not None else None
        self._on_lost = on_lost
        self._lost: str | None = None
        self._lock = threading.Lock()
        self._cached: StoreHealth | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if self.path is not None:
            event.listen(engine, "begin", self._before_transaction)

    # ---- the file -----------------------------------------------------------------

    def _stat_identity(self) -> tuple[int, int] | None:
        assert self.path is not None
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return st.st_dev, st.st_ino

    def file_problem(self) -> str | None:
        """Why the store's file is not the one opened (None: it is, or there is no file)."""
        if self.path is None:
            return None
        if self._lost is not None:
            return self._lost
        now = self._stat_identity()
        if now == self._identity:
            return None
        if now is None:
            problem = f"the store's file {self.path} was deleted while the bot was running"
        else:
            problem = f"the store's file {self.path} was replaced by another file while the bot was running"
        self._lose(problem + "; stopping, so that nothing is written where no one will read it again")
        return self._lost

    def _lose(self, problem: str) -> None:
        with self._lock:
            if self._lost is not None:
                return
            self._lost = problem
        log.critical("%s", problem)
        if self._on_lost is not None:
            try:
                self._on_lost(problem)
            except Exception:
                log.exception("while stopping after the store was lost")

    def check(self) -> None:
        """Raise `StoreLost` when the store's file is gone or replaced."""
        problem = self.file_problem()
        if problem is not None:
            raise StoreLost(problem)

    def _before_transaction(self, conn: Connection) -> None:
        self.check()

    def start(self, interval: float = WATCH_INTERVAL) -> StoreWatch:
        """Check the file every `interval` seconds in a daemon thread (idempotent)."""
        if self.path is None or self._thread is not None:
            return self

        def loop() -> None:
            while not self._stop.wait(interval):
                if self.file_problem() is not None:
                    return

        self._thread = threading.Thread(target=loop, name="store-watch", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self.path is not None:
            event.remove(self.engine, "begin", self._before_transaction)

    @property
    def lost(self) -> str | None:
        return self._lost

    # ---- probes -------------------------------------------------------------------

    def probe(self) -> StoreHealth:
        """The file, a read and a rolled-back write; reused for `PROBE_CACHE` seconds."""
        cached = self._cached
        if cached is not None and time.monotonic() - cached.checked_at < PROBE_CACHE:
            return cached
        self._cached = result = self._probe()
        return result

    def _probe(self) -> StoreHealth:
        problem = self.file_problem()
        if problem is not None:
            return StoreHealth(False, "lost", "lost", problem)
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT value FROM state WHERE key = 'archive_version'")).first()
        except DBAPIError as err:
            return StoreHealth(False, "failed", "not tried", describe(err))
        except StoreLost as err:
            return StoreHealth(False, "lost", "lost", str(err))
        try:
            write = self._write_probe()
        except OperationalError as err:
            if "locked" in str(err).lower() or "busy" in str(err).lower():
                return StoreHealth(True, "ok", "busy (another process holds the write lock)")
            return StoreHealth(False, "ok", "failed", describe(err))
        except DBAPIError as err:
            return StoreHealth(False, "ok", "failed", describe(err))
        except StoreLost as err:
            return StoreHealth(False, "lost", "lost", str(err))
        return StoreHealth(True, "ok", write)

    def _write_probe(self) -> str:
        """Take the write lock and make a change, then roll it back."""
        with self.engine.connect() as conn:
            if conn.dialect.name == "sqlite":
                _pragma(conn, f"busy_timeout={PROBE_BUSY_MS}")  # outside any transaction
                conn.execution_options(**{BEGIN_IMMEDIATE: True})
            try:
                trans = conn.begin()
                try:
                    if conn.dialect.name == "postgresql":
                        read_only = conn.exec_driver_sql("SHOW transaction_read_only").scalar()
                        if read_only == "on":
                            raise OperationalError("SHOW transaction_read_only", {}, Exception("the database is read-only (a standby?)"))
                    conn.execute(text("UPDATE state SET value = value WHERE key = 'archive_version'"))
                finally:
                    trans.rollback()
            finally:
                if conn.dialect.name == "sqlite":
                    _pragma(conn, "busy_timeout=30000")  # as `locks` sets it for every connection
        return "ok"


def _pragma(conn: Connection, setting: str) -> None:
    """A PRAGMA on the DBAPI connection itself (SQLAlchemy would begin a transaction)."""
    cursor = conn.connection.cursor()
    try:
        cursor.execute(f"PRAGMA {setting}")
    finally:
        cursor.close()
