"""Concepts -> tantivy queries: BM25 over weighted fields, OR semantics, a gate on the core.

The score of a paper is the sum, over the query's concepts, of the best of its
alternatives (a disjunction-max with a small tie-breaker, so `FL` and `連合学習`
together count a little more than either, not twice), each alternative scored
by BM25 in every field it may stand in, fields weighted (titles first, then
the summary, the topic's names, authors; the editor's remark and the arXiv
comment barely).

Which papers are answers at all: not every paper sharing a word. An answer
holds at least half of the query's concepts (`needed`), so a long natural
question still gets a full page, and the ranking puts those holding more of
them first. The count a user is told ("N papers") is of papers that really
match (`strict`: all concepts of up to three, three quarters of more), so
`unlearning` no longer claims every paper about learning.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import tantivy

from bot.search.concepts import Alternative, Concept, bag_df_need, bag_query_need
from bot.search.disk_index import OWN_FIELDS

#: Field weights for Latin terms and for Japanese terms.
ENGLISH_FIELDS = {"title": 3.0, "title_ja": 2.0, "summary": 1.0, "topics": 0.7, "authors": 1.5, "comment": 0.3, "remark": 0.3}
#: With the English learned for the paper's Japanese text (`tagging`).
LATIN_FIELDS = {**ENGLISH_FIELDS, "xlat": 0.8}
JA_FIELDS = {"title_ja": 3.0, "summary": 1.0, "topics": 0.7, "title": 1.0, "remark": 0.3}
#: A glossary concept's term stands in every field the paper names things in.
CONCEPT_FIELDS = {"title": 3.0, "title_ja": 3.0, "summary": 1.0, "topics": 0.7, "comment": 0.3, "remark": 0.3}
#: Most of a long Japanese compound's bigrams, or each of its words: looked for in the Japanese
#: title only (in summaries, common bigrams make it the slowest clause of all, for little).
BAG_FIELDS = {"title_ja": 3.0}
#: A narrower concept's token (`concepts.NARROWER_WEIGHT`): where the paper says what it is about
#: (half the clauses of a concept's own, and there may be a dozen narrower ones).
NARROWER_FIELDS = {"title": 3.0, "title_ja": 3.0, "summary": 1.0}
_FIELDS = {"latin": LATIN_FIELDS, "english": ENGLISH_FIELDS, "ja": JA_FIELDS, "concept": CONCEPT_FIELDS,
           "narrower": NARROWER_FIELDS}
TIE_BREAKER = 0.2
#: What holding a concept at all adds to a paper's score (BM25 units).
COORDINATION = 200.0

Occur = tantivy.Occur


@dataclass(frozen=True, slots=True)
class Weighed:
    """A concept with what the index says of it: how many papers answer it, its idf."""

    concept: Concept
    df: int
    idf: float


def _field_query(schema: tantivy.Schema, name: str, alt: Alternative) -> tantivy.Query:
    return _alternative(alt, lambda terms: _phrase(schema, name, terms))


def _alternative(alt: Alternative, found: Callable[[tuple[str, ...]], tantivy.Query]) -> tantivy.Query:
    """Papers holding the alternative, `found(terms)` asking where a term or a phrase
    stands: each part of a compound, most of a bag's distinct terms (two at least:
    `concepts.bag_query_need`), or its terms as a phrase."""
    if alt.parts:
        return tantivy.Query.boolean_query([(Occur.Must, found(p)) for p in alt.parts])
    if alt.bag and len(alt.terms) > 1:
        clauses = [(Occur.Should, found((t,))) for t in dict.fromkeys(alt.terms)]
        return tantivy.Query.boolean_query(clauses, bag_query_need(len(clauses)))
    return found(alt.terms)


def _phrase(schema: tantivy.Schema, name: str, terms: tuple[str, ...]) -> tantivy.Query:
    if len(terms) == 1:
        return tantivy.Query.term_query(schema, name, terms[0])
    return tantivy.Query.phrase_query(schema, name, list(terms))


def alternative_query(schema: tantivy.Schema, alt: Alternative) -> tantivy.Query:
    """The alternative's BM25 in every field it may stand in, fields weighted."""
    fields = BAG_FIELDS if alt.bag or alt.parts else _FIELDS[alt.script]
    clauses = [
        (Occur.Should, tantivy.Query.boost_query(_field_query(schema, name, alt), boost * alt.weight))
        for name, boost in fields.items()
        if name != "authors" or alt.via == "typed"  # a name is typed, never a synonym of one
    ]
    return tantivy.Query.boolean_query(clauses)


def match_query(schema: tantivy.Schema, concept: Concept) -> tantivy.Query:
    """Unscored: papers holding any alternative of the concept in their own text (any of
    `OWN_FIELDS`: not the topic names, which say what a digest is about, not the paper),
    or an English word in the English learned for their Japanese text (`xlat`)."""
    alts = [_held_query(schema, a) for a in concept.alternatives]
    alts += [_field_query(schema, "xlat", a) for a in concept.alternatives if a.script == "latin" and len(a.terms) == 1]
    return alts[0] if len(alts) == 1 else tantivy.Query.boolean_query([(Occur.Should, q) for q in alts])


def _held_query(schema: tantivy.Schema, alt: Alternative) -> tantivy.Query:
    """Papers holding the alternative in their own text: each term, or each phrase within
    one field, in any of the fields (a bag's terms, a compound's parts in any of them)."""
    return _alternative(alt, lambda terms: _in_own_text(schema, terms))


def _in_own_text(schema: tantivy.Schema, terms: tuple[str, ...]) -> tantivy.Query:
    """A term, or a phrase within one field, in any of the paper's own fields."""
    return tantivy.Query.boolean_query([(Occur.Should, _phrase(schema, f, terms)) for f in OWN_FIELDS])


