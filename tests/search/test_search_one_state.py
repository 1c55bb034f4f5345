"""One query answers from one state of the index, whole (issue 23).

A reload or an update may swap the engine's searcher while a query runs; the query
keeps reading the searcher it started with (its `QueryContext`). The rerank of related
papers was fixed for this in eff2626; these tests hold the lookup of the ids a query
names (`QueryPass._pinned`, which read the engine's current state) to it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.search import Query, SearchEngine, SearchResponse, parse_query
from tests.search.test_search_engine import TOPICS, paper


def _racing(query: Query, swap: Callable[[], None]) -> Query:
    """The query, calling `swap` (an update or reload) the first time its arXiv ids are
    read: the moment a query starts looking its ids up, after it took its searcher."""
    fired: list[bool] = []

    class Racing(Query):
        def __getattribute__(self, name: str) -> Any:
            if name == "arxiv_ids" and not fired:
                fired.append(True)
                swap()
            return super().__getattribute__(name)

    return Racing(**{f.name: getattr(query, f.name) for f in dataclasses.fields(query)})


def _answer(response: SearchResponse) -> tuple[object, ...]:
    return ([(h.paper.arxiv_id, h.paper.title, h.score, h.matched) for h in response.hits],
            response.total, response.notices, response.suggestions)


def test_an_id_looked_up_while_another_process_removes_it_is_read_from_the_querys_own_state(
    tmp_path: Path,
) -> None:
    papers = [paper("2401.00001", "Federated learning"), paper("2401.00002", "Federated analytics")]
    writer = SearchEngine.build(papers, TOPICS, path=tmp_path / "index")
    reader = SearchEngine.open(tmp_path / "index", TOPICS)
    query = parse_query("2401.00002 federated")
    before = reader.search(query)
    assert [h.paper.arxiv_id for h in before.hits] == ["2401.00002", "2401.00001"]

    def another_process_removes_it() -> None:
        writer.update([], ["2401.00002"])
        reader.reload()

    during = reader.search(_racing(query, another_process_removes_it))
    assert _answer(during) == _answer(before)  # not "arXiv:2401.00002 is not in the archive"
    assert [h.paper.arxiv_id for h in reader.search(query).hits] == ["2401.00001"]  # the next query sees it gone


def test_an_id_looked_up_during_an_update_is_the_version_the_query_ranks() -> None:
    engine = SearchEngine.build([paper("2401.00001", "Federated learning")], TOPICS)
    query = parse_query("2401.00001")
    before = engine.search(query)

    def retitle() -> None:
        engine.update([paper("2401.00001", "Homomorphic encryption")], [])

    during = engine.search(_racing(query, retitle))
    assert _answer(during) == _answer(before)
    assert engine.search(query).hits[0].paper.title == "Homomorphic encryption"
