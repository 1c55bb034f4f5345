"""Score a search function on a labelled query set: hit@1, hit@5 and MRR, per category.

Shared by the quality test and the benchmark so that the engine and the
baselines are measured by one rule (see tests/search_queries.yaml).
"""

from __future__ import annotations

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
