"""More like this: the papers sharing a paper's most telling terms (title, Japanese title
and summary, weighted by idf), the best `ranking.RERANK_DEPTH` of them reordered by their
cosine to the paper in the semantic space: shared words find the candidates, the subject
orders them (papers on it in other words come first)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import tantivy

from bot.search import ranking, semantic
from bot.search.analyze import field_terms
from bot.search.collect import key_query, to_hits
from bot.search.context import QueryContext
from bot.search.results import SearchResponse

#: Most terms of the paper asked for.
MAX_TERMS = 30


def related_papers(ctx: QueryContext, arxiv_id: str, limit: int = 5) -> SearchResponse:
    """Papers like `arxiv_id` in the state `ctx` holds (an empty answer when it lacks it)."""
    paper = ctx.paper(arxiv_id)
    if paper is None:
        return SearchResponse(query=arxiv_id)
    state, schema = ctx.state, ctx.schema
    wanted: defaultdict[tuple[str, str], float] = defaultdict(float)
    for name, text, weight in (("title", paper.title, 3.0), ("title_ja", paper.title_ja, 2.0),
                               ("summary", "\n".join(paper.summary), 1.0)):
        for term in field_terms(text).split():
            wanted[(name, term)] += weight
    scored: list[tuple[float, str, str]] = []
    for (name, term), tf in wanted.items():
        df = state.searcher.doc_freq(name, term)
        if df < 2 or len(term) < 2:
            continue
        scored.append((tf * ranking.idf(df, state.size), name, term))
    scored.sort(reverse=True)
    clauses = [
        (tantivy.Occur.Should,
         tantivy.Query.boost_query(tantivy.Query.term_query(schema, name, term), round(w, 3)))
        for w, name, term in scored[:MAX_TERMS]
    ]
    if not clauses:
        return SearchResponse(query=paper.title)
    clauses.append((tantivy.Occur.MustNot, key_query(schema, [arxiv_id])))
    reranked = ctx.rerank_space is not None
    depth = max(limit, int(ranking.RERANK_DEPTH)) if reranked else limit
    found = state.searcher.search(tantivy.Query.boolean_query(clauses), depth).hits
    if reranked and found:
        found = _rerank(ctx, state.searcher, arxiv_id, found)[:limit]
    hits = to_hits(state.searcher, found, ())
    return SearchResponse(query=paper.title, hits=tuple(hits), total=len(hits))


def _rerank(
    ctx: QueryContext, searcher: tantivy.Searcher, arxiv_id: str, found: list[tuple[float, Any]]
) -> list[tuple[float, Any]]:
    """The more-like-this candidates by their score (the best at 100) plus RELATED_WEIGHT
    times their cosine to the paper itself in the semantic space. `searcher` is the one
    that found them: their addresses mean nothing to another."""
    own = searcher.search(key_query(ctx.schema, [arxiv_id]), 1).hits
    if not own:
        return found
    packed = [searcher.fast_field_values(f, [own[0][1]] + [a for _s, a in found]) for f in semantic.FIELDS]
    seed = semantic.unpack([column[:1] for column in packed])[0]
    cosines = semantic.cosines(seed / (float(np.linalg.norm(seed)) or 1.0), [column[1:] for column in packed])
    top = max(s for s, _a in found) or 1.0
    weight = ranking.RELATED_WEIGHT
    scored = [(100.0 * s / top + weight * float(c), a) for (s, a), c in zip(found, cosines, strict=True)]
    return sorted(scored, key=lambda sa: -sa[0])
