"""One query's pass over one state of the index (a `QueryContext`): the papers it names by
id first, its filters, its concepts weighed, the ranked passes (papers holding all the
concepts first, fewer only while the page is short), the semantic rerank, the page, and
"did you mean" when the first page is empty.

Everything here reads the context the query started with, never the engine: an update
or a reload meanwhile swaps the engine's context, not this one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tantivy

from bot.model import Paper
from bot.search import ranking, semantic
from bot.search.collect import all_of, count, to_hits, top
from bot.search.concepts import Concept, plan
from bot.search.context import QueryContext
from bot.search.filters import Filters, read_filters
from bot.search.query import Query
from bot.search.results import Hit, SearchResponse
from bot.search.semantic import Space
from bot.search.suggestions import did_you_mean


class QueryPass:
    """One query against one state of the index; `run` answers it."""

    def __init__(
        self, ctx: QueryContext, query: Query, limit: int, offset: int, *, strict: bool = False,
        fields: bool = False, question: bool = False,
    ) -> None:
        self.ctx = ctx
        self.strict = strict
        self.question = question and not strict
        self.fields = fields
        self.q = query
        self.limit = limit
        self.offset = offset
        self.notices: list[str] = list(query.notices)
        self.closest = False  # no paper holds nearly every concept (`SearchResponse.closest`)
        self.weighed: list[ranking.Weighed] = []  # the concepts `run` weighed
        self.suggestions: list[str] = []

    def concepts(self) -> list[Concept]:
        return plan(self.q, self.ctx.resources())

    def weigh(self, concepts: Sequence[Concept]) -> list[ranking.Weighed]:
        searcher, n = self.ctx.searcher, max(self.ctx.state.size, 1)
        out = []
        for concept in concepts:
            df = ranking.estimate_df(searcher, concept)
            out.append(ranking.Weighed(concept, df, ranking.idf(df, n)))
        return out

    def run(self) -> SearchResponse:
        q, searcher = self.q, self.ctx.searcher
        pinned = self._pinned()
        filters = read_filters(self.ctx, q)
        self.notices += filters.notices
        self.suggestions += filters.suggestions
        need = self.offset + self.limit + len(pinned)
        concepts = self.concepts() if q.has_text else []
        for concept in concepts:
            self.notices += concept.notices
        weighed = self.weighed = self.weigh(concepts)
        for w in weighed:
            if w.df == 0:
                self.notices.append(f"no paper has `{w.concept.label}`")
        hits, total = self._found(filters, weighed, need)
        papers_hits = to_hits(searcher, hits, concepts if self.fields else (), self.ctx.tagger)
        if pinned:
            pinned_ids = {p.arxiv_id for p in pinned}
            rest = [h for h in papers_hits if h.paper.arxiv_id not in pinned_ids]
            total += len(pinned) - (len(papers_hits) - len(rest))
            papers_hits = [Hit(p, 100.0, ("arxiv_id",)) for p in pinned] + rest
        page = tuple(papers_hits[self.offset : self.offset + self.limit])
        if not page and self.offset == 0:
            self.suggestions += did_you_mean(self.ctx, q, concepts, suggested=bool(self.suggestions))
        return SearchResponse(
            query=q.raw,
            hits=page,
            total=total,
            offset=self.offset,
            suggestions=tuple(dict.fromkeys(self.suggestions))[:5],
            notices=tuple(dict.fromkeys(self.notices)),
            closest=self.closest,
        )

    def _found(
        self, filters: Filters, weighed: Sequence[ranking.Weighed], need: int
    ) -> tuple[list[tuple[float, Any]], int]:
        """The candidates besides the pinned papers, and how many papers match: ranked by
        the concepts, else the newest passing the filters (or of all, for an empty query);
        none when a filter can match nothing (its notice says why) or only ids were typed."""
        q = self.q
        if filters.impossible:
            return [], 0
        if weighed:
            return self._ranked(weighed, filters.queries, need)
        if filters.queries or not (q.arxiv_ids or q.has_text):
            query = all_of(filters.queries)
            result = self.ctx.searcher.search(query, max(need, 1), count=True, order_by_field="recency")
            return [(100.0, a) for _k, a in result.hits], count(result)
        return [], 0

    def _ranked(
        self, weighed: Sequence[ranking.Weighed], filters: Sequence[tantivy.Query], need: int
    ) -> tuple[list[tuple[float, Any]], int]:
        """The page's candidates, best first, and how many papers really match.

        Answers hold at least half of the concepts; when some do but fewer than a
        page, papers holding fewer follow them (a question always gets a full page
        once anything answers it). The count is of papers holding nearly all (`strict`).
        """
        searcher, schema = self.ctx.searcher, self.ctx.schema
        decide = ranking.deciding(weighed, self.ctx.state.size)
        concepts, k = [w.concept for w in decide], len(decide)
        gate = ranking.needed(k)
        # Papers holding more concepts always rank above those holding fewer, so the
        # page is found by asking for all of them first and fewer only while it is short:
        # an intersection is cheap where a union of common concepts is not.
        hits: list[tuple[float, Any]] = []
        full = ranking.strict(k)
        space = self.ctx.rerank_space
        depth = max(need, int(ranking.RERANK_DEPTH)) if space is not None else need
        counted: dict[int, int] = {}  # papers holding at least `held` concepts, as each pass counts them
        for held in range(k, (full if self.strict else gate) - 1, -1):
            hits, counted[held] = top(searcher, ranking.text_query(schema, weighed, decide, held, filters), depth)
            if len(hits) >= depth:
                break
        if not hits and self.question and gate > 1:  # nothing holds enough: the closest (said below)
            hits, counted[1] = top(searcher, ranking.text_query(schema, weighed, decide, 1, filters), depth)
        if not hits:
            return [], 0

        def count_at(held: int) -> int:  # a pass at that level counted them already, or one count query
            if held not in counted:
                query = ranking.count_query(schema, concepts, held, filters)
                counted[held] = count(searcher.search(query, 1, count=True))
            return counted[held]

        total = count_at(full)
        if total == 0:
            self.closest = True
            self.notices.append("no paper matches every part of the question; showing the closest")
            total = count_at(gate)
        if len(hits) < depth and gate > 1 and not self.strict:
            more, _n = top(searcher, ranking.text_query(schema, weighed, decide, 1, filters), depth)
            seen = {(a.segment_ord, a.doc) for _s, a in hits}
            hits += [(s, a) for s, a in more if (a.segment_ord, a.doc) not in seen]
        if space is not None:
            # Only the best RERANK_DEPTH, whatever the page: every page cuts the same ordering.
            window = int(ranking.RERANK_DEPTH)
            best = max((sc for sc, _a in hits), default=0.0) or 1.0
            scaled = [(100.0 * sc / best, a) for sc, a in hits[:depth]]  # the best at 100
            hits = self._rerank(space, weighed, scaled[:window]) + scaled[window:]
        return hits[:need], total

    def _rerank(
        self, space: Space, weighed: Sequence[ranking.Weighed], hits: list[tuple[float, Any]]
    ) -> list[tuple[float, Any]]:
        """The candidates (scored, the best at 100) by their score plus SEMANTIC_WEIGHT times
        the cosine of the question to the paper in the semantic space; ties keep their order."""
        query = space.query(
            (term, alt.weight) for w in weighed for alt in w.concept.alternatives
            for term in (alt.terms or [t for part in alt.parts for t in part])
        )
        if query is None or len(hits) < 2:
            return hits
        searcher = self.ctx.searcher
        addresses = [a for _s, a in hits]
        packed = [searcher.fast_field_values(f, addresses) for f in semantic.FIELDS]
        cosines = semantic.cosines(query, packed)
        scored = [(s + ranking.SEMANTIC_WEIGHT * float(c), a) for (s, a), c in zip(hits, cosines, strict=True)]
        order = sorted(range(len(scored)), key=lambda i: -round(scored[i][0], 4))
        return [scored[i] for i in order]

    def _pinned(self) -> list[Paper]:
        """The papers the query names by id, read through this query's own searcher (the
        engine's may have been swapped by a reload since the query took it)."""
        found = []
        for arxiv_id in self.q.arxiv_ids:
            paper = self.ctx.paper(arxiv_id)
            if paper is None:
                self.notices.append(f"arXiv:{arxiv_id} is not in the archive")
            else:
                found.append(paper)
        return found
