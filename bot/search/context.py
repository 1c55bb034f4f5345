"""What one query reads, frozen: the index state it started with and the resources
around it (topics, translations, tagger, options, semantic space).

The engine keeps one `QueryContext` and swaps it whole after each update or reload; a
search, an explanation or a related-papers lookup takes it once at its start and reads
nothing else, so a swap meanwhile never mixes two states in one answer (document
addresses of one searcher mean nothing to another).
"""

from __future__ import annotations

from dataclasses import dataclass

import tantivy

from bot.model import Paper
from bot.search import english
from bot.search.collect import paper_by_id
from bot.search.concepts import Resources
from bot.search.glossary import glossary
from bot.search.lifecycle import IndexState
from bot.search.names import TopicNames
from bot.search.semantic import Space
from bot.search.tagging import Tagger
from bot.search.translate import Translations


@dataclass(frozen=True, slots=True)
class Options:
    """Switches for measuring what each part is worth (bench/bench_search.py)."""

    glossary: bool = True
    translations: bool = True
    semantic: bool = True


#: Every part on: what the bot runs with.
DEFAULT_OPTIONS = Options()


@dataclass(frozen=True, slots=True)
class QueryContext:
    """One state of the index and what a query reads beside it."""

    state: IndexState
    schema: tantivy.Schema
    topics: TopicNames
    translations: Translations
    tagger: Tagger
    options: Options
    space: Space | None  # learned at the last full build; None below semantic.MIN_PAPERS or when the folder has none

    @property
    def searcher(self) -> tantivy.Searcher:
        return self.state.searcher

    @property
    def rerank_space(self) -> Space | None:
        """The semantic space the rerank uses: none when the options turn it off."""
        return self.space if self.options.semantic else None

    def paper(self, arxiv_id: str) -> Paper | None:
        """The paper as this state holds it, else None."""
        return paper_by_id(self.state.searcher, self.schema, arxiv_id)

    def resources(self) -> Resources:
        """What planning a query's concepts reads (`concepts.plan`), from this state."""
        searcher = self.state.searcher

        def df(term: str) -> int:
            return max(searcher.doc_freq(f, term) for f in ("title", "summary", "title_ja"))

        options = self.options
        return Resources(self.state.vocab, df, glossary(), self.translations,
                         use_glossary=options.glossary, use_translations=options.translations,
                         papers=self.state.size, is_word=english.is_word)
