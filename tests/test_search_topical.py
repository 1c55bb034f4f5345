"""Topical search quality on the real archive: graded judgments, nDCG@10, P@5, success@3.

The question set and how it was judged are described at the top of
tests/topical_queries.yaml. The engine must stay ahead of three real baselines
(character-bigram BM25, SQLite FTS5 trigram, tantivy with its own analysers) on
every measure, answer every question that has relevant papers, and not fall below
the levels it reached when the set was last judged.

The issue that asked for this set set higher targets (nDCG@10 >= 0.85,
success@3 >= 0.95, English nDCG@10 >= 0.80). The engine measures 0.849 / 0.949 /
0.826 (dev 0.851, held-out 0.843; bench/bench_search.py): the English target is
met, the other two not quite (success@3 is 74 of 78 questions, 75 are needed),
and `test_the_issues_targets` says so as an expected failure. The floors below
guard what was reached, with a margin for judging noise and for the semantic
space's randomized SVD (five other seeds measure nDCG@10 0.848-0.849 and
success@3 0.936; one question is 0.013 of success@3).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import yaml

from bot.search import SearchEngine
from bot.search.evaluate import Graded, evaluate_graded, load_judged
from bot.store import Catalog

QUESTIONS = Path(__file__).with_name("topical_queries.yaml")
BENCH = Path(__file__).resolve().parent.parent / "bench"

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
def measures(real_store: Catalog) -> dict[str, dict[str, Graded]]:
    sys.path.insert(0, str(BENCH))
    import baselines

    papers = list(real_store.iter_papers())
    engine = SearchEngine.build(papers, [s.topic for s in real_store.topics()])
    runs: dict[str, Callable[[str], Sequence[str]]] = {
        "engine": lambda text: [h.paper.arxiv_id for h in engine.search(text, limit=10).hits]
    }
    for name, cls in baselines.BASELINES.items():
        system = cls()
        system.build(papers)
        runs[name] = lambda text, s=system: s.ranked(text, 10)
    questions = load_judged(QUESTIONS)
    return {name: evaluate_graded(questions, run) for name, run in runs.items()}


def test_the_engine_reaches_its_measured_levels(measures: dict[str, dict[str, Graded]]) -> None:
    engine = measures["engine"]
    print({key: g.row() for key, g in engine.items()})
    assert engine["all"].ndcg10 >= 0.83
    assert engine["all"].p5 >= 0.88
    assert engine["all"].success3 >= 0.92
    assert engine["en"].ndcg10 >= 0.80  # the issue's English target
    assert engine["heldout"].ndcg10 >= 0.82  # not tuned on: the same level as the rest
    assert engine["all"].empty == []  # no question with relevant papers goes unanswered


@pytest.mark.xfail(strict=True, reason="not reached yet: nDCG@10 0.849 of 0.85, success@3 0.949 of 0.95")
def test_the_issues_targets(measures: dict[str, dict[str, Graded]]) -> None:
    # Strict: the day both are reached this passes, and the marker must go.
    engine = measures["engine"]
    assert engine["all"].ndcg10 >= 0.85
    assert engine["all"].success3 >= 0.95


def test_the_engine_is_ahead_of_every_baseline_on_every_measure(measures: dict[str, dict[str, Graded]]) -> None:
    engine = measures["engine"]
    for name in ("bm25", "fts5", "tantivy"):
        other = measures[name]
        for key in ("all", "en", "ja", "mixed", "typo"):
            assert engine[key].ndcg10 > other[key].ndcg10, (name, key)
        assert engine["all"].p5 > other["all"].p5, name
        assert engine["all"].success3 > other["all"].success3, name
