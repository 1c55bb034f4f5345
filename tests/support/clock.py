"""A clock whose sleep() moves time instantly: pacing and backoff without waiting."""

from __future__ import annotations


class FakeClock:
    """monotonic() and sleep() for the publisher; every wait asked for is kept in `sleeps`."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
