"""Everyday English words, so that a real word the archive lacks is never "corrected".

`correctly`, `revealing` or `stragglers` may be missing from a small archive's
vocabulary; they are English words, not typos of `correct` or `revealed`, and a
question that uses them must not be rewritten (nor told "did you mean …").

The list is pyspellchecker's English word frequencies (160,000 words counted in a
large general corpus), loaded once, on first use (about 0.3 s, 20 MB).
"""

from __future__ import annotations

import threading
from functools import lru_cache

#: A word is everyday English when it is at least this common (per million words).
COMMON = 0.3

_lock = threading.Lock()
_counts: dict[str, int] | None = None
_total = 1


def _load() -> dict[str, int]:
    global _counts, _total
    if _counts is None:
        with _lock:
            if _counts is None:
                from spellchecker import SpellChecker

                frequency = SpellChecker(language="en", distance=1).word_frequency
                _total = max(int(frequency.total_words), 1)
                _counts = dict(frequency.dictionary)
    return _counts


@lru_cache(maxsize=50_000)
def per_million(word: str) -> float:
    """How often everyday English uses `word` (folded, as typed), per million words."""
    return 1e6 * _load().get(word, 0) / _total


def is_word(word: str) -> bool:
    """An everyday English word (so not a typo, even where the archive lacks it)."""
    return word.isascii() and word.isalpha() and per_million(word) >= COMMON
