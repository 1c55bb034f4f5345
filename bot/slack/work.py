"""Work done after Slack's acknowledgement: bounded queues, each drained by its own threads.

Slack wants every request acknowledged within 3 seconds, however slow the
answer is (a search, a response_url that takes 300 ms, a database write that
waits for another process's lock). The listeners in `bot.slack.app` only
acknowledge and hand the work to a `WorkQueue`; `submit` never blocks: when
the queue is full it says so at once, and the caller tells the user "busy,
try again" instead of letting the request wait (or vanish).

Separate queues keep kinds of work from starving each other (`Workers`):
working out answers (a few threads: CPU work, which must not crowd out the
acknowledgements), delivering them (many threads: waiting on Slack), database
writes (one thread: a write waiting on a lock holds only its own queue, never
a lookup), short notices, and Home tab refreshes (`CoalescingQueue`: one
thread, only the newest refresh per person kept, paced to Slack's tier for
`views.publish`, and the only thread that waits out its `Retry-After`: a
storm of Home opens once parked every delivery thread and `/papers` was
answered 46-60 s late).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

Job = Callable[[], object]  # what a job returns is not used

#: Defaults. Working out an answer is CPU work under the GIL: a few threads do
#: it, so that they never crowd out the threads that acknowledge. Delivering
#: it is waiting (a response_url may take ~300 ms): many threads do that, so
#: 20 requests/s keep flowing. A burst of a few hundred waits in line.
ANSWER_WORKERS = 4
ANSWER_QUEUE = 500
DELIVERY_WORKERS = 16
DELIVERY_QUEUE = 2_000
WRITE_QUEUE = 10_000
NOTICE_WORKERS = 2
NOTICE_QUEUE = 1_000
#: People whose Home tab waits for a refresh (each at most once: only the newest counts).
HOME_QUEUE = 5_000
#: Seconds between two `views.publish`: Slack's Tier 4 allows about 100 a minute.
HOME_INTERVAL = 0.6
#: The longest `Retry-After` waited out for one refresh, and how many in a row before giving up.
HOME_MAX_RETRY_AFTER = 120.0
HOME_RATE_LIMIT_RETRIES = 5


class RateLimited(Exception):
    """A job's Slack call was answered 429: its queue waits `retry_after` seconds, then
    runs the newest job for the same key (raised by jobs of a `CoalescingQueue`)."""

    def __init__(self, retry_after: float, what: str = "") -> None:
        super().__init__(f"rate limited for {retry_after:.0f} s: {what}")
        self.retry_after = retry_after


class WorkQueue:
    """A queue with a limit and `workers` threads running its jobs in order.

    A job that raises is logged and forgotten (the thread lives on). `stats`
    tells `/healthz` how deep the queue is and how much was turned away.
    """

    def __init__(self, name: str, *, workers: int, limit: int) -> None:
        if workers < 1 or limit < 1:
            raise ValueError("a work queue needs at least one worker and room for one job")
        self.name = name
        self.limit = limit
        self._jobs: queue.Queue[tuple[str, Job] | None] = queue.Queue(maxsize=limit)
        self._lock = threading.Lock()
        self._running = 0
        self._done = 0
        self._refused = 0
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True) for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, job: Job, what: str = "") -> bool:
        """Queue `job` without waiting; False when the queue is full (or closed)."""
        if self._closed:
            return False
        try:
            self._jobs.put_nowait((what, job))
        except queue.Full:
            with self._lock:
                self._refused += 1
            log.warning("%s queue is full (%d waiting): turned away %s", self.name, self.limit, what or "a job")
            return False
        return True

    def _work(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            what, job = item
            with self._lock:
                self._running += 1
            try:
                job()
            except Exception:  # one job's failure must not end the thread
                log.exception("%s: %s failed", self.name, what or "a job")
            finally:
                with self._lock:
                    self._running -= 1
                    self._done += 1
                self._jobs.task_done()

    def join(self, timeout: float = 10.0) -> bool:
        """Wait until every queued job is done (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                idle = self._running == 0
            if idle and self._jobs.empty():
                return True
            time.sleep(0.01)
        return False

    def idle(self) -> bool:
        """Nothing waiting, nothing running."""
        with self._lock:
            return self._running == 0 and self._jobs.empty()

    def close(self) -> None:
        """Stop taking jobs; the threads end once what is queued is done."""
        self._closed = True
        for _ in self._threads:
            try:
                self._jobs.put_nowait(None)
            except queue.Full:
                break  # daemon threads: they go with the process

    def stats(self) -> QueueStats:
        with self._lock:
            return QueueStats(self._jobs.qsize(), self._running, self._done, self._refused, self.limit)


@dataclass(frozen=True, slots=True)
class QueueStats:
    """How a queue is doing now, for `/healthz` (`coalesced`: jobs replaced by a newer one
    for the same key, `rate_limited`: 429s waited out; coalescing queues only)."""

    waiting: int
    running: int
    done: int
    refused: int
    limit: int
    coalesced: int | None = None
    rate_limited: int | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "waiting": self.waiting,
            "running": self.running,
            "done": self.done,
            "refused": self.refused,
            "limit": self.limit,
        }
        if self.coalesced is not None:
            data["coalesced"] = self.coalesced
        if self.rate_limited is not None:
            data["rate_limited"] = self.rate_limited
        return data


