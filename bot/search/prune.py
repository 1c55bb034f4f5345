"""Candidate pruning: from posting lists to the few hundred papers worth reranking.

Only C-speed set algebra over posting lists happens here; no paper text is
read. Papers matching every query unit come first, then those matching most
of them; when a tier holds more papers than the rerank can afford, the ones
with the query in their titles are kept first, then the newest.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Sequence
from itertools import chain

from bot.search.index import PaperIndex
from bot.search.rank import Unit

#: Papers reranked per query (more when a deep page is asked for).
POOL = 200


def anywhere(index: PaperIndex, term: str) -> set[int]:
    title, body = index.postings(term)
    found: set[int] = set(title) if title is not None else set()
    if body is not None:
        found.update(body)
    return found


def unit_docs(index: PaperIndex, unit: Unit, *, titles_only: bool = False, exact: bool = False) -> set[int]:
    """Papers holding a unit: any variant of a word, or every gram of a segment/phrase."""
    if unit.kind == "word":
        found: set[int] = set()
        for variant, quality in unit.variants.items():
            if exact and quality < 1.0:
                continue
            title, body = index.postings(variant)
            if title is not None:
                found.update(title)
            if body is not None and not titles_only:
                found.update(body)
        return found
    return _all_grams(index, unit.grams, titles_only=titles_only)


def _all_grams(index: PaperIndex, grams: Sequence[str], *, titles_only: bool) -> set[int]:
    """Papers with every gram (rarest first, so the running set only shrinks)."""
    if not grams:
        return set()
    lists = [index.postings(g) for g in grams]
    if titles_only:
        lists = [(title, None) for title, _ in lists]
    lists.sort(key=lambda tb: sum(len(p) for p in tb if p is not None))
    found: set[int] | None = None
    for title, body in lists:
        if found is None:
            found = set(title) if title is not None else set()
            if body is not None:
                found.update(body)
        else:
            kept = found.intersection(title) if title is not None else set()
            if body is not None:
                kept |= found.intersection(body)
            found = kept
        if not found:
            break
    return found or set()


def all_but_one(sets: Sequence[set[int]]) -> set[int]:
    """Papers in every set but (at most) one: with prefix and suffix intersections,
    m set operations instead of a count over every posting."""
    m = len(sets)
    if m <= 1:
        return set(sets[0]) if sets else set()
    if m == 2:
        return sets[0] | sets[1]
    prefix: list[set[int] | None] = [None] * m  # prefix[i] = sets[0] & ... & sets[i-1]
    running: set[int] | None = None
    for i in range(m):
        prefix[i] = running
        running = set(sets[i]) if running is None else running & sets[i]
    found: set[int] = set()
    suffix: set[int] | None = None
    for i in range(m - 1, -1, -1):
        before = prefix[i]
        if before is None:
            found |= suffix if suffix is not None else set()
        elif suffix is None:
            found |= before
        else:
            found |= before & suffix
        suffix = set(sets[i]) if suffix is None else suffix & sets[i]
    return found


def intersect(sets: Iterable[set[int]]) -> set[int]:
    ordered = sorted(sets, key=len)
    if not ordered:
        return set()
    found = set(ordered[0])
    for other in ordered[1:]:
        found &= other
        if not found:
            break
    return found


def take(docs: set[int], prefer: Sequence[set[int]], k: int) -> list[int]:
    """Up to k papers of `docs`: those in prefer[0] first, then prefer[1], ..., newest first."""
    if k <= 0:
        return []
    if len(docs) <= k:
        return sorted(docs, reverse=True)
    for i, preferred in enumerate(prefer):
        inside = docs & preferred
        if len(inside) >= k:
            return take(inside, prefer[i + 1 :], k)
        if inside:
            return sorted(inside, reverse=True) + take(docs - inside, prefer[i + 1 :], k - len(inside))
    return heapq.nlargest(k, docs)


def most(sets: Sequence[set[int]], exclude: set[int], k: int) -> list[int]:
    """Up to k papers not in `exclude`, those in more of `sets` first, then newest.

    Only for the rare query whose full and all-but-one tiers could not fill
    the pool: it counts every posting of every unit.
    """
    if k <= 0:
        return []
    tally = Counter(chain.from_iterable(sets))
    for doc in exclude:
        tally.pop(doc, None)
    best = heapq.nlargest(k, tally.items(), key=lambda pair: (pair[1], pair[0]))
    return [doc for doc, n in best if n >= max(1, len(sets) // 2)]
