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
from collections.abc import Sequence
from dataclasses import dataclass

import tantivy

from bot.search.concepts import Alternative, Concept

#: Field weights for Latin terms and for Japanese terms.
LATIN_FIELDS = {"title": 3.0, "title_ja": 2.0, "summary": 1.0, "topics": 0.7, "authors": 1.5, "comment": 0.3, "remark": 0.3}
JA_FIELDS = {"title_ja": 3.0, "summary": 1.0, "topics": 0.7, "title": 1.0, "remark": 0.3}
TIE_BREAKER = 0.2

Occur = tantivy.Occur


@dataclass(frozen=True, slots=True)
class Weighed:
    """A concept with what the index says of it: how many papers answer it, its idf."""

    concept: Concept
    df: int
    idf: float


def _field_query(schema: tantivy.Schema, name: str, alt: Alternative) -> tantivy.Query:
    if len(alt.terms) == 1:
        return tantivy.Query.term_query(schema, name, alt.terms[0])
    if alt.bag:
        clauses = [(Occur.Should, tantivy.Query.term_query(schema, name, t)) for t in dict.fromkeys(alt.terms)]
        need = max(2, math.ceil(len(clauses) * 0.7))
        return tantivy.Query.boolean_query(clauses, need)
    return tantivy.Query.phrase_query(schema, name, list(alt.terms))


#: Fields that rank but do not make a paper an answer: the names of the paper's topics
#: say what its digest is about, not what the paper says.
RANK_ONLY = frozenset({"topics"})


def alternative_query(schema: tantivy.Schema, alt: Alternative, *, scored: bool = True) -> tantivy.Query:
    """Unscored, the alternative's match (no rank-only fields); scored, its BM25 over every field."""
    fields = LATIN_FIELDS if alt.script == "latin" else JA_FIELDS
    clauses = []
    for name, boost in fields.items():
        if not scored and name in RANK_ONLY:
            continue
        q = _field_query(schema, name, alt)
        if scored:
            q = tantivy.Query.boost_query(q, boost * alt.weight)
        clauses.append((Occur.Should, q))
    return tantivy.Query.boolean_query(clauses)


def concept_query(schema: tantivy.Schema, concept: Concept, *, scored: bool = True) -> tantivy.Query:
    alts = [alternative_query(schema, a, scored=scored) for a in concept.alternatives]
    if len(alts) == 1:
        return alts[0]
    if not scored:
        return tantivy.Query.boolean_query([(Occur.Should, q) for q in alts])
    return tantivy.Query.disjunction_max_query(alts, TIE_BREAKER)


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
    queries = [concept_query(schema, c, scored=False) for c in concepts]
    if need >= len(queries):
        return tantivy.Query.boolean_query([(Occur.Must, q) for q in queries])
    return tantivy.Query.boolean_query([(Occur.Should, q) for q in queries], need)


def text_query(
    schema: tantivy.Schema, concepts: Sequence[Concept], need: int, filters: Sequence[tantivy.Query] = ()
) -> tantivy.Query:
    """The scored query: the gate and the filters decide who, the concepts how well."""
    clauses = [(Occur.Must, tantivy.Query.const_score_query(gate(schema, concepts, need), 0.0))]
    clauses += [(Occur.Must, tantivy.Query.const_score_query(f, 0.0)) for f in filters]
    clauses += [(Occur.Should, concept_query(schema, c)) for c in concepts]
    return tantivy.Query.boolean_query(clauses)


def count_query(
    schema: tantivy.Schema, concepts: Sequence[Concept], need: int, filters: Sequence[tantivy.Query] = ()
) -> tantivy.Query:
    """Unscored: papers holding `need` concepts and passing the filters (for counts)."""
    clauses = [(Occur.Must, gate(schema, concepts, need))] + [(Occur.Must, f) for f in filters]
    return tantivy.Query.boolean_query(clauses)


#: How much holding every concept beats holding some: score x (held / all) ** COORDINATION.
COORDINATION = 2.0


def coordinated(score: float, held: int, concepts: int) -> float:
    """A candidate's score with the coordination factor (OR semantics, not a gate)."""
    return score * (held / concepts) ** COORDINATION if concepts else score
