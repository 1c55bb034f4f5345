"""How far a long step has come, as log lines: for output that is not a terminal.

Indexing a large archive and posting a week at Slack's pace (one message a
second) take minutes; a log that stays silent that long looks like a hang.
`ProgressLines` is a `(done, total, label)` callback, the shape both
`sync_archive` and `publish_due` call, that writes a line at every tenth of
the way with the count, the time so far and the time left. The terminal's
progress bar is the CLI's (`bot.cli.progress`).
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: A line at every tenth of the way (and at the end).
STEPS = 10

#: `(done, total, label)`: the shape of `ProgressLines`, the CLI's bar and every long step's callback.
Progress = Callable[[int, int, str], None]


def duration(seconds: float) -> str:
    """'45 s', '3 min', '1 h 5 min': how long a person should expect to wait."""
    seconds = max(0, round(seconds))
    if seconds < 90:
        return f"{seconds} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


class ProgressLines:
    """`(done, total, label)` → a line now and then: `posting: 3/27 messages (11%), …`."""

    def __init__(
        self,
        write: Callable[[str], None],
        what: str,
        unit: str,
        *,
        steps: int = STEPS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.write = write
        self.what = what
        self.unit = unit
        self.steps = max(1, steps)
        self.clock = clock
        self.started = clock()
        self._counting_from = self.started
        self._step = -1

    def __call__(self, done: int, total: int, label: str = "") -> None:
        if done == 0:  # (re)starting: the time left is measured from here (a build learns before it writes)
            self._counting_from = self.clock()
        total = max(total, done, 1)
        step = done * self.steps // total
        if step == self._step and done < total:
            return
        if done == total and self._step == self.steps:
            return  # the end was said already
        self._step = step
        elapsed = self.clock() - self.started
        line = f"{self.what}: {done}/{total} {self.unit} ({100 * done // total}%), {duration(elapsed)} elapsed"
        if 0 < done < total:
            counting = self.clock() - self._counting_from
            line += f", about {duration(counting / done * (total - done))} left"
        if label:
            line += f" ({label})"
        self.write(line)
