"""What differs between SQLite and PostgreSQL when several processes share a store.

The rest of the store is portable SQLAlchemy; the dialect specifics of
concurrency live here and nowhere else:

- `configure(engine)`: SQLite gets real transactions. The `sqlite3` module only
  opens a transaction at the first write, so a "transaction" that reads first
  sees several states and cannot lock up front; here SQLAlchemy emits BEGIN
  itself (the recipe of SQLAlchemy's SQLite docs), so reads inside one see one
  snapshot, and `exclusive` can ask for BEGIN IMMEDIATE.
- `exclusive(engine, name)`: a write transaction that no other process runs at
  the same time under the same name: `pg_advisory_xact_lock` (released at
  commit) or, on SQLite, BEGIN IMMEDIATE (the database's one write lock, taken
  before the first read, so two writers never deadlock upgrading a read lock).
- `snapshot(engine)`: a read-only transaction whose queries all see one state.
- `Claims`: locks a process holds while it works on something (posting to a
  channel). On PostgreSQL a session-level advisory lock on a connection kept
  for the purpose: it is gone the moment the process dies (its connection
  drops), so another replica can take over at once without waiting for a
  lease to expire. SQLite has no such thing: a claim always succeeds there and
  says nothing about other processes (the lease rows in `posts` decide).
  `held_claims` says which of some named claims are held now, and by which
  session (pg_locks), for `digest-bot status`.
- `mutex(engine, name)`: a lock held across work that is not one transaction
  (a weekly DM: read the person's follows, commit the intent, call Slack,
  record the ts), which `/papers forget me` waits for, so that nothing is sent
  or written about a person once they are told the bot keeps nothing. On
  PostgreSQL a session advisory lock on a connection of its own (per name); on
  SQLite, which serves one host, an exclusive `flock` on a file beside the
  database (one for every name: the SQLite file has one writer anyway).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import hashlib
import logging
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

log = logging.getLogger(__name__)

#: Connection execution option: open the next SQLite transaction with BEGIN IMMEDIATE.
BEGIN_IMMEDIATE = "digest_bot_begin_immediate"


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory lock key for a name (PostgreSQL's bigint)."""
    digest = hashlib.blake2b(f"digest-bot:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def configure(engine: Engine) -> None:
    """Per-dialect connection setup; call once on a new engine."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # SQLAlchemy emits BEGIN (see _sqlite_begin); sqlite3 still emits COMMIT/ROLLBACK.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # What a delete frees is overwritten, not left in free space: `forget me` must
    # leave no trace of a person in the file (see `checkpoint`).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get(BEGIN_IMMEDIATE, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def exclusive(engine: Engine, name: str) -> Iterator[Connection]:
    """A write transaction that runs alone among processes using the same `name`.

    Committed when the block ends, rolled back if it raises. PostgreSQL waits
    for the advisory lock; SQLite waits for the write lock (up to its busy
    timeout) and serialises every writer, whatever the name.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.execution_options(**{BEGIN_IMMEDIATE: True})
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(lock_key(name))))
            yield conn


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read transaction in which every query sees the same committed state.

    PostgreSQL's default READ COMMITTED takes a new snapshot per statement;
    REPEATABLE READ keeps one (read-only, so it never fails to serialise).
    SQLite's WAL gives a deferred transaction one snapshot from its first read.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


