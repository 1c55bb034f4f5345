#!/usr/bin/env python3
"""Related papers ("more like this" in a paper's thread): shared words alone against
shared words reranked by the semantic space, on the real archive.

    python bench/bench_related.py [--archive ../shared/archive]

There is no judged set for related papers, so this measures a proxy from the
topical set (tests/topical_queries.yaml): every paper graded 2 for a question is
a seed, and a related paper counts as right when the same question grades it 1
or 2 (an unjudged paper counts as wrong, so the figure is a lower bound).
Printed: seeds, mean P@5 and the share of the 5 that the question judged at all,
for each RELATED_WEIGHT (0: the shared-words order).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from bot.search import SearchEngine, ranking
from bot.search.evaluate import load_judged
from bot.store import Catalog, open_engine, sync_archive

QUESTIONS = HERE.parent / "tests" / "topical_queries.yaml"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archive", type=Path, default=HERE.parent.parent / "shared" / "archive")
    ap.add_argument("--weights", default="0,50,200,1000")
    args = ap.parse_args()
    if not args.archive.is_dir():
        sys.exit(f"no archive at {args.archive} (pass --archive)")
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(f"sqlite:///{tmp}/store.sqlite3")
        sync_archive(engine, args.archive)
        catalog = Catalog(engine)
        search = SearchEngine.build(list(catalog.iter_papers()), [s.topic for s in catalog.topics()])
    questions = load_judged(QUESTIONS)
    seeds = [(q, seed) for q in questions for seed, grade in q.judged.items() if grade == 2]
    print(f"{len(seeds)} seeds (papers graded 2) from {len(questions)} questions")
    for weight in (float(w) for w in args.weights.split(",")):
        ranking.RELATED_WEIGHT = weight
        right, judged = [], []
        for q, seed in seeds:
            found = [h.paper.arxiv_id for h in search.related(seed, limit=5).hits]
            right.append(sum(q.judged.get(i, 0) >= 1 for i in found) / 5)
            judged.append(sum(i in q.judged for i in found) / 5)
        print(f"RELATED_WEIGHT {weight:6.0f}: P@5 {statistics.mean(right):.3f}  judged {statistics.mean(judged):.3f}")


if __name__ == "__main__":
    main()
