"""Which `digest-bot run` serves a SQLite store: a lock file beside it, held while the run lives.

Two runs on one SQLite file share the work safely (leases, one writer at a
time), but a second one is nearly always a mistake (an old terminal, a
service and a manual start): it should be said at its start. Each run takes
an exclusive `flock` on `<store>-run.lock` and writes its pid there. The
kernel drops the lock when the process ends, however it ends, so a crashed
run leaves at most a file with a dead pid that nobody holds: no message.
A run that finds the lock held says who holds it, and waits for the lock in
a background thread, so it is the one named once the first run stops.
PostgreSQL stores are meant to be shared by replicas: nothing to say there.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

try:  # POSIX; elsewhere nothing is said (the runs still share the work safely)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

from sqlalchemy import Engine

from bot.store.locks import sqlite_path

SUFFIX = "-run.lock"


def lock_path(engine: Engine) -> Path | None:
    """The lock file beside the SQLite store, or None (PostgreSQL, in-memory)."""
    path = sqlite_path(engine)
    return None if path is None else path.with_name(path.name + SUFFIX)


@dataclass
class RunLock:
    """This run's hold on its store (taken, or waited for in the background)."""

    path: Path
    #: Who held it when this run started ("pid 1234 since …"), or None: this run serves alone.
    other: str | None = None
    _fd: int | None = None
    _held: threading.Event = field(default_factory=threading.Event)
    _released: bool = False

    @property
    def held(self) -> bool:
        return self._held.is_set()

    def release(self) -> None:
        """Let go (the process's end does it too); a lock still waited for is dropped when taken."""
        self._released = True
        if self.held and self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the descriptor drops the flock


def serve_store(engine: Engine, *, now: dt.datetime | None = None) -> RunLock | None:
    """Take the store's run lock; `other` names the run that holds it if one does.

    None when there is nothing to lock (PostgreSQL, in-memory SQLite, no
    `fcntl`) or the lock file cannot be written (a read-only folder: the
    store would fail first, and says so better).
    """
    path = lock_path(engine)
    if path is None or fcntl is None:
        return None
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError:
        return None
    lock = RunLock(path, _fd=fd)
    started = (now or dt.datetime.now(dt.UTC)).strftime("%Y-%m-%d %H:%M UTC")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.other = _holder(fd)
        threading.Thread(target=_wait, args=(lock, started), name="store-run-lock", daemon=True).start()
        return lock
    _write(fd, started)
    lock._held.set()
    return lock


def _wait(lock: RunLock, started: str) -> None:
    """Hold the lock once the run holding it stops, so the next start names this run."""
    fd = lock._fd
    if fd is None:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        if lock._released:
            lock._fd = None
            os.close(fd)
            return
        _write(fd, started)
    except OSError:
        return
    lock._held.set()


def _write(fd: int, started: str) -> None:
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()} {started}\n".encode(), 0)


def _holder(fd: int) -> str:
    """"pid 1234 (since …)" as the holder wrote it; just "a run" if it has not yet."""
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    pid, _, since = text.partition(" ")
    if not pid.isdigit():
        return "pid unknown"
    return f"pid {pid}" + (f" (since {since})" if since else "")
