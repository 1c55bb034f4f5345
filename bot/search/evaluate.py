"""Score a search function on a labelled query set: hit@1, hit@5 and MRR, per category.

Shared by the quality test and the benchmark so that the engine and the
baselines are measured by one rule (see tests/search_queries.yaml).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

#: Ranks past this are not looked at (a chat answer shows a page, not a list).
DEPTH = 10


@dataclass(frozen=True, slots=True)
class LabelledQuery:
    query: str
    category: str
    expect: tuple[str, ...]
    nomatch: bool = False


@dataclass(frozen=True, slots=True)
class Answer:
    """What a system returned: ids best first, and whether it offered a suggestion."""

    ids: tuple[str, ...]
    suggested: bool = False


@dataclass(slots=True)
class Metrics:
    """Running hit@1 / hit@5 / MRR over some queries."""

    n: int = 0
    hit1: int = 0
    hit5: int = 0
    rr: float = 0.0
    misses: list[str] = field(default_factory=list)

    def add(self, query: LabelledQuery, rank: int | None) -> None:
        self.n += 1
        if rank is None:
            self.misses.append(query.query)
            return
        self.hit1 += rank <= 1
        self.hit5 += rank <= 5
        self.rr += 1 / rank

    @property
    def hit_at_1(self) -> float:
        return self.hit1 / self.n if self.n else 0.0

    @property
    def hit_at_5(self) -> float:
        return self.hit5 / self.n if self.n else 0.0

    @property
    def mrr(self) -> float:
        return self.rr / self.n if self.n else 0.0

    def row(self) -> dict[str, Any]:
        return {"n": self.n, "hit@1": round(self.hit_at_1, 3), "hit@5": round(self.hit_at_5, 3), "mrr": round(self.mrr, 3)}


def load_queries(path: Path) -> list[LabelledQuery]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        LabelledQuery(
            query=str(item["q"]),
            category=str(item["cat"]),
            expect=tuple(str(x) for x in item.get("expect") or ()),
            nomatch=bool(item.get("nomatch", False)),
        )
        for item in data["queries"]
    ]


def rank_of(query: LabelledQuery, answer: Answer) -> int | None:
    """1-based rank at which the query is answered, or None (see the query file)."""
    if query.nomatch:
        return 1 if not answer.ids and answer.suggested else None
    wanted = set(query.expect)
    for i, arxiv_id in enumerate(answer.ids[:DEPTH], start=1):
        if arxiv_id in wanted:
            return i
    return None


def evaluate(
    queries: Iterable[LabelledQuery], run: Callable[[str], Answer]
) -> tuple[Metrics, dict[str, Metrics]]:
    """(overall, per category) metrics of `run` over the queries."""
    overall = Metrics()
    per: dict[str, Metrics] = {}
    for query in queries:
        rank = rank_of(query, run(query.query))
        overall.add(query, rank)
        per.setdefault(query.category, Metrics()).add(query, rank)
    return overall, per


def table(overall: Metrics, per: dict[str, Metrics], order: Sequence[str] = ()) -> str:
    """A plain-text table of the figures, one row per category then the total."""
    names = [c for c in order if c in per] + sorted(c for c in per if c not in order)
    lines = [f"{'category':<10} {'n':>3} {'hit@1':>6} {'hit@5':>6} {'MRR':>6}"]
    for name, m in [*((c, per[c]) for c in names), ("all", overall)]:
        lines.append(f"{name:<10} {m.n:>3} {m.hit_at_1:>6.3f} {m.hit_at_5:>6.3f} {m.mrr:>6.3f}")
    return "\n".join(lines)


# Topical questions with graded judgments (tests/topical_queries.yaml) ---------------


@dataclass(frozen=True, slots=True)
class JudgedQuery:
    """A topical question and its pooled judgments (arXiv id -> 0, 1 or 2)."""

    id: str
    query: str
    lang: str
    split: str
    judged: dict[str, int]

    @property
    def has_relevant(self) -> bool:
        return any(g > 0 for g in self.judged.values())

    @property
    def has_best(self) -> bool:
        return any(g == 2 for g in self.judged.values())


def load_judged(path: Path) -> list[JudgedQuery]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = data.get("queries") or data.get("questions") or []  # the topical set / the answers' set
    return [
        JudgedQuery(
            id=str(item["id"]),
            query=str(item["q"]),
            lang=str(item["lang"]),
            split=str(item.get("split", "dev")),
            judged={str(k): int(v) for k, v in (item.get("judged") or {}).items()},
        )
        for item in items
    ]


def ndcg(ids: Sequence[str], judged: dict[str, int], k: int = 10) -> float:
    """nDCG@k with gains 2^g - 1; the ideal ranks every judged paper; unjudged count 0."""
    def dcg(grades: Iterable[int]) -> float:
        return sum((2**g - 1) / math.log2(i + 2) for i, g in enumerate(grades))

    ideal = dcg(sorted(judged.values(), reverse=True)[:k])
    return dcg(judged.get(i, 0) for i in ids[:k]) / ideal if ideal else 0.0


def precision(ids: Sequence[str], judged: dict[str, int], k: int = 5) -> float:
    """P@k: the share of the top k graded 1 or 2 (a short answer counts its gaps as misses)."""
    return sum(1 for i in ids[:k] if judged.get(i, 0) > 0) / k


def success(ids: Sequence[str], judged: dict[str, int], k: int = 3) -> float:
    """1 when a paper graded 2 is in the top k."""
    return 1.0 if any(judged.get(i, 0) == 2 for i in ids[:k]) else 0.0


@dataclass(slots=True)
class Graded:
    """Mean nDCG@10, P@5 and success@3 over questions (each averaged where defined:
    nDCG and P@5 over questions with a relevant paper, success@3 over those with a 2)."""

    n: int = 0
    ndcg_sum: float = 0.0
    p5_sum: float = 0.0
    s3_sum: float = 0.0
    s3_n: int = 0
    empty: list[str] = field(default_factory=list)  # questions with relevant papers and no answer
    unjudged: int = 0  # answers in the top 10 that are not judged

    def add(self, q: JudgedQuery, ids: Sequence[str]) -> None:
        self.unjudged += sum(1 for i in ids[:10] if i not in q.judged)
        if not q.has_relevant:
            return
        self.n += 1
        if not ids:
            self.empty.append(q.id)
        self.ndcg_sum += ndcg(ids, q.judged)
        self.p5_sum += precision(ids, q.judged)
        if q.has_best:
            self.s3_n += 1
            self.s3_sum += success(ids, q.judged)

    @property
    def ndcg10(self) -> float:
        return self.ndcg_sum / self.n if self.n else 0.0

    @property
    def p5(self) -> float:
        return self.p5_sum / self.n if self.n else 0.0

    @property
    def success3(self) -> float:
        return self.s3_sum / self.s3_n if self.s3_n else 0.0

    def row(self) -> dict[str, Any]:
        return {"n": self.n, "ndcg@10": round(self.ndcg10, 3), "p@5": round(self.p5, 3),
                "success@3": round(self.success3, 3), "empty": list(self.empty), "unjudged": self.unjudged}


def evaluate_graded(
    queries: Iterable[JudgedQuery], run: Callable[[str], Sequence[str]]
) -> dict[str, Graded]:
    """Graded measures overall ("all") and per split and per language."""
    out: dict[str, Graded] = {}
    for q in queries:
        ids = list(run(q.query))
        for key in ("all", q.split, q.lang):
            out.setdefault(key, Graded()).add(q, ids)
    return out


@dataclass(slots=True)
class Cited:
    """The papers answers cite, judged: source precision (cited papers graded >= 1) and, of
    the questions having a paper graded 2, the share whose answer cites one."""

    questions: int = 0
    sources: int = 0
    relevant: int = 0
    best_q: int = 0
    best_hit: int = 0
    empty: int = 0  # answers citing nothing

    def add(self, q: JudgedQuery, ids: Sequence[str]) -> None:
        self.questions += 1
        self.sources += len(ids)
        self.relevant += sum(1 for i in ids if q.judged.get(i, 0) >= 1)
        self.empty += 0 if ids else 1
        if q.has_best:
            self.best_q += 1
            self.best_hit += any(q.judged.get(i, 0) == 2 for i in ids)

    @property
    def precision(self) -> float:
        return self.relevant / self.sources if self.sources else 0.0

    @property
    def best(self) -> float:
        return self.best_hit / self.best_q if self.best_q else 0.0

    def row(self) -> dict[str, Any]:
        return {"questions": self.questions, "sources": self.sources, "precision": round(self.precision, 3),
                "best_among_sources": round(self.best, 3), "best_q": self.best_q, "empty": self.empty}


def evaluate_cited(
    queries: Iterable[JudgedQuery], cite: Callable[[str], Sequence[str]]
) -> dict[str, Cited]:
    """Cited-source measures overall ("all") and per split and per language."""
    out: dict[str, Cited] = {}
    for q in queries:
        ids = list(cite(q.query))
        for key in ("all", q.split, q.lang):
            out.setdefault(key, Cited()).add(q, ids)
    return out
