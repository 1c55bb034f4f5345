"""Per-user limits on questions (mentions, direct messages): one polite notice, then quiet.

A person (or a script with a person's token) mentioning the bot fifty times a
minute would otherwise get fifty searches and fifty replies. Each user gets
`limit` questions per sliding `window`; the first question over the limit is
answered with one notice, the rest of that burst with nothing (logged), and
the user is welcome again once their oldest question leaves the window.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Literal

Verdict = Literal["answer", "notice", "quiet"]

#: Users remembered at once (the least recently seen are forgotten first).
MAX_USERS = 10_000


class QuestionLimit:
    """`limit` questions per `window` seconds per user; thread-safe."""

    def __init__(self, limit: int, window: float = 60.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._asked: OrderedDict[str, deque[float]] = OrderedDict()
        self._noticed: dict[str, float] = {}

    def check(self, user: str | None) -> Verdict:
        """Count one question by `user`: answer it, send the one notice, or stay quiet."""
        if self.limit <= 0 or not user:
            return "answer"
        now = self._clock()
        with self._lock:
            asked = self._asked.pop(user, None) or deque()
            self._asked[user] = asked  # most recently seen last
            while len(self._asked) > MAX_USERS:
                gone, _ = self._asked.popitem(last=False)
                self._noticed.pop(gone, None)
            while asked and asked[0] <= now - self.window:
                asked.popleft()
            if len(asked) < self.limit:
                asked.append(now)
                self._noticed.pop(user, None)
                return "answer"
            if user in self._noticed:
                return "quiet"
            self._noticed[user] = now
            return "notice"

    def retry_after(self, user: str) -> float:
        """Seconds until `user` may ask again (for the notice)."""
        with self._lock:
            asked = self._asked.get(user)
            if not asked or len(asked) < self.limit:
                return 0.0
            return max(asked[0] + self.window - self._clock(), 0.0)

    def seconds_to_say(self, user: str) -> int:
        """The whole seconds the "slow down" notice names: at least 1, never an early promise."""
        return max(int(self.retry_after(user)) + 1, 1)
