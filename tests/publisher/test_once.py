"""The one exactly-once mechanism (`bot.publisher.once`) on its own, with rows in a list.

Digests, recaps and weekly DMs go through it (their own tests drive it against
the fake Slack); here each branch is pinned with plain callables: a refusal
marks the row failed, an unanswered post is looked for before any retry, the
retries back off 1, 2, 4, 8 s, a row another process took is left alone.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from bot.publisher.once import (
    BACKOFF_SECONDS,
    MAX_ATTEMPTS,
    ExactlyOnce,
    NoAnswer,
    NotSent,
    Sent,
    backoff,
    find_by_metadata,
)
from bot.publisher.slack_calls import SlackRefused, SlackUncertain


class Rows:
    """Intents kept in a list: what was recorded, in order."""

    def __init__(self, *, retry_to: int | None = 2) -> None:
        self.events: list[tuple[str, Any, Any]] = []
        self.retry_to = retry_to

    def posted(self, row: int, ts: str, *, adopted: bool) -> None:
        self.events.append(("posted", row, (ts, adopted)))

    def failed(self, row: int, error: str) -> None:
        self.events.append(("failed", row, error))

    def noted(self, row: int, error: str) -> None:
        self.events.append(("noted", row, error))

    def retry(self, row: int) -> int | None:
        self.events.append(("retry", row, None))
        return None if self.retry_to is None else row + 1


def refused(error: str) -> SlackRefused:
    return SlackRefused("chat.postMessage", error)


def uncertain() -> SlackUncertain:
    return SlackUncertain("chat.postMessage", "HTTP 500")


def test_a_post_slack_answers_is_recorded_between_the_checkpoints() -> None:
    points: list[tuple[str, Any]] = []
    rows = Rows()
    once = ExactlyOnce(lambda s: None, lambda point, row: points.append((point, row)))
    sent = once.post(1, rows, send=lambda row: "111.1", find=lambda row: None, what="m")
    assert sent == Sent(1, "111.1", adopted=False)
    assert rows.events == [("posted", 1, ("111.1", False))]
    assert points == [("after_intent", 1), ("after_slack", 1), ("after_record", 1)]


def test_a_refusal_marks_the_row_failed_and_is_never_retried() -> None:
    rows, calls = Rows(), []

    def send(row: int) -> str:
        calls.append(row)
        raise refused("not_in_channel")

    with pytest.raises(NotSent) as caught:
        ExactlyOnce(lambda s: None).post(1, rows, send=send, find=lambda row: None, what="m")
    assert caught.value.refusal.error == "not_in_channel"
    assert calls == [1] and rows.events == [("failed", 1, "not_in_channel")]


def test_an_unanswered_post_found_by_its_metadata_is_adopted_not_sent_again() -> None:
    rows, sends = Rows(), []

    def send(row: int) -> str:
        sends.append(row)
        raise uncertain()

    sent = ExactlyOnce(lambda s: None).post(1, rows, send=send, find=lambda row: "222.2", what="m")
    assert sent == Sent(1, "222.2", adopted=True)
    assert sends == [1] and rows.events == [("posted", 1, ("222.2", True))]


def test_unanswered_posts_back_off_retry_the_row_and_give_up_leaving_it_pending() -> None:
    rows, looked = Rows(), []
    sleeps: list[float] = []

    def send(row: int) -> str:
        raise uncertain()

    def find(row: int) -> str | None:
        looked.append(row)
        return None

    with pytest.raises(NoAnswer, match="HTTP 500"):
        ExactlyOnce(sleeps.append).post(1, rows, send=send, find=find, what="m")
    assert sleeps == [BACKOFF_SECONDS * 2**i for i in range(MAX_ATTEMPTS - 1)] == [1, 2, 4, 8]
    assert looked == [1, 2, 3, 4, 5]  # a look-up before every retry, on the retried row
    assert [e[0] for e in rows.events] == ["retry"] * (MAX_ATTEMPTS - 1) + ["noted"]


def test_a_row_another_process_took_over_is_left_to_it() -> None:
    rows = Rows(retry_to=None)

    def send(row: int) -> str:
        raise uncertain()

    assert ExactlyOnce(lambda s: None).post(1, rows, send=send, find=lambda row: None, what="m") is None
    assert rows.events == [("retry", 1, None)]


def test_repeat_retries_only_calls_slack_did_not_answer() -> None:
    sleeps: list[float] = []
    answers: list[Any] = [uncertain(), uncertain(), "ok"]

    def call() -> str:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return str(answer)

    assert ExactlyOnce(sleeps.append).repeat(call) == "ok" and sleeps == [backoff(1), backoff(2)]
    with pytest.raises(SlackRefused):
        ExactlyOnce(sleeps.append).repeat(lambda: (_ for _ in ()).throw(refused("invalid_auth")))
    with pytest.raises(SlackUncertain):
        ExactlyOnce(lambda s: None).repeat(lambda: (_ for _ in ()).throw(uncertain()))


def test_find_by_metadata_reads_pages_until_every_key_is_found() -> None:
    pages: dict[str | None, Mapping[str, Any]] = {
        None: {"messages": [{"ts": "1", "id": 7}], "response_metadata": {"next_cursor": "b"}},
        "b": {"messages": [{"ts": "2", "id": 8}, {"ts": "3", "id": 8}], "response_metadata": {"next_cursor": "c"}},
        "c": {"messages": [{"ts": "4", "id": 9}]},
    }
    read: list[str | None] = []

    def page(cursor: str | None) -> Mapping[str, Any]:
        read.append(cursor)
        return pages[cursor]

    def key_of(message: Mapping[str, Any]) -> int | None:
        return message["id"]

    assert find_by_metadata(page, key_of, {7, 8}) == {7: "1", 8: "2"} and read == [None, "b"]
    read.clear()
    assert find_by_metadata(page, key_of, {9}, max_pages=2) == {} and read == [None, "b"]


def test_no_module_of_the_publisher_or_the_dm_pass_imports_another_modules_private_name() -> None:
    root = Path(__file__).resolve().parents[2] / "bot"
    files = [*sorted((root / "publisher").glob("*.py")), root / "weekly" / "dms.py", root / "weekly" / "job.py"]
    private = [
        f"{path.name}: from {node.module} import {alias.name}"
        for path in files
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bot")
        for alias in node.names
        if alias.name.startswith("_")
    ]
    assert private == []
