"""Topical search quality on the real archive: graded judgments, nDCG@10, P@5, success@3.

The question set and how it was judged are described at the top of
tests/topical_queries.yaml. The engine must stay ahead of three real baselines
(character-bigram BM25, SQLite FTS5 trigram, tantivy with its own analysers) on
every measure, answer every question that has relevant papers, and not fall below
the levels it reached when the set was last judged.

The issue that asked for this set set the targets `test_the_issues_targets`
checks: nDCG@10 >= 0.85, success@3 >= 0.95, English nDCG@10 >= 0.80. The engine
measures 0.851 / 0.974 / 0.831 (dev 0.854, held-out 0.843; bench/bench_search.py),
with little to spare on nDCG@10: the semantic space's randomized SVD has a fixed
seed, so every build is the same, and five other seeds measure nDCG@10
0.850-0.852 and success@3 0.962 (one question is 0.013 of success@3). The
floors of `test_the_engine_reaches_its_measured_levels` guard the rest of what
was reached, with a margin for judging noise.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import yaml

from bot.search import SearchEngine
from bot.search.evaluate import Graded, evaluate_graded, load_judged
from bot.store import Catalog

QUESTIONS = Path(__file__).resolve().parents[1] / "topical_queries.yaml"
BENCH = Path(__file__).resolve().parents[2] / "bench"

pytestmark = pytest.mark.real_archive


def test_the_question_set_is_big_varied_and_judged() -> None:
    data = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    questions = data["queries"]
    assert len(questions) >= 60
    assert {q["lang"] for q in questions} >= {"en", "ja", "mixed", "typo"}
    topics = {t for q in questions for t in q["topics"]}
    assert topics >= {"sd", "fl", "dp", "he", "mpc", "pets", "ssi", "ftl", "tee", "zkp"}
    assert all(q.get("need") and q.get("split") in ("dev", "heldout") for q in questions)
    assert all(len(q["judged"]) >= 10 and set(q["judged"].values()) <= {0, 1, 2} for q in questions)
    assert sum(1 for q in questions if q["split"] == "heldout") >= 15


@pytest.fixture(scope="module")
def measures(real_store: Catalog, real_search: SearchEngine) -> dict[str, dict[str, Graded]]:
    sys.path.insert(0, str(BENCH))
    import baselines

    papers = list(real_store.iter_papers())
    engine = real_search
    runs: dict[str, Callable[[str], Sequence[str]]] = {
        "engine": lambda text: [h.paper.arxiv_id for h in engine.search(text, limit=10).hits]
    }
    for name, cls in baselines.BASELINES.items():
        system = cls()
        system.build(papers)
        runs[name] = functools.partial(system.ranked, limit=10)
    questions = load_judged(QUESTIONS)
    return {name: evaluate_graded(questions, run) for name, run in runs.items()}


def test_the_engine_reaches_its_measured_levels(measures: dict[str, dict[str, Graded]]) -> None:
    engine = measures["engine"]
    print({key: g.row() for key, g in engine.items()})
    assert engine["all"].p5 >= 0.88
    assert engine["heldout"].ndcg10 >= 0.82  # not tuned on: the same level as the rest
    assert engine["heldout"].success3 >= 0.95
    assert engine["all"].empty == []  # no question with relevant papers goes unanswered


def test_the_issues_targets(measures: dict[str, dict[str, Graded]]) -> None:
    engine = measures["engine"]
    assert engine["all"].ndcg10 >= 0.85
    assert engine["all"].success3 >= 0.95  # a paper graded 2 in the top 3
    assert engine["en"].ndcg10 >= 0.80  # English questions


def test_the_engine_is_ahead_of_every_baseline_on_every_measure(measures: dict[str, dict[str, Graded]]) -> None:
    engine = measures["engine"]
    for name in ("bm25", "fts5", "tantivy"):
        other = measures[name]
        for key in ("all", "en", "ja", "mixed", "typo"):
            assert engine[key].ndcg10 > other[key].ndcg10, (name, key)
        assert engine["all"].p5 > other["all"].p5, name
        assert engine["all"].success3 > other["all"].success3, name
