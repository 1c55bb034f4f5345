"""Collecting from one tantivy searcher: the best hits with equal scores ordered newest
first (the same ordering whatever the page), the count that comes with them, a paper by
its id, and hits turned into papers.

Every function takes the searcher it reads: document addresses of one searcher mean
nothing to another, so a query passes the one it started with throughout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tantivy

from bot.model import Paper
from bot.search.concepts import Concept
from bot.search.disk_index import decode_paper, paper_key
from bot.search.matched import matched_fields
from bot.search.results import Hit
from bot.search.tagging import Tagger

#: Extra candidates fetched so that equal scores at the page's edge are ordered newest first.
TIE_WINDOW = 10
#: The first window is this many times the need (a wider heap is nearly free; a second pass is not).
TIE_FACTOR = 4
MAX_TIES = 4000


def count(result: tantivy.SearchResult) -> int:
    """The number of matching papers (the binding's type stubs omit `count`)."""
    return int(result.count)  # type: ignore[attr-defined]


def top(searcher: tantivy.Searcher, query: tantivy.Query, need: int) -> tuple[list[tuple[float, Any]], int]:
    """The best `need` hits, equal scores ordered newest first, and how many papers match.

    tantivy breaks ties by index position, and a page boundary may fall inside a
    run of equal scores: the window holds the whole run (up to MAX_TIES), so every
    page cuts the same ordering and pages never overlap. It starts at TIE_FACTOR
    times the need, since a wider heap costs next to nothing beside a second pass
    over the postings; the count comes with the pass (a count collector beside
    the top one), so no second traversal is needed for "N papers" either.
    """
    window = max(need + TIE_WINDOW, TIE_FACTOR * need)
    while True:
        result = searcher.search(query, window, count=True)
        hits = result.hits
        if len(hits) < window or need == 0 or window >= MAX_TIES:
            break
        if _tie(hits[-1][0], hits[min(need, len(hits)) - 1][0]):
            window *= 4
            continue
        break
    total = count(result)
    if len(hits) < 2:
        return list(hits), total
    recency = searcher.fast_field_values("recency", [a for _s, a in hits])
    order = sorted(range(len(hits)), key=lambda i: (-round(hits[i][0], 4), -(recency[i] or 0)))
    return [hits[i] for i in order][:need], total


def _tie(a: float, b: float) -> bool:
    return round(a, 4) == round(b, 4)


def all_of(filters: Sequence[tantivy.Query]) -> tantivy.Query:
    """Papers passing every filter (every paper when there is none)."""
    if not filters:
        return tantivy.Query.all_query()
    return tantivy.Query.boolean_query([(tantivy.Occur.Must, f) for f in filters])


def key_query(schema: tantivy.Schema, arxiv_ids: Sequence[str]) -> tantivy.Query:
    """The papers with these arXiv ids."""
    return tantivy.Query.term_set_query(schema, "key", [paper_key(a) for a in arxiv_ids])


def paper_by_id(searcher: tantivy.Searcher, schema: tantivy.Schema, arxiv_id: str) -> Paper | None:
    """The paper as `searcher`'s commit holds it, else None."""
    hits = searcher.search(key_query(schema, [arxiv_id]), 1).hits
    return decode_paper(searcher.doc(hits[0][1])["paper"][0]) if hits else None


def to_hits(
    searcher: tantivy.Searcher, found: Sequence[tuple[float, Any]], concepts: Sequence[Concept],
    tagger: Tagger | None = None,
) -> list[Hit]:
    """The found addresses as papers, scores scaled so the best is 100, each with the
    fields it matched `concepts` in (none asked: no concepts)."""
    best = max((s for s, _a in found), default=0.0) or 1.0
    hits = []
    for score, address in found:
        paper = decode_paper(searcher.doc(address)["paper"][0])
        hits.append(Hit(paper, round(100 * score / best, 1), matched_fields(paper, concepts, tagger)))
    return hits
