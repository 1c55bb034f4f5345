"""English <-> Japanese term translations learned from the archive's own title pairs.

Every paper has an English title and a Japanese title that translates it:
thousands of parallel pairs. An English stem and a Japanese string that stand
in the same pairs far more often than chance translate each other
(`diffus` <-> `拡散`, `membership` <-> `メンバーシップ`). For each English stem
the Japanese substring (of a kanji/katakana run) with the best Dice
coefficient over the pairs is kept, preferring the longer string when it is
about as good, and only when the pair is also the Japanese string's best
English match (competitive linking), so each table entry is one-to-one and
the noise of frequent words stays out.

Learned again when the index is built, from at most `MAX_PAIRS` of the newest
papers (the field's vocabulary is well covered long before that, and the cost
grows with pairs x terms), and stored with the index.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.search.analyze import stem
from bot.search.normalize import fold

#: Pairs learned from, newest first.
MAX_PAIRS = 30_000
#: A pair counts from this many co-occurrences and this Dice coefficient.
MIN_PAIRS = 3
MIN_DICE = 0.3
#: Longest Japanese string considered (characters).
MAX_JA = 8
#: A longer string replaces the best one when its Dice is at least this share of it.
LONGER = 0.97

_KK_RUN = re.compile("[\u3005-\u3007\u30a0-\u30fa\u30fc-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN = re.compile(r"[a-z][a-z0-9]+")
_SKIP = frozenset(
    ["the", "and", "for", "with", "from", "via", "using", "based", "towards", "toward", "into", "over", "under", "their", "its", "our", "this", "that", "are", "can", "how", "new", "not", "more"]
)


@dataclass(frozen=True, slots=True)
class Translations:
    """English stem -> (Japanese string, Dice) and Japanese string -> English stems."""

    en_ja: Mapping[str, tuple[str, float]]

    def japanese(self, english_stem: str) -> tuple[str, float] | None:
        return self.en_ja.get(english_stem)

    def english(self, japanese: str) -> list[tuple[str, float]]:
        """English stems learned for exactly this Japanese string."""
        return [(e, d) for e, (j, d) in self.en_ja.items() if j == japanese]

    def to_json(self) -> dict[str, list]:
        return {e: [j, d] for e, (j, d) in sorted(self.en_ja.items())}

    @classmethod
    def from_json(cls, data: Mapping[str, list]) -> Translations:
        return cls({str(e): (str(v[0]), float(v[1])) for e, v in data.items()})


EMPTY = Translations({})


def _english(title: str) -> set[str]:
    return {stem(w) for w in _LATIN.findall(fold(title)) if w not in _SKIP and len(w) > 2}


def _is_katakana(char: str) -> bool:
    return "\u30a0" <= char <= "\u30ff"


def _japanese(title_ja: str) -> set[str]:
    """Candidate Japanese strings: substrings of kanji/katakana runs that never cut a
    katakana word in two (`アンラー` is not a word of `アンラーニング`)."""
    found: set[str] = set()
    for run in _KK_RUN.findall(fold(title_ja)):
        cuts = [i for i in range(len(run) + 1)
                if i in (0, len(run)) or not (_is_katakana(run[i - 1]) and _is_katakana(run[i]))]
        for a, i in enumerate(cuts):
            for j in cuts[a + 1 :]:
                if j - i > MAX_JA:
                    break
                if j - i >= 2:
                    found.add(run[i:j])
    return found


def learn(pairs: Iterable[tuple[str, str]]) -> Translations:
    """Mine the translation table from (English title, Japanese title) pairs, newest first."""
    sides: list[tuple[set[str], set[str]]] = []
    df_en: Counter[str] = Counter()
    df_ja: Counter[str] = Counter()
    for title, title_ja in pairs:
        if len(sides) >= MAX_PAIRS:
            break
        english = _english(title)
        japanese = _japanese(title_ja)
        if not english or not japanese:
            continue
        sides.append((english, japanese))
        df_en.update(english)
        df_ja.update(japanese)
    # Only strings and stems frequent enough to make a pair are paired (a second pass):
    # counting every pair of every title first would hold tens of millions of them.
    together: Counter[tuple[str, str]] = Counter()
    for english, japanese in sides:
        common_en = [e for e in english if df_en[e] >= MIN_PAIRS]
        common_ja = [j for j in japanese if df_ja[j] >= MIN_PAIRS]
        together.update((e, j) for e in common_en for j in common_ja)
    candidates: dict[str, list[tuple[float, str]]] = {}
    best_ja: dict[str, tuple[str, float]] = {}
    for (e, j), count in together.items():
        if count < MIN_PAIRS:
            continue
        dice = 2 * count / (df_en[e] + df_ja[j])
        if dice < MIN_DICE:
            continue
        candidates.setdefault(e, []).append((dice, j))
        # Ties go to the alphabetically later stem: any fixed rule, so that the table does
        # not depend on the order sets iterate in (Python's string hashing, per process).
        if j not in best_ja or (dice, e) > best_ja[j][::-1]:
            best_ja[j] = (e, dice)
    table: dict[str, tuple[str, float]] = {}
    for e, found in candidates.items():
        # Competitive linking: a string counts for the stem only when the stem is the
        # string's own best English match.
        mine = [(d, j) for d, j in found if best_ja[j][0] == e]
        if not mine:
            continue
        top = max(d for d, _j in mine)
        # The longest string as good as the best (ドロップアウト, not ドロップ).
        dice, j = max(((d, j) for d, j in mine if d >= LONGER * top), key=lambda dj: (len(dj[1]), dj))
        table[e] = (j, round(dice, 3))
    return Translations(table)
