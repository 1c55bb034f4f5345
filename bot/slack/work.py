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
a lookup), and short notices.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger(__name__)

Job = Callable[[], None]

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
    """How a queue is doing now, for `/healthz`."""

    waiting: int
    running: int
    done: int
    refused: int
    limit: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "waiting": self.waiting,
            "running": self.running,
            "done": self.done,
            "refused": self.refused,
            "limit": self.limit,
        }


@dataclass(slots=True)
class Workers:
    """The bot's queues: `answers` (working out an answer), `deliveries` (sending it:
    a response_url, chat.postMessage), `writes` (database writes, one at a time),
    `notices` ("busy", "slow down": small and quick)."""

    answers: WorkQueue
    deliveries: WorkQueue
    writes: WorkQueue
    notices: WorkQueue

    @classmethod
    def start(
        cls,
        *,
        answer_workers: int = ANSWER_WORKERS,
        answer_queue: int = ANSWER_QUEUE,
        write_queue: int = WRITE_QUEUE,
    ) -> Workers:
        return cls(
            answers=WorkQueue("answers", workers=answer_workers, limit=answer_queue),
            deliveries=WorkQueue("deliveries", workers=DELIVERY_WORKERS, limit=DELIVERY_QUEUE),
            writes=WorkQueue("writes", workers=1, limit=write_queue),
            notices=WorkQueue("notices", workers=NOTICE_WORKERS, limit=NOTICE_QUEUE),
        )

    @property
    def queues(self) -> tuple[WorkQueue, ...]:
        return (self.answers, self.deliveries, self.writes, self.notices)

    def send(self, job: Job, what: str = "") -> None:
        """Deliver on the deliveries queue; should it be full, right here (never dropped)."""
        if not self.deliveries.submit(job, what):
            job()

    def join(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        # Answers hand their delivery on: wait for them first, then the rest.
        return all(q.join(max(deadline - time.monotonic(), 0.0)) for q in self.queues)

    def close(self) -> None:
        for q in self.queues:
            q.close()

    def stats(self) -> dict[str, Any]:
        return {q.name: q.stats().as_dict() for q in self.queues}
