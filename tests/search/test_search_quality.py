"""Search quality on the real archive: the labelled query set must be answered well.

Skips cleanly when the real archive is not present (see conftest.real_archive).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.search import SearchEngine
from bot.search.evaluate import Answer, evaluate, load_queries, table

QUERIES = Path(__file__).resolve().parents[1] / "search_queries.yaml"

pytestmark = pytest.mark.real_archive


@pytest.fixture(scope="module")
def engine(real_search: SearchEngine) -> SearchEngine:
    return real_search


def test_query_set_is_big_and_varied() -> None:
    queries = load_queries(QUERIES)
    assert len(queries) >= 80
    categories = {q.category for q in queries}
    assert {"english", "typo", "partial", "japanese", "width", "author", "id", "url", "topic",
            "category", "date", "combo", "phrase", "nomatch"} <= categories
    assert all(q.expect or q.nomatch for q in queries)


def test_expected_papers_exist(engine: SearchEngine) -> None:
    missing = [(q.query, a) for q in load_queries(QUERIES) for a in q.expect if engine.paper(a) is None]
    assert missing == []


def test_hit_at_5_and_mrr(engine: SearchEngine) -> None:
    def run(text: str) -> Answer:
        response = engine.search(text, limit=10)
        return Answer(tuple(h.paper.arxiv_id for h in response.hits), bool(response.suggestions))

    overall, per = evaluate(load_queries(QUERIES), run)
    print("\n" + table(overall, per))
    for name, metrics in per.items():
        if metrics.misses:
            print(f"{name}: not in the top 10: {metrics.misses}")
    assert overall.hit_at_5 >= 0.98
    assert overall.mrr >= 0.95
