"""A two-week archive where one paper is in two topics: the case where per-topic sums and
distinct paper counts disagree (issue 22, item 10).

Like the real archive, each week has its topics' digests and the site's `all`
digest holding each paper once. Titles and names are the project's own.

    week        sd                  fl                all (distinct)  sd + fl
    2025-01-03  2501.00001, …0002   2501.00003        3               3
    2025-01-10  SHARED, …0101, …0102 SHARED, …0103    4               5
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.model import Paper, TopicRef
from tests.support.archive_writer import write_digest, write_topic_page

OLDER = dt.date(2025, 1, 3)
NEWER = dt.date(2025, 1, 10)
#: In both `sd` and `fl` of the newer week.
SHARED = "2501.00100"
SD = TopicRef("sd", "合成データ")
FL = TopicRef("fl", "連合学習")
#: Distinct papers per week, oldest first; and what the topic rows add up to.
DISTINCT = (3, 4)
TOPIC_SUMS = (3, 5)
PER_TOPIC = {"sd": (2, 3), "fl": (1, 2)}


def _paper(arxiv_id: str, week: dt.date, *topics: TopicRef) -> Paper:
    return Paper(
        arxiv_id=arxiv_id,
        url=f"http://arxiv.org/abs/{arxiv_id}",
        title=f"Overlap Study {arxiv_id}",
        title_ja=f"重なりの研究 {arxiv_id}",
        authors=("Ada Example",),
        summary=("架空の要約",),
        topics=topics,
        categories=("cs.LG",),
        posted_at=dt.datetime.combine(week + dt.timedelta(days=1), dt.time(9, 0)),
    )


def write_overlap_archive(root: Path) -> Path:
    """Write the archive under `root` and return it."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "_config.yml").write_text('title: "重なりの例"\nurl: "https://digests.example.net"\n', encoding="utf-8")
    write_topic_page(root, "all", "全て", "All")
    write_topic_page(root, "sd", "合成データ", "Synthetic Data")
    write_topic_page(root, "fl", "連合学習", "Federated Learning")
    older = {
        "sd": [_paper("2501.00001", OLDER, SD), _paper("2501.00002", OLDER, SD)],
        "fl": [_paper("2501.00003", OLDER, FL)],
    }
    shared = _paper(SHARED, NEWER, SD, FL)
    newer = {
        "sd": [shared, _paper("2501.00101", NEWER, SD), _paper("2501.00102", NEWER, SD)],
        "fl": [shared, _paper("2501.00103", NEWER, FL)],
    }
    for week, digests in ((OLDER, older), (NEWER, newer)):
        every: dict[str, Paper] = {}
        for slug, papers in digests.items():
            write_digest(root, slug, "合成データ" if slug == "sd" else "連合学習", week, papers)
            for paper in papers:
                every.setdefault(paper.arxiv_id, paper)
        write_digest(root, "all", "全て", week, list(every.values()))
    return root
