"""Who may post what now: each digest's lease and, on PostgreSQL, each channel's claim.

Only the holder of a digest's lease posts it (a conditional UPDATE in the
store), and the lease is renewed before every Slack write, so a run that
stalled past its lease stops before it posts again. On PostgreSQL a run also
claims each channel it posts to (`bot.store.locks.Claims`, a session advisory
lock): one replica posts a channel's digests in order, and since the claim
dies with its holder's connection, holding it proves that whoever holds a
lease in that channel has stopped, so the lease is taken over at once. On
SQLite a lease is taken over when it expires, or at once when its holder is
a dead process on this host: its pid is gone, or it is this very pid but an
earlier incarnation (a container's pid 1 restarted in place), told apart by
a random token drawn once per process (`INCARNATION`). `claimed_channels`
tells `digest-bot status` which channels a run holds now. `take_lease` is
the one way to take a lease, for digests, recaps and the weekly DMs alike.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import socket
from collections.abc import Callable, Iterable

from sqlalchemy import Engine

from bot.publisher.once import LEASE_TTL
from bot.publisher.plan import Target
from bot.publisher.stops import stop_for
from bot.store import leases as lease_store
from bot.store import locks

# The package's one logger, named as before it was split into modules.
log = logging.getLogger("bot.publisher")


#: This process's incarnation: a random token drawn once per process (again in a
#: forked child). A restart in place keeps the host and may keep the pid (a
#: container's pid 1), never this token, so the lease of the process that ran
#: before is known to be dead instead of waited out.
INCARNATION = secrets.token_hex(6)


def _new_incarnation() -> None:
    global INCARNATION
    INCARNATION = secrets.token_hex(6)


os.register_at_fork(after_in_child=_new_incarnation)


def default_holder() -> str:
    """Who holds a lease: host, pid, this process's incarnation and a nonce per run.

    The pid tells a dead process on this host; the incarnation tells an earlier
    process that had this same pid; the nonce tells two runs of one process apart.
    """
    return f"{socket.gethostname()}:{os.getpid()}:{INCARNATION}:{secrets.token_hex(4)}"


def take_lease(
    engine: Engine, key: str, holder: str, *, now: dt.datetime, ttl: dt.timedelta, exclusive: bool
) -> bool | str:
    """Take the lease `key` for `holder`: True when free, expired or ours; the dead
    holder's name when taken over from it; False when a live holder keeps it.

    `exclusive`: the caller holds a claim (`bot.store.locks.Claims`) proving that
    whoever holds the lease has stopped (PostgreSQL); otherwise only a holder that
    `holder_is_dead` says is dead is taken over before its lease expires.
    """
    if lease_store.acquire_lease(engine, key, holder, now=now, ttl=ttl):
        return True
    lease = lease_store.get_lease(engine, key)
    if lease is None or not lease.holder:
        return False
    if not exclusive and not holder_is_dead(lease.holder):
        return False
    if not lease_store.take_over_lease(engine, key, dead_holder=lease.holder, holder=holder, now=now, ttl=ttl):
        return False
    return lease.holder


def channel_claim(channel: str) -> str:
    """The name of a channel's claim (`bot.store.locks.Claims`)."""
    return f"channel:{channel}"


def claimed_channels(engine: Engine, channels: Iterable[str]) -> dict[str, locks.HeldClaim]:
    """Which of these channels a run holds the claim of now (PostgreSQL; none on SQLite)."""
    names = {channel_claim(channel): channel for channel in channels}
    return {names[claim.name]: claim for claim in locks.held_claims(engine, names)}


class Leases:
    """What one run holds: a claim (a channel's, a week's DMs') and the lease it is on.

    Digests and recaps hold their channel's claim and one digest's lease at a
    time; the weekly DMs a week's claim and lease. `holds` is the check before
    every Slack write.
    """

    def __init__(self, engine: Engine, holder: str, clock: Callable[[], dt.datetime]) -> None:
        self.engine = engine
        self.holder = holder
        self.clock = clock
        self.claims = locks.Claims(engine)
        self._lease: str | None = None
        self._claim: str | None = None

    # ---- claims ---------------------------------------------------------------------

    def claim(self, name: str) -> bool:
        """One process works under a claim at a time (PostgreSQL; always True on SQLite)."""
        if not self.claims.try_claim(name):
            return False
        self._claim = name
        return True

    def release_claim(self) -> None:
        if self._claim is not None:
            self.claims.release(self._claim)
            self._claim = None

    def claim_channel(self, channel: str) -> bool:
        """One process posts to a channel at a time (PostgreSQL; always True on SQLite)."""
        return self.claim(channel_claim(channel))

    def release_channel(self) -> None:
        self.release_claim()

    def close(self) -> None:
        """Give every claim back (the end of the run)."""
        self.claims.close()

    # ---- leases ---------------------------------------------------------------------

    def take_key(self, key: str) -> bool | str:
        """Take the lease `key` (see `take_lease`); the run holds it until `release`."""
        # Holding the claim proves the lease's holder stopped working under it
        # (every run works under that claim, and a dead run's claim went with it).
        taken = take_lease(
            self.engine, key, self.holder, now=self.clock(), ttl=LEASE_TTL,
            exclusive=self.claims.exclusive,
        )
        if taken is not False:
            self._lease = key
        return taken

    def take(self, target: Target) -> bool:
        """A digest's (or recap's) lease."""
        taken = self.take_key(target.lease_key)
        if taken is False:
            return False
        if isinstance(taken, str):
            log.warning(
                "took over %s in %s from %s, which is no longer running", target.label, target.channel, taken
            )
        return True

    def holds(self) -> bool:
        """Before each Slack write: the claim and the lease still ours? (A lease that
        expired may have been taken.) Renews the lease; False: lost, and let go."""
        claimed = self._claim is None or self.claims.holds(self._claim)
        if self._lease is None or not claimed or not lease_store.acquire_lease(
            self.engine, self._lease, self.holder, now=self.clock(), ttl=LEASE_TTL
        ):
            self._lease = None
            return False
        return True

    def renew(self, target: Target) -> None:
        """A digest's write: raises the channel's stop when its lease was lost."""
        if self._lease is None:
            return
        if not self.holds():
            raise stop_for(target.channel, "posting", "lease_lost")

    def release(self) -> None:
        """Give the lease back (when its work is done, or stopped)."""
        if self._lease is not None:
            lease_store.release_lease(self.engine, self._lease, self.holder)
            self._lease = None


def _parse_holder(holder: str) -> tuple[str, int, str | None] | None:
    """(host, pid, incarnation) of a holder; incarnation None for the older
    `host:pid:nonce` form, written before holders named their incarnation."""
    for parts, has_incarnation in ((3, True), (2, False)):
        try:
            fields = holder.rsplit(":", parts)
            if len(fields) != parts + 1:
                continue
            pid = int(fields[1])
        except ValueError:
            continue
        return fields[0], pid, fields[2] if has_incarnation else None
    return None


def holder_is_dead(holder: str) -> bool:
    """True for a holder on this host whose process is gone (e.g. killed mid-run).

    Gone means: its pid runs no process, or its pid is this process's own but
    its incarnation is not (an earlier process that had this pid: a restart in
    place). A pid means nothing on another host: there, on SQLite, only expiry
    frees a lease; on PostgreSQL the claim tells (see `take_lease`).
    """
    parsed = _parse_holder(holder)
    if parsed is None:
        return False
    host, pid, incarnation = parsed
    if host != socket.gethostname():
        return False
    if pid == os.getpid():
        return incarnation != INCARNATION
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, under another user
        return False
    return False
