"""The Home tab: valid Block Kit within a view's limits, however much a person follows and saved."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.lookup import Lookup
from bot.model import Paper, ThreadInfo, Topic, TopicRef
from bot.personal import records
from bot.personal.answers import PersonalLookup
from bot.render import unsafe_markup, violations
from bot.render.home import MAX_VIEW_BLOCKS, HomeData, TopicWeek, home_view
from bot.search import LiveSearch
from bot.store import Catalog, open_engine
from tests.conftest import schema_problems
from tests.support.fake_slack import validate_view

NOW = dt.datetime(2025, 1, 24, 9, tzinfo=dt.UTC)
HOSTILE = ["<!channel> *bold* `tick` ~x~", "&lt; <@U123> <#C1|x>", "🔐" * 200, "x" * 5000, "\u202eevil", ""]


def check(view: dict[str, object]) -> None:
    blocks = view["blocks"]
    assert isinstance(blocks, list) and len(blocks) <= MAX_VIEW_BLOCKS
    validate_view(view)  # what views.publish accepts (the fake's rules)
    assert schema_problems(blocks) == []
    message = {"text": "home", "blocks": blocks}
    assert violations(message, max_blocks=MAX_VIEW_BLOCKS, text_budget=10**9) == []
    assert unsafe_markup(message) == []


def hostile_paper(i: int) -> Paper:
    text = HOSTILE[i % len(HOSTILE)]
    return Paper(
        arxiv_id=f"2501.{i:05d}",
        url=f"https://arxiv.org/abs/2501.{i:05d}",
        title=f"{text} {i}",
        title_ja=text,
        authors=(text,) * 40,
        topics=(TopicRef("dp", text),),
        categories=("cs.LG",),
    )


def test_fifty_follows_and_five_hundred_saved_papers_fit_a_valid_view() -> None:
    papers = [hostile_paper(i) for i in range(600)]
    thread = ThreadInfo("C0SD", "1.000001", "https://fake.slack.com/archives/C0SD/p1000001", 12, 4, votes=3)
    topics = tuple(
        TopicWeek(Topic(f"t{i}" * 30, HOSTILE[i % len(HOSTILE)], HOSTILE[(i + 1) % len(HOSTILE)]), 300, tuple(papers[:3]))
        for i in range(15)
    )
    data = HomeData(
        user_id="U0ME",
        week=dt.date(2025, 1, 17),
        topics=topics,
        follows=tuple((i, f"{HOSTILE[i % len(HOSTILE)]} query {i}") for i in range(50)),
        new=tuple(papers[:100]),
        new_total=4000,
        saved=tuple(papers[100:600]),
        saved_total=500,
        saved_ids=frozenset(p.arxiv_id for p in papers[100:600]),
        hot=tuple((p, thread) for p in papers[:20]),
        threads={p.arxiv_id: thread for p in papers},
    )
    for lang in ("en", "ja"):
        view = home_view(data, lang=lang)
        check(view)
        raw = json.dumps(view, ensure_ascii=False)
        assert "…and 490 more" in raw or "ほか 490" in raw  # the saved papers not shown are counted
    check(home_view(HomeData(user_id="U0NEW")))  # a person with nothing yet, an empty archive


@pytest.fixture
def real_copy(real_store: Catalog, tmp_path: Path) -> Iterator[Engine]:
    """A private copy of the real archive's store (the session's one stays read-only)."""
    source = Path(str(real_store.engine.url.database))
    shutil.copy(source, tmp_path / "store.sqlite3")
    engine = open_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    yield engine
    engine.dispose()


@pytest.mark.real_archive
def test_the_home_tab_of_a_heavy_user_over_the_real_archive(real_copy: Engine, tmp_path: Path) -> None:
    catalog = Catalog(real_copy)
    lookup = Lookup(catalog, LiveSearch(catalog, index_dir=tmp_path / "index"), real_copy, now=lambda: NOW)
    people = PersonalLookup(lookup)
    user = "U0HEAVY"
    newest = catalog.weeks()[0].week_start
    week_papers = [p.arxiv_id for d in catalog.digests(week=newest, with_papers=True) for p in d.papers]
    every = [p.arxiv_id for p in catalog.iter_papers()]
    for i, arxiv_id in enumerate(every[:500]):
        records.save_paper(real_copy, user, arxiv_id, now=NOW - dt.timedelta(minutes=i))
    queries = ["differential privacy", "federated learning", "synthetic data", "LLM", "author:Papernot"]
    queries += [f"topic:{t.topic.slug}" for t in catalog.topics()]
    queries += [f"privacy attack {i}" for i in range(50 - len(queries))]
    for query in queries[:50]:
        records.add_follow(real_copy, user, query, now=NOW)
    records.set_home_seen(real_copy, user, now=dt.datetime.combine(newest, dt.time(), dt.UTC) - dt.timedelta(days=10))
    assert records.count_follows(real_copy, user) == 50 and records.count_saved(real_copy, user) == 500

    for lang in ("en", "ja"):
        people.lang = lang
        view = people.home(user)
        check(view)
    raw = json.dumps(view, ensure_ascii=False)
    assert any(a in raw for a in week_papers)  # this week's digest
    assert "ほか 490" in raw  # 500 saved: ten shown, the rest counted