def concept_query(schema: tantivy.Schema, concept: Concept) -> tantivy.Query:
    """Scored: the best alternative's BM25 (disjunction-max; holding the concept at all is
    scored by the gate, `text_query`)."""
    alts = [alternative_query(schema, a) for a in concept.alternatives]
    return alts[0] if len(alts) == 1 else tantivy.Query.disjunction_max_query(alts, TIE_BREAKER)


def estimate_df(searcher: tantivy.Searcher, concept: Concept) -> int:
    """Papers holding the concept, from document frequencies alone (it costs no traversal):
    for notices, explanations and telling generic concepts. A term's count is its count in
    the own field that holds it most (a lower bound of the papers holding it anywhere, the
    same in all but rare cases: titles and summaries say the same things), plus its count
    in `xlat` for an English word; a phrase counts as its rarest term."""
    best = 0
    for alt in concept.alternatives:
        terms = [t for part in alt.parts for t in part] if alt.parts else alt.terms
        learned = alt.script == "latin" and len(terms) == 1
        dfs = sorted(
            max(searcher.doc_freq(f, t) for f in OWN_FIELDS) + (searcher.doc_freq("xlat", t) if learned else 0)
            for t in dict.fromkeys(terms)
        )
        need = bag_df_need(len(dfs)) if alt.bag else len(dfs)
        best = max(best, dfs[len(dfs) - need] if dfs else 0)
    return best


def idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def needed(concepts: int) -> int:
    """How many of a query's concepts an answer must hold: half (rounded up)."""
    return max(1, math.ceil(concepts / 2))


def strict(concepts: int) -> int:
    """How many a paper must hold to be counted as really matching: all of up to three,
    three quarters of more."""
    return concepts if concepts <= 3 else math.ceil(concepts * 3 / 4)


def gate(schema: tantivy.Schema, concepts: Sequence[Concept], need: int) -> tantivy.Query:
    """Papers holding at least `need` of the concepts (unscored)."""
    return _at_least([match_query(schema, c) for c in concepts], need)


def _at_least(queries: Sequence[tantivy.Query], need: int) -> tantivy.Query:
    """Papers matching at least `need` of the queries (their scores summed)."""
    if need >= len(queries):
        return tantivy.Query.boolean_query([(Occur.Must, q) for q in queries])
    return tantivy.Query.boolean_query([(Occur.Should, q) for q in queries], need)


def importance(weighed: Sequence[Weighed]) -> list[float]:
    """Each concept's share of the coordination bonus: its idf against the rarest's, raised
    to IMPORTANCE (0: every concept counts the same)."""
    top = max((w.idf for w in weighed), default=1.0) or 1.0
    return [(w.idf / top) ** IMPORTANCE for w in weighed]


IMPORTANCE = 0.0
GENERIC_SHARE = 0.5
GENERIC_FROM = 200
#: Generic concepts are left out of the score too (they barely move it and cost most).
DROP_GENERIC = True
#: The semantic rerank (`bot.search.semantic`): the best RERANK_DEPTH candidates by the
#: score above (the best at 100) gain SEMANTIC_WEIGHT times the question's cosine to them.
RERANK_DEPTH = 30
SEMANTIC_WEIGHT = 50.0
#: Related papers (`SearchEngine.related`): the best RERANK_DEPTH by shared words gain this
#: times their cosine to the paper. Chosen on a proxy, for want of a judged set: for each
#: paper graded 2 for a topical question, the share of its 5 related papers the same
#: question grades 1 or 2 (bench/bench_related.py: 0.317 by shared words alone, 0.410 with
#: this weight, 0.438 with 1000, where the cosine alone all but decides).
RELATED_WEIGHT = 200.0


def deciding(weighed: Sequence[Weighed], papers: int) -> list[Weighed]:
    """The concepts that decide which papers answer: all but the generic ones, held by
    more than GENERIC_SHARE of the papers (`models`, `data`, or `federated learning`
    in an archive that is half about it). Generic concepts still rank."""
    if papers < GENERIC_FROM:  # a handful of papers says nothing about what is common
        return list(weighed)
    specific = [w for w in weighed if w.df <= GENERIC_SHARE * papers]
    return specific or list(weighed)


def text_query(
    schema: tantivy.Schema,
    weighed: Sequence[Weighed],
    deciding: Sequence[Weighed],
    need: int,
    filters: Sequence[tantivy.Query] = (),
) -> tantivy.Query:
    """The scored query: the gate and the filters decide who, the concepts how well.

    The gate scores too: COORDINATION (times the concept's share) for each concept a paper
    holds, the coordination bonus, so each concept's match is traversed once, not once to
    gate and again to score (at a million papers, a common concept's postings are most of a
    query's time)."""
    decide = [w.concept for w in deciding]
    shares = importance(deciding)
    held = [tantivy.Query.const_score_query(match_query(schema, c), COORDINATION * share)
            for c, share in zip(decide, shares, strict=True)]
    clauses = [(Occur.Must, _at_least(held, need))]
    clauses += [(Occur.Must, tantivy.Query.const_score_query(f, 0.0)) for f in filters]
    scored = deciding if DROP_GENERIC else weighed
    clauses += [(Occur.Should, concept_query(schema, w.concept)) for w in scored]
    return tantivy.Query.boolean_query(clauses)


def count_query(
    schema: tantivy.Schema, concepts: Sequence[Concept], need: int, filters: Sequence[tantivy.Query] = ()
) -> tantivy.Query:
    """Unscored: papers holding `need` concepts and passing the filters (for counts)."""
    clauses = [(Occur.Must, gate(schema, concepts, need))] + [(Occur.Must, f) for f in filters]
    return tantivy.Query.boolean_query(clauses)


