"""Progress lines for logs: a line at every tenth of the way, with the time left."""

from __future__ import annotations

from bot.progress import ProgressLines, duration


def test_a_line_at_every_tenth_and_at_the_end_with_the_time_left() -> None:
    lines: list[str] = []
    now = [0.0]
    report = ProgressLines(lines.append, "indexing", "files", clock=lambda: now[0])
    for done in range(1, 4001):
        now[0] = done * 0.01
        report(done, 4000, f"_sd/{done}.md")
    assert len(lines) == 11
    assert lines[0] == "indexing: 1/4000 files (0%), 0 s elapsed, about 40 s left (_sd/1.md)"
    assert lines[1] == "indexing: 400/4000 files (10%), 4 s elapsed, about 36 s left (_sd/400.md)"
    assert lines[-1] == "indexing: 4000/4000 files (100%), 40 s elapsed (_sd/4000.md)"
    report(4000, 4000)
    assert len(lines) == 11  # the end is said once


def test_a_total_that_grows_never_goes_past_100_percent() -> None:
    lines: list[str] = []
    report = ProgressLines(lines.append, "posting", "messages", clock=lambda: 0.0)
    report(3, 2, "dp 2025-01-17")  # an edit found on the way: one more than estimated
    assert lines == ["posting: 3/3 messages (100%), 0 s elapsed (dp 2025-01-17)"]


def test_durations_read_like_a_person_would_say_them() -> None:
    assert [duration(s) for s in (0.4, 45, 89, 90, 3599, 3600, 3900)] == [
        "0 s", "45 s", "89 s", "2 min", "1 h", "1 h", "1 h 5 min"
    ]