class CoalescingQueue:
    """Jobs by key (a person), only the newest per key kept, run one at a time, paced.

    A Home tab refresh is worth doing once, with the newest data: a thousand
    opens by twenty people are at most twenty publishes waiting. `submit`
    never blocks; a job submitted for a key already waiting replaces it (in
    the same place in line). Jobs start at least `interval` seconds apart
    (Slack's tier for the call they make). A job that raises `RateLimited` is
    tried again after its `retry_after` (at most `max_wait`), this queue's own
    thread waiting, and given up after `retries` in a row; `close` cuts any
    wait short. `clock` and `wait` are injectable for tests.
    """

    def __init__(
        self,
        name: str,
        *,
        limit: int = HOME_QUEUE,
        interval: float = HOME_INTERVAL,
        max_wait: float = HOME_MAX_RETRY_AFTER,
        retries: int = HOME_RATE_LIMIT_RETRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if limit < 1:
            raise ValueError("a work queue needs room for one job")
        self.name, self.limit, self.interval, self.max_wait, self.retries = name, limit, interval, max_wait, retries
        self._clock = clock
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._pending: OrderedDict[str, tuple[str, Job]] = OrderedDict()
        self._limited: dict[str, int] = {}
        self._running = self._done = self._refused = self._coalesced = self._rate_limited = 0
        self._closed = False
        self._thread = threading.Thread(target=self._work, name=f"{name}-0", daemon=True)
        self._thread.start()

    def submit(self, key: str, job: Job, what: str = "") -> bool:
        """Queue `job` for `key`, replacing one already waiting; False when full (or closed)."""
        with self._cond:
            if self._closed:
                return False
            if key in self._pending:
                self._pending[key] = (what, job)
                self._coalesced += 1
                return True
            if len(self._pending) >= self.limit:
                self._refused += 1
                full = True
            else:
                self._pending[key] = (what, job)
                self._cond.notify()
                full = False
        if full:
            log.warning("%s queue is full (%d waiting): turned away %s", self.name, self.limit, what or key)
        return not full

    def _next(self) -> tuple[str, str, Job] | None:
        with self._cond:
            while not self._pending and not self._closed:
                self._cond.wait()
            if self._closed:
                return None
            key, (what, job) = self._pending.popitem(last=False)
            self._running = 1
            return key, what, job

    def _work(self) -> None:
        next_start = 0.0
        while (item := self._next()) is not None:
            key, what, job = item
            pause = next_start - self._clock()
            if pause > 0 and self._stop.wait(pause):
                return
            wait = 0.0
            try:
                job()
                self._limited.pop(key, None)
            except RateLimited as limited:
                wait = self._again(key, what, job, limited)
            except Exception:  # one job's failure must not end the thread
                self._limited.pop(key, None)
                log.exception("%s: %s failed", self.name, what or key)
            finally:
                with self._cond:
                    self._running = 0
                    self._done += 1
            next_start = self._clock() + self.interval
            if wait and self._stop.wait(wait):
                return

    def _again(self, key: str, what: str, job: Job, limited: RateLimited) -> float:
        """Put a rate-limited job back first in line (unless a newer one waits); the wait."""
        tries = self._limited.get(key, 0) + 1
        with self._cond:
            self._rate_limited += 1
            if tries > self.retries:
                self._limited.pop(key, None)
                give_up = True
            else:
                self._limited[key] = tries
                if key not in self._pending:
                    self._pending[key] = (what, job)
                self._pending.move_to_end(key, last=False)
                give_up = False
        wait = min(max(limited.retry_after, 0.0), self.max_wait)
        if give_up:
            log.warning("%s: %s given up after %d rate limits in a row", self.name, what or key, self.retries)
        else:
            log.info("%s: Slack asked to wait %.0f s (rate limit): %s waits on this queue only", self.name, wait, what or key)
        return wait

    def join(self, timeout: float = 10.0) -> bool:
        """Wait until nothing waits or runs (tests, shutdown); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._cond:
                if not self._pending and not self._running:
                    return True
            time.sleep(0.01)
        return False

    def idle(self) -> bool:
        """Nothing waiting, nothing running."""
        with self._cond:
            return not self._pending and not self._running

    def close(self) -> None:
        """Stop taking jobs and stop the thread (waiting refreshes are dropped: they are redone on the next open)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._stop.set()

    def stats(self) -> QueueStats:
        with self._cond:
            return QueueStats(
                len(self._pending), self._running, self._done, self._refused, self.limit,
                coalesced=self._coalesced, rate_limited=self._rate_limited,
            )


@dataclass(slots=True)
class Workers:
    """The bot's queues: `answers` (working out an answer), `deliveries` (sending it:
    a response_url, chat.postMessage), `writes` (database writes, one at a time),
    `notices` ("busy", "slow down": small and quick), `home` (Home tab refreshes:
    rendered and published by their own thread, the newest per person)."""

    answers: WorkQueue
    deliveries: WorkQueue
    writes: WorkQueue
    notices: WorkQueue
    home: CoalescingQueue = field(default_factory=lambda: CoalescingQueue("home"))

    @classmethod
    def start(
        cls,
        *,
        answer_workers: int = ANSWER_WORKERS,
        answer_queue: int = ANSWER_QUEUE,
        write_queue: int = WRITE_QUEUE,
        home_interval: float = HOME_INTERVAL,
    ) -> Workers:
        return cls(
            answers=WorkQueue("answers", workers=answer_workers, limit=answer_queue),
            deliveries=WorkQueue("deliveries", workers=DELIVERY_WORKERS, limit=DELIVERY_QUEUE),
            writes=WorkQueue("writes", workers=1, limit=write_queue),
            notices=WorkQueue("notices", workers=NOTICE_WORKERS, limit=NOTICE_QUEUE),
            home=CoalescingQueue("home", interval=home_interval),
        )

    @property
    def queues(self) -> tuple[WorkQueue | CoalescingQueue, ...]:
        return (self.answers, self.home, self.deliveries, self.writes, self.notices)

    def send(self, job: Job, what: str = "") -> None:
        """Deliver on the deliveries queue; should it be full, right here (never dropped)."""
        if not self.deliveries.submit(job, what):
            job()

    def join(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        # Answers hand their delivery on: wait for them first, then the rest; a write
        # may queue a Home refresh after the home queue was waited for, so go round
        # until two rounds in a row find every queue idle.
        idle_rounds = 0
        while idle_rounds < 2:
            if not all(q.join(max(deadline - time.monotonic(), 0.0)) for q in self.queues):
                return False
            idle_rounds = idle_rounds + 1 if all(q.idle() for q in self.queues) else 0
        return True

    def close(self) -> None:
        for q in self.queues:
            q.close()

    def stats(self) -> dict[str, Any]:
        return {q.name: q.stats().as_dict() for q in self.queues}
