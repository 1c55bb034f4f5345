"""Correct query words against the archive's own words: exact, prefix, or a typo away.

Fuzzy matching runs over the vocabulary (tens of thousands of distinct words,
bucketed by length), never over papers: that is what keeps a typo-tolerant
search cheap at 100k papers. rapidfuzz does the edit distances in C++.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Mapping

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

#: How many prefix completions a partial word may stand for (most frequent first).
MAX_PREFIX = 24
#: How many typo corrections a word may stand for (closest first).
MAX_FUZZY = 8

EXACT = 1.0
PREFIX = 0.9
PREFIX_OF_WORD = 0.8  # a completion of a word that is itself in the vocabulary
COMMONER = 5  # an existing word also stands for a spelling this many times commoner


def max_typos(word: str) -> int:
    """Edits tolerated: none for short words (too many neighbours), one, then two."""
    if len(word) <= 3 or word.isdigit():
        return 0
    return 1 if len(word) <= 6 else 2


class Vocabulary:
    """The distinct Latin/number words of the index, with document frequencies."""

    def __init__(self, df: Mapping[str, int]) -> None:
        self.df = dict(df)
        self.sorted = sorted(self.df)
        self.by_length: dict[int, list[str]] = defaultdict(list)
        self._by_first: dict[tuple[int, str], list[str]] = defaultdict(list)
        self._by_second: dict[tuple[int, str], list[str]] = defaultdict(list)
        for word in self.sorted:
            self.by_length[len(word)].append(word)
            if len(word) > 1:
                self._by_first[(len(word), word[0])].append(word)
                self._by_second[(len(word), word[1])].append(word)
        self._cache: dict[str, dict[str, float]] = {}
        self._max_log = math.log1p(max(self.df.values(), default=1))

    def __contains__(self, word: object) -> bool:
        return word in self.df

    def expand(self, word: str) -> dict[str, float]:
        """Archive words a query word may stand for, with a quality in (0, 1]."""
        found = self._cache.get(word)
        if found is None:
            found = self._expand(word)
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[word] = found
        return found

    def _expand(self, word: str) -> dict[str, float]:
        variants: dict[str, float] = {}
        exact = word in self.df
        if exact:
            variants[word] = EXACT
        if len(word) >= 3 and not word.isdigit():
            quality = PREFIX_OF_WORD if exact else PREFIX
            for other in self.completions(word):
                variants.setdefault(other, quality)
        typos = max_typos(word)
        if typos:
            # A typo's neighbours; for a word that exists, only much commoner
            # spellings of it (`tumour` -> `tumor`), not every look-alike.
            floor = COMMONER * self.df[word] if exact else 0
            for other, similarity in self.near(word, typos):
                if self.df[other] >= floor:
                    variants.setdefault(other, similarity)
        # Best first: the rerank stops at the first variant a field holds.
        return dict(sorted(variants.items(), key=lambda kv: kv[1], reverse=True))

    def completions(self, prefix: str, limit: int = MAX_PREFIX) -> list[str]:
        """Words that start with `prefix` (not itself), the most frequent first."""
        lo = bisect.bisect_right(self.sorted, prefix)
        hi = bisect.bisect_left(self.sorted, prefix + "\U0010ffff")
        found = self.sorted[lo:hi]
        if len(found) > limit:
            found = sorted(found, key=self.df.__getitem__, reverse=True)[:limit]
        return found

    def near(self, word: str, typos: int) -> list[tuple[str, float]]:
        """Words within `typos` edits (a swap counts as one), as (word, quality).

        Only words that share the typed word's first or second letter are compared:
        a typo in both of the first two letters is rare, and this keeps the search to
        a small part of a vocabulary that grows with the archive."""
        found: list[tuple[str, float]] = []
        if len(word) < 2:
            return found
        for length in range(len(word) - typos, len(word) + typos + 1):
            seen: set[str] = set()
            for bucket in (self._by_first.get((length, word[0])), self._by_second.get((length, word[1]))):
                if not bucket:
                    continue
                for other, _dist, _i in process.extract(
                    word, bucket, scorer=OSA.distance, score_cutoff=typos, limit=None
                ):
                    if other not in seen:
                        seen.add(other)
                        found.append((other, self._typo_quality(word, other)))
        found.sort(key=lambda pair: pair[1], reverse=True)
        return found[:MAX_FUZZY]

    def _typo_quality(self, word: str, other: str) -> float:
        """0.6-0.9: closer spelling first, then the more common word (the likelier intent)."""
        similarity = fuzz.ratio(word, other) / 100
        common = math.log1p(self.df.get(other, 0)) / self._max_log if self._max_log else 0
        return round(0.55 + 0.3 * similarity + 0.05 * common, 4)

    def suggest(self, word: str, *, cutoff: float = 75) -> str | None:
        """The likeliest intended word for one that matched nothing ("did you mean")."""
        if word in self.df:
            return None
        typos = max(max_typos(word), 1) + 1
        near = self.near(word, typos) if len(word) > 2 else []
        if near:
            return near[0][0]
        if not word:
            return None
        nearby = [w for n in range(len(word) - 3, len(word) + 4) for w in self._by_first.get((n, word[0]), ())]
        best = process.extractOne(word, nearby, scorer=fuzz.ratio, score_cutoff=cutoff)
        return best[0] if best else None
