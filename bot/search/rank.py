"""Score a few hundred candidate papers against the query: the rerank stage.

Pure functions over a paper's folded fields (see `PaperIndex.streams`): which
query units each field holds and how exactly, weighted by field; then
rapidfuzz's title similarity on top. The order this produces is
(query units matched, score, recency): all terms above some, exact above fuzzy,
newer above older only when everything else ties.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from bot.search.index import AUTHORS, COMMENT, FIELDS, TITLE, TITLE_JA

#: How much a match in each field is worth (titles first, then summary and the
#: editor's remark, authors, comment). Indexed like FIELDS.
FIELD_WEIGHTS = (1.0, 1.0, 0.75, 0.65, 0.8, 0.5)
#: Fields stored as padded token streams (whole-word tests) vs folded Japanese text.
TOKEN_FIELDS = (TITLE, AUTHORS, COMMENT)
TEXT_FIELDS = tuple(f for f in range(len(FIELDS)) if f not in TOKEN_FIELDS)
#: A unit counts as matched from this quality on (a typo correction clears it).
MATCHED = 0.5
#: Share of the score that comes from rapidfuzz's title similarity.
TITLE_SHARE = 0.15


@dataclass(frozen=True, slots=True)
class Unit:
    """One thing the query asks for: a word, a Japanese segment, or a quoted phrase.

    `variants` are the archive words a word may stand for (term -> quality);
    `grams` are the indexed terms every matching paper must hold (bigrams of a
    Japanese segment, the words of a phrase); `needle` is the folded text a
    field must contain for an exact Japanese or phrase match.
    """

    label: str
    kind: str  # "word" | "ja" | "phrase"
    variants: Mapping[str, float] = field(default_factory=dict)
    grams: tuple[str, ...] = ()
    needle: str = ""
    required: bool = True
    weight: float = 1.0
    kana_word: bool = False  # a katakana word: inside a longer katakana word it is only part of one
    # Precomputed by `word_unit` (a rerank tests them on every candidate):
    padded: tuple[tuple[str, float], ...] = ()  # (" variant ", quality), best first
    top: tuple[tuple[str, float], ...] = ()  # the best few variants to find inside Japanese text


def word_unit(label: str, variants: Mapping[str, float], *, required: bool = True) -> Unit:
    """A query word and the archive words it may stand for (best first)."""
    ordered = sorted(variants.items(), key=lambda kv: kv[1], reverse=True)
    return Unit(
        label,
        "word",
        variants=dict(ordered),
        required=required,
        padded=tuple((f" {v} ", q) for v, q in ordered),
        top=tuple((v, q) for v, q in ordered if len(v) > 2)[:4],
    )


@dataclass(frozen=True, slots=True)
class Scored:
    """A candidate after reranking."""

    doc: int
    matched_units: int
    score: float
    fields: tuple[str, ...]


def match_word(unit: Unit, streams: Sequence[str]) -> list[float]:
    """Per field, the best quality of any variant of a word (0 when absent)."""
    found = [0.0] * len(FIELDS)
    padded = unit.padded
    for f in TOKEN_FIELDS:
        text = streams[f]
        if text:
            for variant, quality in padded:  # best first: the first found is the best
                if variant in text:
                    found[f] = quality
                    break
    for f in TEXT_FIELDS:
        text = streams[f]
        if text:
            # Latin words inside Japanese text have no spaces around them; only
            # the likeliest few variants are tried there (this runs per paper).
            for variant, quality in unit.top:
                if variant in text:
                    found[f] = quality * 0.95
                    break
    return found


def match_ja(unit: Unit, streams: Sequence[str]) -> list[float]:
    """Per field: 1 for the whole segment, less for most of its bigrams, else 0."""
    found = [0.0] * len(FIELDS)
    grams = unit.grams
    for f in TEXT_FIELDS:
        text = streams[f]
        if not text:
            continue
        if unit.needle in text:
            found[f] = _kana_whole(unit.needle, text) if unit.kana_word else 1.0
        elif len(grams) > 1:
            share = sum(1 for g in grams if g in text) / len(grams)
            if share >= 0.5:
                found[f] = 0.7 * share
    return found


def _kana_whole(needle: str, text: str) -> float:
    """1 when a katakana word stands alone somewhere in text, 0.8 when only inside
    longer katakana words (`テキスト` in `コンテキスト`)."""
    start = text.find(needle)
    while start >= 0:
        end = start + len(needle)
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        if not (_is_kana(before) or _is_kana(after)):
            return 1.0
        start = text.find(needle, start + 1)
    return 0.8


def _is_kana(char: str) -> bool:
    return bool(char) and ("\u30a1" <= char <= "\u30fa" or char == "\u30fc")


def match_phrase(unit: Unit, streams: Sequence[str]) -> list[float]:
    """Per field: 1 for the phrase as written; a little for its words apart (not a match)."""
    found = [0.0] * len(FIELDS)
    padded = f" {unit.needle} "
    words = unit.needle.split()
    for f in range(len(FIELDS)):
        text = streams[f]
        if not text:
            continue
        if (padded if f in TOKEN_FIELDS else unit.needle) in text:
            found[f] = 1.0
        elif len(words) > 1:
            share = sum(1 for w in words if w in text) / len(words)
            found[f] = 0.4 * share
    return found


_MATCHERS = {"word": match_word, "ja": match_ja, "phrase": match_phrase}


def score_paper(
    doc: int, streams: Sequence[str], units: Sequence[Unit], latin_query: str, ja_query: str
) -> Scored:
    """How well one paper answers the query (see the module docstring)."""
    total_weight = 0.0
    earned = 0.0
    matched = 0
    field_hits = 0
    for unit in units:
        per_field = _MATCHERS[unit.kind](unit, streams)
        best = 0.0
        for f, quality in enumerate(per_field):
            if quality > 0:
                weighted = quality * FIELD_WEIGHTS[f]
                best = max(best, weighted)
                if quality >= MATCHED:
                    field_hits |= 1 << f
        total_weight += unit.weight
        earned += unit.weight * best
        if unit.required and max(per_field) >= MATCHED:
            matched += 1
    coverage = earned / total_weight if total_weight else 0.0
    similarity = title_similarity(streams, latin_query, ja_query)
    score = 100 * ((1 - TITLE_SHARE) * coverage + TITLE_SHARE * similarity)
    fields = tuple(name for f, name in enumerate(FIELDS) if field_hits >> f & 1)
    return Scored(doc, matched, round(score, 2), fields)


def title_similarity(streams: Sequence[str], latin_query: str, ja_query: str) -> float:
    """rapidfuzz's view of how close the query is to the titles (0-1).

    token_set_ratio rewards a query whose words all stand in the English title
    whatever their order; partial_ratio finds a Japanese query inside the
    Japanese title. Inputs are folded already, so no processor runs here.
    """
    best = 0.0
    if latin_query and streams[TITLE]:
        best = fuzz.token_set_ratio(latin_query, streams[TITLE], processor=None)
    if ja_query and streams[TITLE_JA]:
        best = max(best, fuzz.partial_ratio(ja_query, streams[TITLE_JA], processor=None))
    return best / 100


def rerank(
    docs: Sequence[int],
    streams: Sequence[Sequence[str]],
    units: Sequence[Unit],
    latin_query: str,
    ja_query: str,
    recency: Callable[[int], Any] | None = None,
) -> list[Scored]:
    """Score `docs` and sort them best first; ties go to the newer paper (`recency(doc)`)."""
    newer = recency or (lambda doc: doc)
    scored = [score_paper(d, streams[d], units, latin_query, ja_query) for d in docs]
    scored.sort(key=lambda s: (s.matched_units, s.score, newer(s.doc)), reverse=True)
    return scored

