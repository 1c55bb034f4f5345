"""A run's time, injected: a digest run, a recap run and a weekly DM pass each read it.

`now` is given (aware) when the run starts; later times are `now` plus the
elapsed `monotonic()`, so a test's fake clock drives pacing, backoff and lease
expiry alike, and `sleep` is the one way a run waits.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RunClock:
    """A run's `now` moved on by the injected monotonic clock; called, it says the time."""

    start: dt.datetime
    monotonic: Callable[[], float]
    sleep: Callable[[float], None]
    started: float

    @classmethod
    def starting(
        cls,
        now: dt.datetime,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> RunClock:
        """The clock of a run starting now (`now` must be aware)."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        return cls(now.astimezone(dt.UTC), monotonic, sleep, monotonic())

    def __call__(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=self.monotonic() - self.started)
