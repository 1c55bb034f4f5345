"""Exactly once: the one way a message reaches Slack, for digests, recaps and weekly DMs.

The steps (guarantees 1–3 of `bot.publisher`), whoever the message is for:

1. intent: a `pending` row is committed before Slack is called, and the
   message carries the row's id in its metadata (the caller's `send`);
2. lease: only the lease's holder sends (`bot.publisher.leases.Leases`,
   renewed by the caller before every write);
3. post: `chat.postMessage`; a clear refusal marks the row `failed` (certainly
   not posted) and is raised to the caller, who knows what it means there;
4. record: Slack's ts is committed right after the answer;
5. reconcile: an answer that is not a clear refusal (a 5xx, a dropped
   connection) leaves the post's fate unknown, so the message is looked for
   by its metadata (`find`, usually through `find_by_metadata`) before any
   retry, never re-sent blindly; the same look-up settles the `pending` rows
   a crash left.

The rows differ (a channel's `posts`, a person's `dm_posts`), so the store is
reached through `Intents`; Slack through the callables the caller hands in;
the clock and the sleep are injected, so tests drive retries with a fake clock.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from slack_sdk.web import SlackResponse

from bot.publisher.slack_calls import SlackRefused, SlackUncertain

#: Where a message without a logger of its own is logged (the publisher's one logger).
PUBLISHER_LOG = logging.getLogger("bot.publisher")

#: How long a lease lasts without renewal (it is renewed before every Slack write).
LEASE_TTL = dt.timedelta(minutes=10)
#: Attempts per call when Slack's answer is unknown (connection error, 5xx); also
#: how often a DM Slack refused is sent again over passes.
MAX_ATTEMPTS = 5
#: First wait between those attempts, doubled each time (1, 2, 4, 8 s).
BACKOFF_SECONDS = 1.0
#: How far before a post's attempt the look-up starts (clock skew with Slack).
RECONCILE_MARGIN = dt.timedelta(hours=1)

Row = TypeVar("Row")
Key = TypeVar("Key", bound=Hashable)
Result = TypeVar("Result")

Checkpoint = Callable[[str, Any], None]
"""Called with a step's name (`after_intent`, `after_slack`, `after_record`, `after_uncertain`, …)
and the row: tests raise from it to crash a run at exactly that point."""


def backoff(attempt: int) -> float:
    """Seconds to wait after the `attempt`-th unanswered call (1, 2, 4, 8 s)."""
    return BACKOFF_SECONDS * float(2 ** (attempt - 1))


class Intents(Protocol[Row]):
    """The rows behind messages, as `post` records them (one adapter per table)."""

    def posted(self, row: Row, ts: str, *, adopted: bool) -> None:
        """Slack has the message: record its ts (after this it is never sent again)."""

    def failed(self, row: Row, error: str) -> None:
        """Slack refused it: certainly not posted, safe to send on a later run."""

    def noted(self, row: Row, error: str) -> None:
        """Remember the last problem without changing the row's state."""

    def retry(self, row: Row) -> Row | None:
        """Take the row for one more attempt (compare-and-swap); None: another process has it."""


@dataclass(frozen=True, slots=True)
class Sent(Generic[Row]):
    """A message Slack has: its row, its ts, and whether it was found rather than sent now."""

    row: Row
    ts: str
    adopted: bool


class NotSent(Exception):
    """Slack refused the message (a clear error code): its row is marked failed."""

    def __init__(self, refusal: SlackRefused) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal


class NoAnswer(Exception):
    """Slack answered none of `MAX_ATTEMPTS` posts and none was found: the row stays pending."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ExactlyOnce:
    """The retry and look-up discipline shared by every message the bot owns.

    `sleep` waits between attempts; `checkpoint` (tests) is called at each step;
    `log` is the feature's logger (a DM's warnings stay under `bot.weekly.dms`).
    """

    sleep: Callable[[float], None]
    checkpoint: Checkpoint | None = None
    log: logging.Logger = PUBLISHER_LOG

    def check(self, point: str, row: Any) -> None:
        if self.checkpoint is not None:
            self.checkpoint(point, row)

    def repeat(self, call: Callable[[], Result]) -> Result:
        """A call safe to repeat (a read, `chat.update`, `conversations.open`): retried
        with backoff while Slack does not answer; the last `SlackUncertain` and any
        `SlackRefused` are raised."""
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return call()
            except SlackUncertain:
                if attempt == MAX_ATTEMPTS:
                    raise
                self.sleep(backoff(attempt))
        raise AssertionError("unreachable")  # pragma: no cover

    def post(
        self,
        row: Row,
        intents: Intents[Row],
        *,
        send: Callable[[Row], str],
        find: Callable[[Row], str | None],
        what: str,
    ) -> Sent[Row] | None:
        """Send the message of an intent row (already committed `pending`) exactly once.

        `send(row)` posts it with the row's id in its metadata and returns its ts;
        `find(row)` looks for it in Slack by that metadata. Returns what Slack has,
        or None when another process took the row over. Raises `NotSent` (Slack
        refused it: the row marked failed) or `NoAnswer` (`MAX_ATTEMPTS` unanswered
        posts, none of them found: the row left pending, its error noted); whatever
        `send` and `find` raise otherwise passes through. `what` names the message
        in the log.
        """
        self.check("after_intent", row)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                ts = send(row)
            except SlackRefused as err:
                intents.failed(row, err.error)
                raise NotSent(err) from err
            except SlackUncertain as err:
                self.check("after_uncertain", row)
                self.log.warning("%s: no answer to chat.postMessage (%s); looking for it", what, err.detail)
                found = find(row)
                if found is not None:
                    intents.posted(row, found, adopted=True)
                    return Sent(row, found, adopted=True)
                if attempt == MAX_ATTEMPTS:
                    intents.noted(row, err.detail)
                    raise NoAnswer(err.detail) from err
                self.sleep(backoff(attempt))
                retried = intents.retry(row)
                if retried is None:
                    return None
                row = retried
                continue
            self.check("after_slack", row)
            intents.posted(row, ts, adopted=False)
            self.check("after_record", row)
            return Sent(row, ts, adopted=False)
        raise AssertionError("unreachable")  # pragma: no cover


#: A page of messages as Slack answers it (`conversations.history` / `.replies`), or as a mapping.
Page = Mapping[str, Any] | SlackResponse


def find_by_metadata(
    read_page: Callable[[str | None], Page],
    key_of: Callable[[Mapping[str, Any]], Key | None],
    wanted: Collection[Key],
    *,
    max_pages: int | None = None,
) -> dict[Key, str]:
    """key -> ts of the messages, page by page, whose metadata names one of `wanted`.

    `read_page(cursor)` reads one page (history or a thread); `key_of(message)`
    is the key a message's metadata names, or None when it is not one we look
    for. Stops when every key is found, at the last page, or after `max_pages`.
    """
    found: dict[Key, str] = {}
    cursor: str | None = None
    pages = 0
    while max_pages is None or pages < max_pages:
        answer = read_page(cursor)
        pages += 1
        for message in answer.get("messages") or []:
            key = key_of(message)
            if key is not None and key in wanted:
                found.setdefault(key, str(message["ts"]))
        cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
        if not cursor or found.keys() >= set(wanted):
            break
    return found


__all__ = [
    "BACKOFF_SECONDS",
    "LEASE_TTL",
    "MAX_ATTEMPTS",
    "RECONCILE_MARGIN",
    "Checkpoint",
    "ExactlyOnce",
    "Intents",
    "NoAnswer",
    "NotSent",
    "Page",
    "Sent",
    "backoff",
    "find_by_metadata",
]
