"""Who may post what now: each digest's lease and, on PostgreSQL, each channel's claim.

Only the holder of a digest's lease posts it (a conditional UPDATE in the
store), and the lease is renewed before every Slack write, so a run that
stalled past its lease stops before it posts again. On PostgreSQL a run also
claims each channel it posts to (`bot.store.locks.Claims`, a session advisory
lock): one replica posts a channel's digests in order, and since the claim
dies with its holder's connection, holding it proves that whoever holds a
lease in that channel has stopped, so the lease is taken over at once. On
SQLite a lease is taken over when it expires, or at once when its holder is
a dead process on this host. `claimed_channels` tells `digest-bot status`
which channels a run holds now.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
from collections.abc import Callable, Iterable

from sqlalchemy import Engine

from bot.publisher.plan import Target
from bot.publisher.stops import _stop
from bot.store import locks
from bot.store import posts as store

# The package's one logger, named as before it was split into modules.
log = logging.getLogger("bot.publisher")

#: How long a digest's lease lasts without renewal (it is renewed before every post).
LEASE_TTL = dt.timedelta(minutes=10)


def default_holder() -> str:
    """Who holds a lease: host, pid and a nonce (a dead local pid can be detected)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def channel_claim(channel: str) -> str:
    """The name of a channel's claim (`bot.store.locks.Claims`)."""
    return f"channel:{channel}"


def claimed_channels(engine: Engine, channels: Iterable[str]) -> dict[str, locks.HeldClaim]:
    """Which of these channels a run holds the claim of now (PostgreSQL; none on SQLite)."""
    names = {channel_claim(channel): channel for channel in channels}
    return {names[claim.name]: claim for claim in locks.held_claims(engine, names)}


class Leases:
    """What one run holds: the claim of the channel and the lease of the digest it is on."""

    def __init__(self, engine: Engine, holder: str, clock: Callable[[], dt.datetime]) -> None:
        self.engine = engine
        self.holder = holder
        self.clock = clock
        self.claims = locks.Claims(engine)
        self._lease: str | None = None
        self._channel_claim: str | None = None

    # ---- channels -------------------------------------------------------------------

    def claim_channel(self, channel: str) -> bool:
        """One process posts to a channel at a time (PostgreSQL; always True on SQLite)."""
        name = channel_claim(channel)
        if not self.claims.try_claim(name):
            return False
        self._channel_claim = name
        return True

    def release_channel(self) -> None:
        if self._channel_claim is not None:
            self.claims.release(self._channel_claim)
            self._channel_claim = None

    def close(self) -> None:
        """Give every claim back (the end of the run)."""
        self.claims.close()

    # ---- digests --------------------------------------------------------------------

    def take(self, target: Target) -> bool:
        key, now = target.lease_key, self.clock()
        if store.acquire_lease(self.engine, key, self.holder, now=now, ttl=LEASE_TTL):
            self._lease = key
            return True
        lease = store.get_lease(self.engine, key)
        if lease is None or not lease.holder:
            return False
        # Holding the channel's claim proves the lease's holder stopped posting here
        # (every run posts under that claim, and a dead run's claim went with it).
        if not self.claims.exclusive and not _holder_is_dead(lease.holder):
            return False
        if not store.take_over_lease(
            self.engine, key, dead_holder=lease.holder, holder=self.holder, now=now, ttl=LEASE_TTL
        ):
            return False
        log.warning(
            "took over %s in %s from %s, which is no longer running",
            target.label,
            target.channel,
            lease.holder,
        )
        self._lease = key
        return True

    def renew(self, target: Target) -> None:
        """Before each Slack write: still ours? (A lease that expired may have been taken.)"""
        if self._lease is None:
            return
        claimed = self._channel_claim is None or self.claims.holds(self._channel_claim)
        if not claimed or not store.acquire_lease(
            self.engine, self._lease, self.holder, now=self.clock(), ttl=LEASE_TTL
        ):
            self._lease = None
            raise _stop(target.channel, "posting", "lease_lost")

    def release(self) -> None:
        """Give the digest's lease back (when it is done, or stopped)."""
        if self._lease is not None:
            store.release_lease(self.engine, self._lease, self.holder)
            self._lease = None


def _holder_is_dead(holder: str) -> bool:
    """True for a holder on this host whose process is gone (e.g. killed mid-run).

    A pid means nothing on another host: there, on SQLite, only expiry frees a
    lease; on PostgreSQL the channel claim tells (see `Leases.take`).
    """
    try:
        host, pid_text, _nonce = holder.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname() or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, under another user
        return False
    return False
