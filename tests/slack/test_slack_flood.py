"""Per-user question limits: a sliding window, one notice per burst, welcome again after."""

from __future__ import annotations

import pytest

from bot.slack.flood import QuestionLimit


def test_limit_then_one_notice_then_quiet_until_the_window_moves_on() -> None:
    now = [0.0]
    limit = QuestionLimit(3, 60.0, clock=lambda: now[0])
    assert [limit.check("U1") for _ in range(6)] == ["answer"] * 3 + ["notice", "quiet", "quiet"]
    assert limit.check("U2") == "answer"  # another person is not affected
    assert 59.0 <= limit.retry_after("U1") <= 60.0
    now[0] = 30.0
    assert limit.check("U1") == "quiet"
    now[0] = 60.5  # the first three questions left the window
    assert limit.check("U1") == "answer"
    assert [limit.check("U1") for _ in range(3)] == ["answer", "answer", "notice"]  # a new burst, a new notice


def test_zero_means_no_limit_and_unknown_users_are_answered() -> None:
    assert {QuestionLimit(0).check("U1") for _ in range(100)} == {"answer"}
    limit = QuestionLimit(1)
    assert [limit.check(None), limit.check(""), limit.check(None)] == ["answer"] * 3


def test_memory_is_bounded_by_the_number_of_users_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.slack.flood.MAX_USERS", 100)
    limit = QuestionLimit(1)
    for n in range(1000):
        limit.check(f"U{n}")
    assert len(limit._asked) == 100
