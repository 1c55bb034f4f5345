"""The built-in answer: the papers' own summary sentences that answer the question, cited.

No model is needed. From the ranked candidates (`bot.ask.asker` retrieves them),
the sources are the papers close enough to the best one; for each, the summary
bullet that holds most of the question's concepts (in either language: the
concepts carry their English and Japanese names) is its point. Points saying the
same thing are merged into one point citing both papers. The lead says, in the
question's language, how much the archive holds and whether any paper is squarely
on the question, so a thin answer is never dressed up as a thorough one.

Every `[n]` in the text names a source and every source is cited: the points are
made from the sources and nothing else. Pure: papers and concepts in, `Answer` out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from rapidfuzz import fuzz

from bot.ask.model import Answer, Lang, Source
from bot.i18n import t

#: Most sources an answer cites.
MAX_SOURCES = 5
#: A candidate is a source when its score is at least this share of the best one's.
SCORE_SHARE = 0.55
#: Two points this similar (rapidfuzz ratio, 0-100) are one point citing both papers.
SAME_POINT = 82
#: Longest point text (characters) before it is cut at a sentence end or with "…".
MAX_POINT = 240


class Concepts(Protocol):
    """The question's concepts as the search reads them (`bot.search.matched.ConceptReader`):
    their weights, and which of them a text holds (glossary names in both languages included)."""

    @property
    def idfs(self) -> tuple[float, ...]: ...

    def held(self, text: str) -> frozenset[int]: ...


@dataclass(frozen=True, slots=True)
class Candidate:
    """A retrieved paper: its source (unnumbered yet), its retrieval score, and the
    share of the question's concepts it holds (0-1)."""

    source: Source
    score: float
    coverage: float


def sentence_score(sentence: str, concepts: Concepts) -> float:
    """The weight (idf) of the question's concepts a sentence holds."""
    return sum(concepts.idfs[i] for i in concepts.held(sentence))


def coverage(texts: Sequence[str], concepts: Concepts) -> float:
    """The share (by weight) of the question's concepts that some text of a paper holds."""
    total = sum(concepts.idfs)
    if total <= 0:
        return 0.0
    held: set[int] = set()
    for text in texts:
        held |= concepts.held(text)
    return sum(concepts.idfs[i] for i in held) / total


def best_sentences(source: Source, concepts: Concepts, *, most: int = 1) -> list[str]:
    """The summary bullets that answer the question best, in summary order (the first
    bullet when none holds a concept: it says what the paper is about)."""
    bullets = [b for b in source.summary if b.strip()]
    if not bullets:
        return []
    scored = sorted(
        range(len(bullets)), key=lambda i: (-sentence_score(bullets[i], concepts), i)
    )
    best = scored[0]
    if sentence_score(bullets[best], concepts) <= 0:
        return [bullets[0]]
    chosen = [i for i in scored[:most] if sentence_score(bullets[i], concepts) > 0]
    return [bullets[i] for i in sorted(chosen)]


def pick_sources(candidates: Sequence[Candidate], *, limit: int | None = None) -> list[Candidate]:
    """The candidates close enough to the best to be cited, best first."""
    if not candidates:
        return []
    best = max(c.score for c in candidates) or 1.0
    return [c for c in candidates if c.score >= SCORE_SHARE * best][: limit or MAX_SOURCES]


def _shorten(text: str, limit: int = MAX_POINT) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[:limit]
    for end in ("。", ". ", "; "):
        at = cut.rfind(end)
        if at >= limit // 2:
            return cut[: at + 1].rstrip()
    return cut.rstrip() + "…"


@dataclass
class _Point:
    text: str
    cites: list[int]


def _points(sources: Sequence[Source], concepts: Concepts, lang: Lang) -> list[_Point]:
    """One point per source (its best bullet after its title), merged where two say the same."""
    points: list[_Point] = []
    for source in sources:
        sentences = best_sentences(source, concepts)
        title = source.title_ja if lang == "ja" and source.title_ja else source.title
        said = _shorten(sentences[0]) if sentences else ""
        for point in points:
            if said and fuzz.ratio(said, point.text.split(" — ", 1)[-1]) >= SAME_POINT:
                point.cites.append(source.n)
                break
        else:
            text = f"{_shorten(title, 160)} — {said}" if said else _shorten(title, 200)
            points.append(_Point(text, [source.n]))
    return points


def lead(lang: Lang, *, sources: int, matching: int, squarely: bool) -> str:
    """How much the archive holds on the question, honestly, in the question's language."""
    if not squarely:
        return t(lang, "answer_lead_closest_one" if sources == 1 else "answer_lead_closest", n=sources)
    if matching > sources:
        return t(lang, "answer_lead_many", matching=matching, n=sources)
    return t(lang, "answer_lead_one" if sources == 1 else "answer_lead", n=sources)


def nothing(question: str, lang: Lang) -> Answer:
    """The answer when the archive holds nothing on the question."""
    return Answer(question, lang, t(lang, "answer_nothing"))


def _line(point: _Point) -> str:
    """A point as the answer shows it: `• text [1][2]`."""
    return f"• {point.text} " + "".join(f"[{n}]" for n in point.cites)


def compose(
    question: str,
    lang: Lang,
    candidates: Sequence[Candidate],
    concepts: Concepts,
    *,
    matching: int = 0,
    squarely_at: float = 0.6,
) -> Answer:
    """The built-in answer from ranked candidates: a lead, one cited point per source.

    `matching` is how many papers hold nearly every concept (the search's count);
    the answer is "squarely on it" when the best source holds `squarely_at` of
    the question's concepts (by weight) and some paper matches.
    """
    picked = pick_sources(candidates)
    if not picked:
        return nothing(question, lang)
    sources = tuple(replace(c.source, n=i) for i, c in enumerate(picked, start=1))
    squarely = matching > 0 and max(c.coverage for c in picked) >= squarely_at
    points = _points(sources, concepts, lang)
    lines = [lead(lang, sources=len(sources), matching=matching, squarely=squarely)]
    lines += [_line(p) for p in points]
    return Answer(question, lang, "\n".join(lines), sources)


#: A related paper is cited in a thread's answer when it holds this share of the question.
RELATED_COVERAGE = 0.5


def compose_about(
    question: str,
    lang: Lang,
    paper: Candidate,
    related: Sequence[Candidate],
    concepts: Concepts,
) -> Answer:
    """A question asked in a paper's thread: that paper first (the summary bullets that
    answer the question, else its whole summary; its comment and remark), then the
    related papers that hold the question's concepts, each cited."""
    first = replace(paper.source, n=1)
    bullets = (best_sentences(first, concepts, most=3) if concepts.idfs else []) or list(first.summary[:4])
    title = first.title_ja if lang == "ja" and first.title_ja else first.title
    lines = [t(lang, "answer_about_paper", title=_shorten(title, 160))]
    lines += [f"• {_shorten(b)} [1]" for b in bullets]
    if first.comment:
        lines.append(f"• {t(lang, 'answer_comment')}: {_shorten(first.comment, 160)} [1]")
    if first.remark:
        lines.append(f"• {_shorten(first.remark)} [1]")
    close = [c for c in related if concepts.idfs and c.coverage >= RELATED_COVERAGE][: MAX_SOURCES - 1]
    sources = [first, *(replace(c.source, n=i) for i, c in enumerate(close, start=2))]
    if len(sources) > 1:
        lines.append(t(lang, "answer_related"))
        lines += [_line(p) for p in _points(sources[1:], concepts, lang)]
    return Answer(question, lang, "\n".join(lines), tuple(sources))
