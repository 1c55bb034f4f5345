"""The personal layer's renders: within Block Kit's limits and free of mentions, whatever they hold."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.model import Paper, ThreadInfo
from bot.render import unsafe_markup, violations
from bot.render.bibtex import bibtex
from bot.render.personal import (
    bibtex_text,
    follow_nothing,
    follow_saved,
    following_list,
    forget_done,
    notice,
    saved_list,
)
from bot.render.weekly_dm import FollowGroup, weekly_dm
from tests.conftest import schema_problems

HOSTILE = ["<!channel> *x* `y`", "&amp; <@U1> <#C1|c>", "🔐" * 300, "z" * 5000, "\u202eevil", "```"]


def paper(i: int) -> Paper:
    text = HOSTILE[i % len(HOSTILE)]
    return Paper(arxiv_id=f"2501.{i:05d}", url="", title=f"{text} {i}", title_ja=text, authors=(text,) * 30,
                 summary=(text,) * 10, categories=("cs.LG",))


def ok(message: dict[str, object]) -> None:
    assert violations(message) == []
    assert schema_problems(message["blocks"]) == []  # type: ignore[arg-type]
    assert unsafe_markup(message) == []


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_every_personal_render_holds_the_limits(lang: str) -> None:
    queries = [f"{HOSTILE[i % len(HOSTILE)]} {i}" for i in range(50)]
    ok(following_list([(i, q, i * 1000) for i, q in enumerate(queries)], muted=False, weeks=4, lang=lang))
    ok(following_list([], muted=True, weeks=4, lang=lang))
    papers = [paper(i) for i in range(12)]
    thread = ThreadInfo("C0SD", "1.000001", "https://fake.slack.com/archives/C0SD/p1", 3, 2, votes=7)
    ok(saved_list(papers, total=500, offset=5, threads={p.arxiv_id: thread for p in papers}, lang=lang))
    ok(saved_list([], total=0, offset=0, lang=lang))
    for q in HOSTILE:
        ok(follow_nothing(q, HOSTILE, lang=lang))
        ok(follow_saved(q, recent=12, weeks=4, dropped_dates=True, lang=lang))
        ok(notice("unfollow_unknown", lang=lang, text=q))
    ok(forget_done({"follows": 3}, lang=lang))
    ok(bibtex_text(bibtex([paper(i) for i in range(300)]), 300, lang=lang))
    groups = [FollowGroup(q, tuple(paper(i + j) for j in range(10)), 40) for i, q in enumerate(queries)]
    rendered = weekly_dm(dt.date(2025, 1, 17), groups, threads={p.arxiv_id: thread for p in papers}, lang=lang)
    assert rendered is not None
    message, listed = rendered
    ok(message)
    assert 0 < len(listed) <= 25 and len(set(listed)) == len(listed)


def test_no_match_means_no_dm() -> None:
    assert weekly_dm(dt.date(2025, 1, 17), [FollowGroup("x", (), 0)]) is None
