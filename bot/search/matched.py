"""Which of a paper's fields answered a query ("matched in"), read from the paper's text
as the index reads it: only callers that show it ask (`search(fields=True)`), since it
re-reads every hit's text."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.model import Paper
from bot.search.analyze import phrase_terms
from bot.search.concepts import Alternative, Concept, bag_matched_need
from bot.search.normalize import fold
from bot.search.tagging import Tagger


def matched_fields(paper: Paper, concepts: Sequence[Concept], tagger: Tagger | None = None) -> tuple[str, ...]:
    """Which of the paper's fields hold some alternative of some concept (for "matched in"),
    as the index reads them (with the glossary's concept tokens when a tagger is given)."""
    if not concepts:
        return ()
    fields = {
        "title": paper.title, "title_ja": paper.title_ja, "summary": "\n".join(paper.summary),
        "authors": " ; ".join(paper.authors), "comment": paper.comment, "remark": paper.remark,
    }
    out = []
    for name, text in fields.items():
        if not text:
            continue
        folded = fold(text)
        stream = phrase_terms(folded, hiragana=name == "title_ja")
        if tagger is not None and name != "authors":
            stream += tagger.concepts(text, folded, stream)
        joined = f" {' '.join(stream)} "
        if any(_holds(joined, a) for c in concepts for a in c.alternatives):
            out.append(name)
    return tuple(out)


def _holds(joined: str, alt: Alternative) -> bool:
    """Whether a field's terms (` t1 t2 ... `) hold the alternative: each part, most of a
    bag's terms (`concepts.bag_matched_need`), or the phrase."""
    if alt.parts:
        return all(f" {' '.join(p)} " in joined for p in alt.parts)
    if alt.bag:
        return sum(1 for t in alt.terms if f" {t} " in joined) >= bag_matched_need(len(alt.terms))
    return f" {' '.join(alt.terms)} " in joined


def concepts_in(text: str, concepts: Sequence[Concept], tagger: Tagger | None = None) -> frozenset[int]:
    """Which of the concepts (their indices) a text holds, as the index would read it."""
    if not text:
        return frozenset()
    folded = fold(text)
    stream = phrase_terms(folded, hiragana=True)
    if tagger is not None:
        stream += tagger.concepts(text, folded, stream)
    joined = f" {' '.join(stream)} "
    return frozenset(i for i, c in enumerate(concepts) if any(_holds(joined, a) for a in c.alternatives))


@dataclass(frozen=True, slots=True)
class ConceptReader:
    """A query's concepts with their weights, and which of them a text holds: what an
    answer needs to choose the sentences that answer a question (`bot.ask.compose`)."""

    labels: tuple[str, ...]
    idfs: tuple[float, ...]
    concepts: tuple[Concept, ...]
    tagger: Tagger | None = None

    def held(self, text: str) -> frozenset[int]:
        return concepts_in(text, self.concepts, self.tagger)
