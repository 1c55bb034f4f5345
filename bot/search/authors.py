"""Author names for the `author:` filter, completion and "did you mean": a name holds
every typed word exactly, as a prefix, or (in a long word, filters only) with one typo.

A surname the archive lacks matches nothing: a typo is tried only where no name has
the word or starts with it, and "did you mean" reaches further than a filter does.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.search.lifecycle import IndexState
from bot.search.names import nearest_authors
from bot.search.normalize import fold, tokens


def complete_names(state: IndexState, text: str, limit: int = 5) -> list[str]:
    """Author names (as written) that best match `text`: for completion and "did you mean"."""
    words = tokens(fold(" ".join(text.split())))
    if not words:
        return []
    found = names_with(state, words, typos=False)
    if found:
        return sorted(found)[:limit]
    return nearest_authors(text, state.author_names, limit)


def names_with(
    state: IndexState, words: Sequence[str], *, typos: bool, read_as: list[str] | None = None
) -> set[str]:
    """Author names holding every word (each exactly, as a prefix, or with a typo); the
    words a typed one was read as are added to `read_as` (for the notice saying so)."""
    found: set[str] | None = None
    for word in words:
        variants = _variants(state, word, typos=typos)
        if not variants:
            return set()
        if read_as is not None and word not in variants:
            read_as.extend(sorted(variants, key=lambda v: -state.author_words.df.get(v, 0))[:2])
        names: set[str] = set()
        for variant in variants:
            names |= state.names_by_word.get(variant, set())
        found = names if found is None else found & names
        if not found:
            return set()
    return found or set()


def similar_names(state: IndexState, words: Sequence[str], limit: int = 3) -> list[str]:
    """Names whose words are a typo or two from the typed ones: "did you mean" only."""
    scored: dict[str, float] = {}
    for word in words:
        for other, quality in state.author_words.near(word, 2) if len(word) >= 4 else ():
            for name in state.names_by_word.get(other, ()):
                scored[name] = max(scored.get(name, 0.0), quality)
    found = sorted(scored, key=lambda n: (-scored[n], n))[:limit]
    return found or nearest_authors(" ".join(words), state.author_names, limit, cutoff=70)


def _variants(state: IndexState, word: str, *, typos: bool) -> list[str]:
    """The name words a typed word stands for: itself, its completions, or one typo away."""
    vocab = state.author_words
    if word in vocab:
        return [word]
    if len(word) >= 3:
        completions = vocab.completions(word, limit=20)
        if completions:
            return completions
    if typos and len(word) >= 6:
        return [w for w, _q in vocab.near(word, 1)][:3]
    return []
