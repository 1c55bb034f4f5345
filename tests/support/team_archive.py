"""A real-looking team archive of the project's own writing: several topics, weeks, a stale topic.

Shaped like a real digest site (topic folders, `_all`, `_pages`, `_config.yml`)
so first-contact tests can configure it as a new team would: two topics with
a digest every week up to the newest, and one topic whose newest digest is
six weeks older (what flooded a first start). Every paper is made up here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from bot.model import Paper, TopicRef
from tests.support.archive_writer import write_digest, write_topic_page

#: The archive's newest week (a Friday; digest weeks start on Fridays).
NEWEST_WEEK = dt.date(2025, 3, 14)
WEEK = dt.timedelta(days=7)


@dataclass(frozen=True)
class TeamTopic:
    slug: str
    name_ja: str
    name_en: str
    weeks: tuple[dt.date, ...]


TOPICS = (
    TeamTopic("sd", "合成データ", "Synthetic Data", tuple(NEWEST_WEEK - i * WEEK for i in range(3, -1, -1))),
    TeamTopic("rl", "強化学習", "Reinforcement Learning", tuple(NEWEST_WEEK - i * WEEK for i in range(3, -1, -1))),
    # Stale: its newest digest is six weeks older than the archive's newest week.
    TeamTopic("mpc", "秘密計算", "Secure Computation", tuple(NEWEST_WEEK - i * WEEK for i in range(8, 5, -1))),
)
PAPERS_PER_DIGEST = 2


def paper_id(topic_index: int, week: dt.date, n: int) -> str:
    """A made-up arXiv id: yymm of the week, then 9 + topic + day + n (never an example's)."""
    return f"{week:%y%m}.9{topic_index}{week.day:02d}{n}"


def papers_of(topic_index: int, topic: TeamTopic, week: dt.date) -> list[Paper]:
    ref = TopicRef(topic.slug, topic.name_ja)
    return [
        Paper(
            arxiv_id=(aid := paper_id(topic_index, week, n)),
            url=f"http://arxiv.org/abs/{aid}",
            title=f"{topic.name_en} Study {week.isoformat()} No. {n}: Lattice Sketches for Teams",
            title_ja=f"{topic.name_ja}の研究 {week.isoformat()} その{n}",
            authors=("Ada Example", f"Kenji Sample{n}"),
            summary=("チームのために書いた架空の要約", "二つ目の要点"),
            topics=(ref,),
            categories=("cs.LG",),
            posted_at=dt.datetime.combine(week + dt.timedelta(days=n), dt.time(9, 30)),
        )
        for n in range(1, PAPERS_PER_DIGEST + 1)
    ]


def newest_week_ids() -> list[str]:
    """Every paper of the archive's newest week (the topics that have a digest in it)."""
    return [
        paper_id(i, NEWEST_WEEK, n)
        for i, topic in enumerate(TOPICS)
        if NEWEST_WEEK in topic.weeks
        for n in range(1, PAPERS_PER_DIGEST + 1)
    ]


def write_team_archive(root: Path, *, upto: dt.date = NEWEST_WEEK) -> Path:
    """Write the archive under `root` (weeks after `upto` left out) and return `root`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "_config.yml").write_text(
        'title: "チームの論文まとめ"\nurl: "https://digests.example.net"\nbaseurl: ""\n', encoding="utf-8"
    )
    write_topic_page(root, "all", "全て", "All")
    by_week: dict[dt.date, list[Paper]] = {}
    for i, topic in enumerate(TOPICS):
        write_topic_page(root, topic.slug, topic.name_ja, topic.name_en)
        for week in topic.weeks:
            if week > upto:
                continue
            papers = papers_of(i, topic, week)
            write_digest(root, topic.slug, topic.name_ja, week, papers)
            by_week.setdefault(week, []).extend(papers)
    for week, papers in by_week.items():
        write_digest(root, "all", "全て", week, papers)
    return root
