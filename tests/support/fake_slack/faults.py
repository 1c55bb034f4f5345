"""Rate limits and failure injection: what a test makes go wrong, and when.

Every n-th call or a tier's calls per window answer 429; errors, 5xx, dropped
connections (before or after the call took effect), an HTTP 200 that is not JSON,
latency, calls held until released, a hook between "accepted" and "answered".
`FaultInjection` holds the setters; the server asks `_injected_before` and
`_injected_after` around every call.
"""

from __future__ import annotations

import collections
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.support.fake_slack.records import Call, Outcome
from tests.support.fake_slack.state import FakeState


@dataclass
class Fault:
    kind: str  # "drop", "drop_after", "server_error", "fail", "garble_after"
    method: str
    times: int
    error: str = ""
    status: int = 0
    channel: str | None = None
    body: str = ""

    def matches(self, kind: str, method: str, params: Mapping[str, Any]) -> bool:
        return (
            self.kind == kind
            and self.method in (method, "*")
            and (self.channel is None or self.channel == params.get("channel"))
        )


@dataclass
class RateLimit:
    every: int
    retry_after: int
    seen: int = 0


@dataclass
class Window:
    """At most `per_window` calls in any `window` seconds; beyond, 429 until the oldest leaves."""

    per_window: int
    window: float
    retry_after: int | None
    accepted: collections.deque[float] = field(default_factory=collections.deque)


class FaultInjection(FakeState):
    """The faults a test injects (from any thread), and how they turn a call's answer."""

    _faults: list[Fault]
    _rate_limits: dict[str, RateLimit]
    _windows: dict[str, Window]
    _latency: dict[str | None, float]
    _holds: dict[str, threading.Event]
    _on_post: Callable[[Call], None] | None

    def rate_limit(self, method: str, every: int = 3, retry_after: int = 1) -> None:
        """Answer HTTP 429 + `Retry-After` on every `every`-th call of `method` from now on.

        `every=1` limits every call; `every=0` removes the limit. `retry_after` must be
        whole seconds: slack_sdk parses the header with int().
        """
        with self._changed():
            if every <= 0:
                self._rate_limits.pop(method, None)
            else:
                self._rate_limits[method] = RateLimit(every, int(retry_after))

    def rate_limit_window(
        self, method: str, per_window: int, window: float = 60.0, *, retry_after: int | None = None
    ) -> None:
        """Slack's tiers: at most `per_window` accepted calls of `method` in any `window`
        seconds (Tier 4, views.publish: about 100 a minute); beyond, HTTP 429 with
        `Retry-After` the whole seconds until the oldest accepted call leaves the window
        (or `retry_after`). Refused calls do not count. `per_window=0` removes it."""
        with self._changed():
            if per_window <= 0:
                self._windows.pop(method, None)
            else:
                self._windows[method] = Window(per_window, float(window), retry_after)

    def fail(self, method: str, error: str, times: int = 1, channel: str | None = None) -> None:
        """The next `times` calls of `method` (in `channel`, if given) answer `ok: false`."""
        self._add_fault(Fault("fail", method, times, error=error, channel=channel))

    def server_error(self, method: str, status: int = 503, times: int = 1) -> None:
        """The next `times` calls of `method` answer an HTTP 5xx."""
        self._add_fault(Fault("server_error", method, times, status=status))

    def drop_connection(self, method: str, times: int = 1, *, after_accept: bool = False) -> None:
        """Close the socket without answering the next `times` calls of `method`.

        With `after_accept`, the call is processed first (a post is stored), so the
        client sees a connection error for something Slack did: with slack_sdk's default
        ConnectionErrorRetryHandler that becomes a duplicate post.
        """
        kind = "drop_after" if after_accept else "drop"
        self._add_fault(Fault(kind, method, times))

    def garble(self, method: str, times: int = 1, body: str = "<html><body>502 Bad Gateway</body></html>") -> None:
        """Process the next `times` calls of `method` (a post is stored), then answer
        HTTP 200 with `body`, which is not JSON: the outcome is unknown to the client."""
        self._add_fault(Fault("garble_after", method, times, body=body))

    def hold(self, method: str) -> threading.Event:
        """Park calls of `method` (e.g. "response_url") until the returned event is set.

        Parked requests wait outside the fake's lock, so everything else is served;
        `clear_faults()` and `reset()` release them too.
        """
        with self._changed():
            gate = self._holds.get(method)
            if gate is None or gate.is_set():
                gate = self._holds[method] = threading.Event()
            return gate

    def latency(self, seconds: float, method: str | None = None) -> None:
        """Delay answers (of `method`, or of every call); 0 removes the delay."""
        with self._changed():
            self._latency[method] = seconds

    def on_post(self, callback: Callable[[Call], None] | None) -> None:
        """Call `callback(call)` after a chat.postMessage is stored, before it is answered.

        It runs in the server thread; if it raises, the connection is dropped, like a
        crash between Slack accepting a post and the bot hearing about it.
        """
        with self._changed():
            self._on_post = callback

    def clear_faults(self) -> None:
        """Remove every injected fault, rate limit, latency and hook."""
        with self._changed():
            self._faults.clear()
            self._rate_limits.clear()
            self._windows.clear()
            self._latency.clear()
            for gate in self._holds.values():
                gate.set()
            self._holds.clear()
            self._on_post = None

    def _add_fault(self, fault: Fault) -> None:
        with self._changed():
            if fault.times > 0:
                self._faults.append(fault)

    def _take_fault(self, kind: str, method: str, params: Mapping[str, Any]) -> Fault | None:
        for fault in self._faults:
            if fault.matches(kind, method, params):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _injected_before(self, method: str, params: Mapping[str, Any]) -> Outcome | None:
        """The answer a fault gives instead of the method's (a drop, a 5xx, a 429), if any."""
        if self._take_fault("drop", method, params):
            return Outcome(0, None, fault="dropped", drop=True)
        fault = self._take_fault("server_error", method, params)
        if fault:
            error = {500: "internal_error", 503: "service_unavailable"}.get(
                fault.status, "fatal_error"
            )
            return Outcome(fault.status, {"ok": False, "error": error}, fault="server_error")
        limit = self._rate_limits.get(method)
        if limit is not None:
            limit.seen += 1
            if limit.seen % limit.every == 0:
                return Outcome(
                    429,
                    {"ok": False, "error": "ratelimited"},
                    headers={"Retry-After": str(limit.retry_after)},
                    fault="rate_limited",
                )
        window = self._windows.get(method)
        if window is not None:
            now = time.monotonic()
            while window.accepted and window.accepted[0] <= now - window.window:
                window.accepted.popleft()
            if len(window.accepted) >= window.per_window:
                wait = window.retry_after
                if wait is None:
                    wait = max(1, math.ceil(window.accepted[0] + window.window - now))
                return Outcome(
                    429,
                    {"ok": False, "error": "ratelimited"},
                    headers={"Retry-After": str(wait)},
                    fault="rate_limited",
                )
            window.accepted.append(now)
        return None

    def _injected_after(self, method: str, params: Mapping[str, Any], outcome: Outcome) -> None:
        """Spoil an accepted call's answer: the connection dropped, or a body that is not JSON."""
        if outcome.status == 200 and self._take_fault("drop_after", method, params):
            outcome.fault, outcome.drop = "dropped_after_accept", True
        elif outcome.status == 200 and (garble := self._take_fault("garble_after", method, params)):
            outcome.body, outcome.fault = garble.body, "garbled_after_accept"
            outcome.headers["Content-Type"] = "text/html; charset=utf-8"
