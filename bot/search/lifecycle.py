"""The index's lifecycle: what a full build learns before it indexes, the files kept
beside the index, and the state searches read, loaded anew after every commit.

A full build makes one pass over the papers (the store yields the newest first): the
newest `MAX_PAIRS` title pairs teach the translations and the newest `semantic.SAMPLE`
papers the semantic space; both are saved beside the index and kept until the next
full build, so papers indexed later are tagged and placed with them. Searches never
read the folder: they read an `IndexState`, swapped whole after each update or reload.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import tantivy

from bot.model import Paper, Topic
from bot.search import semantic
from bot.search.disk_index import DiskIndex, IndexMeta, paper_streams
from bot.search.glossary import glossary
from bot.search.normalize import fold, tokens
from bot.search.semantic import Space
from bot.search.tagging import Tagger
from bot.search.translate import EMPTY, MAX_PAIRS, Translations, learn
from bot.search.vocab import Vocabulary

TRANSLATIONS_FILE = "translations.json"


@dataclass(frozen=True, slots=True)
class IndexState:
    """What searches read of one commit of the index: its searcher and the vocabularies
    drawn from its terms (typo correction, author names, categories, weeks)."""

    searcher: tantivy.Searcher
    size: int
    vocab: Vocabulary
    author_names: dict[str, str]  # folded full name -> as written
    author_words: Vocabulary  # folded words of names -> papers
    names_by_word: dict[str, set[str]]  # folded name word -> names as written
    categories: dict[str, int]  # folded category -> papers
    weeks: list[dt.date]  # digest week starts, ascending


def load_state(searcher: tantivy.Searcher) -> IndexState:
    """The state of the commit `searcher` sees, read from its term dictionaries."""
    vocab = Vocabulary(dict(searcher.terms_with_prefix("words", "")))
    author_names: dict[str, str] = {}
    names_by_word: defaultdict[str, set[str]] = defaultdict(set)
    word_df: Counter[str] = Counter()
    for name, df in searcher.terms_with_prefix("author", ""):
        folded = " ".join(fold(name).split())
        author_names.setdefault(folded, name)
        for word in tokens(folded):
            names_by_word[word].add(name)
            word_df[word] += df
    categories = dict(searcher.terms_with_prefix("cat", ""))
    weeks = sorted(dt.date.fromisoformat(w) for w, _df in searcher.terms_with_prefix("week", ""))
    return IndexState(searcher, searcher.num_docs, vocab, author_names, Vocabulary(word_df),
                      dict(names_by_word), categories, weeks)


def build_index(
    disk: DiskIndex,
    papers: Iterable[Paper],
    topics: Iterable[Topic],
    *,
    meta: IndexMeta,
    threads: int = 1,
    progress: Callable[[int], None] | None = None,
) -> tuple[Translations, Space | None]:
    """Index every paper into `disk`, replacing what it held; the translations and the
    semantic space learned on the way (saved beside the index) are returned for the engine.

    One pass over `papers`: translations are learned from the newest papers' title pairs
    first (the store yields the newest first), so that the index can add them as it goes.
    `progress` is told the papers written so far (`DiskIndex.write`).
    """
    stream = iter(papers)
    first = list(itertools.islice(stream, max(MAX_PAIRS, semantic.SAMPLE)))
    translations = learn((p.title, p.title_ja) for p in first[:MAX_PAIRS] if p.title_ja)
    _write_json(disk.path / TRANSLATIONS_FILE, translations.to_json())
    tagger = Tagger(glossary(), translations)
    space = semantic.learn(paper_streams(p, tagger) for p in first[: semantic.SAMPLE])
    (disk.path / semantic.FILE).unlink(missing_ok=True)
    if space is not None:
        space.save(disk.path / semantic.FILE)
    disk.write(
        itertools.chain(first, stream), (), topic_names(topics), tagger,
        meta=meta, clear=True, threads=threads, space=space, progress=progress,
    )
    return translations, space


def read_translations(path: Path) -> Translations:
    """The translations a full build saved in the index folder `path` (none when unreadable)."""
    try:
        return Translations.from_json(json.loads((path / TRANSLATIONS_FILE).read_text("utf-8")))
    except (OSError, ValueError):
        return EMPTY


def topic_names(topics: Iterable[Topic]) -> dict[str, str]:
    """slug -> the topic's names, as the index stores them for matching."""
    return {t.slug: " ".join(n for n in (t.name_ja, t.name_en) if n) for t in topics}


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)
