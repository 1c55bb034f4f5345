"""A made-up archive with many weeks and a few topics, for the trends chart (tests, docs picture).

Every title and name is the project's own writing; the counts follow a fixed
pattern, so tests know exactly what each week holds.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.model import Paper, TopicRef
from tests.support.archive_writer import write_digest, write_topic_page

NEWEST_WEEK = dt.date(2025, 3, 14)  # a Friday
WEEK = dt.timedelta(days=7)
WEEKS = 14
#: slug, Japanese name, English name, papers in week i (0 = oldest)
TOPICS: tuple[tuple[str, str, str, tuple[int, ...]], ...] = (
    ("sd", "合成データ", "Synthetic Data", (6, 7, 5, 8, 9, 7, 6, 10, 8, 7, 9, 11, 8, 12)),
    ("rl", "強化学習", "Reinforcement Learning", (3, 4, 4, 2, 5, 6, 4, 3, 5, 6, 4, 5, 7, 6)),
    ("mpc", "秘密計算", "Secure Computation", (1, 0, 2, 1, 0, 3, 1, 2, 0, 1, 2, 1, 3, 2)),
    ("gm", "生成モデル", "Generative Models", (0, 2, 1, 3, 2, 4, 3, 2, 4, 3, 5, 4, 3, 5)),
)


def weeks() -> list[dt.date]:
    """Every week of the archive, oldest first."""
    return [NEWEST_WEEK - (WEEKS - 1 - i) * WEEK for i in range(WEEKS)]


def write_trends_archive(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "_config.yml").write_text('title: "傾向の例"\nurl: "https://digests.example.net"\n', encoding="utf-8")
    write_topic_page(root, "all", "全て", "All")
    for t_index, (slug, name_ja, name_en, _) in enumerate(TOPICS):
        write_topic_page(root, slug, name_ja, name_en)
    for w_index, week in enumerate(weeks()):
        every: list[Paper] = []
        for t_index, (slug, name_ja, name_en, counts) in enumerate(TOPICS):
            ref = TopicRef(slug, name_ja)
            papers = [
                Paper(
                    arxiv_id=(aid := f"{week:%y%m}.{t_index + 5}{w_index:02d}{n:02d}"),
                    url=f"http://arxiv.org/abs/{aid}",
                    title=f"{name_en} Trend Study {week.isoformat()} No. {n}",
                    title_ja=f"{name_ja}の傾向 {week.isoformat()} その{n}",
                    authors=("Ada Example",),
                    summary=("架空の要約",),
                    topics=(ref,),
                    categories=("cs.LG",),
                    posted_at=dt.datetime.combine(week + dt.timedelta(days=1), dt.time(9, 0)),
                )
                for n in range(counts[w_index])
            ]
            if papers:
                write_digest(root, slug, name_ja, week, papers)
            every += papers
        write_digest(root, "all", "全て", week, every)
    return root