class Claims:
    """Named claims one process holds while it works; `close()` gives them all back.

    `exclusive` is True when a held claim proves that no other live process
    holds the same one (PostgreSQL). Then whatever another holder left behind
    under that name (a lease row, pending posts) was left by a process that is
    gone or has stopped working on it, and may be taken over at once.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.exclusive = engine.dialect.name == "postgresql"
        self._conn: Connection | None = None
        self._backend: int | None = None
        self._held: set[str] = set()

    def try_claim(self, name: str) -> bool:
        """Take the claim without waiting; False when another live process has it."""
        if not self.exclusive:
            self._held.add(name)
            return True
        conn = self._connection()
        if conn.execute(select(func.pg_try_advisory_lock(lock_key(name)))).scalar_one():
            self._held.add(name)
            return True
        return False

    def holds(self, name: str) -> bool:
        """Whether the claim is still ours: its session is the one that took it.

        A dropped connection (a restarted server, a network cut) loses every
        advisory lock; SQLAlchemy would silently reconnect, so the backend pid
        is compared, not just a query tried.
        """
        if name not in self._held:
            return False
        if not self.exclusive:
            return True
        assert self._conn is not None
        try:
            backend = self._conn.execute(select(func.pg_backend_pid())).scalar_one()
        except DBAPIError:
            backend = None
        if backend != self._backend:
            log.error("the database session holding this process's claims was lost: %s", self._held)
            self.close()  # every claim went with it; a later claim opens a new session
            return False
        return True

    def release(self, name: str) -> None:
        """Give one claim back (nothing to do if it was lost with its connection)."""
        if name not in self._held:
            return
        self._held.discard(name)
        if not self.exclusive or self._conn is None:
            return
        try:
            self._conn.execute(select(func.pg_advisory_unlock(lock_key(name))))
        except DBAPIError:
            log.warning("could not release claim %s; closing the session that holds it", name)
            self.close()

    def close(self) -> None:
        """Give every claim back by closing the session that holds them.

        The claims are unlocked first, so they are free when `close()` returns
        (a closed socket's session ends a moment later, on the server's time);
        then the connection is discarded, not returned to the pool: a pooled
        session would keep its advisory locks (the pool's reset only rolls back).
        """
        self._held.clear()
        if self._conn is not None:
            try:
                if not self._conn.invalidated:
                    self._conn.execute(select(func.pg_advisory_unlock_all()))
            except SQLAlchemyError:  # the session is gone already, and its claims with it
                log.debug("claims' session ended before close", exc_info=True)
            self._conn.invalidate()
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _connection(self) -> Connection:
        if self._conn is None:
            # Autocommit: session locks outlive transactions, and an idle
            # transaction held for a whole run would pin old row versions.
            self._conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._backend = self._conn.execute(select(func.pg_backend_pid())).scalar_one()
        return self._conn


@dataclass(frozen=True, slots=True)
class HeldClaim:
    """A claim some session holds now, as PostgreSQL sees it."""

    name: str
    pid: int  # the server process of the holding session
    client: str | None  # its client's address (None over a unix socket, or not visible)
    since: dt.datetime | None  # when that session started (about when its run began)


#: Granted advisory locks with a bigint key (objsubid 1) in this database, and their sessions.
_ADVISORY_LOCKS = text(
    "SELECT l.classid, l.objid, l.pid, a.client_addr, a.backend_start"
    " FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
    " WHERE l.locktype = 'advisory' AND l.objsubid = 1 AND l.granted"
    " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def held_claims(engine: Engine, names: Iterable[str]) -> list[HeldClaim]:
    """Which of these claims a session holds now, and which session (none on SQLite).

    A claim's lock key is a hash of its name (`lock_key`), so pg_locks tells
    which keys are held but not their names: the caller names the candidates.
    One read of pg_locks, which holds only the locks held at this moment.
    """
    if engine.dialect.name != "postgresql":
        return []
    wanted = {lock_key(name): name for name in names}
    if not wanted:
        return []
    held: list[HeldClaim] = []
    with engine.connect() as conn:
        for row in conn.execute(_ADVISORY_LOCKS):
            # A bigint key shows as its high half in classid and its low half in objid.
            key = int.from_bytes(
                ((int(row.classid) << 32) | int(row.objid)).to_bytes(8, "big"), "big", signed=True
            )
            name = wanted.get(key)
            if name is not None and row.pid is not None:  # not a prepared transaction's
                since = row.backend_start.astimezone(dt.UTC) if row.backend_start else None
                client = str(row.client_addr) if row.client_addr is not None else None
                held.append(HeldClaim(name, int(row.pid), client, since))
    return sorted(held, key=lambda claim: (claim.name, claim.pid))


def checkpoint(engine: Engine) -> bool:
    """SQLite: copy the WAL into the database file and truncate it (after `forget me`, so
    the deleted rows' old pages do not linger in `-wal`). True when done, or nothing to do
    (PostgreSQL); False when a reader kept part of the WAL (it goes at the next checkpoint).
    """
    if engine.dialect.name != "sqlite":
        return True
    with engine.connect() as conn:
        busy, _pages, _moved = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    if busy:
        log.warning("the store's WAL could not be checkpointed at once (a reader holds it); it will be at the next one")
    return not busy


#: In-memory SQLite stores (tests, tools) have no file to lock: a lock per process.
_MEMORY_MUTEX = threading.Lock()


def sqlite_path(engine: Engine) -> Path | None:
    """The SQLite file behind `engine`, or None (PostgreSQL, in-memory)."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or "mode=memory" in database:
        return None
    if database.startswith("file:"):
        database = database.removeprefix("file:").split("?", 1)[0]
    return Path(database).expanduser().resolve()


def mutex_path(engine: Engine) -> Path | None:
    """The file `mutex` locks for an SQLite store (None in memory or on PostgreSQL)."""
    path = sqlite_path(engine)
    return None if path is None else path.with_name(path.name + ".mutex")


@contextmanager
def mutex(engine: Engine, name: str) -> Iterator[None]:
    """Run the block while no other thread or process holds the mutex `name`; waits for it.

    Not reentrant: never take a mutex inside another. Holds no transaction, so
    the block may commit several and call Slack in between.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(select(func.pg_advisory_lock(lock_key(f"mutex:{name}"))))
            try:
                yield
            finally:
                try:
                    conn.execute(select(func.pg_advisory_unlock(lock_key(f"mutex:{name}"))))
                except DBAPIError:
                    conn.invalidate()  # the session, and the lock with it, is gone
        return
    path = mutex_path(engine)
    if path is None:
        with _MEMORY_MUTEX:
            yield
        return
    # A file description of its own per use: flock then excludes other threads of
    # this process too (POSIX record locks would not).
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
