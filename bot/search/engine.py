"""The search engine: a query -> concepts -> a BM25 ranking over the on-disk index.

Built once from papers (the store's, via `LiveSearch`) into a directory, then
updated in place when the store changes; a search never touches the store.
Searches run in parallel; an update swaps in a new searcher and vocabulary
under a lock, so a search sees either the old index or the new one whole.

Query language: free words and "quoted phrases" (relevance-ranked, English
and Japanese meeting through the glossary and learned translations), filters
`topic:` `author:` `cat:` `week:` `since:` `until:` (exact, with typo-tolerant
names), and arXiv ids or URLs (that paper first). Filters alone list the
newest papers that pass them.

`SearchEngine` is the facade and only wires: the index's lifecycle is in
`lifecycle`, what one query reads in `context` (handed whole to every pass), the
query pass in `passes` (with `filters`, `authors`, `suggestions`, `collect` and
`matched`), related papers in `related`.
"""

from __future__ import annotations

import dataclasses
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from bot.model import Paper, Topic
from bot.search import lifecycle, semantic
from bot.search.authors import complete_names
from bot.search.context import DEFAULT_OPTIONS, Options, QueryContext
from bot.search.disk_index import DiskIndex, IndexMeta, new_meta
from bot.search.glossary import glossary
from bot.search.matched import ConceptReader
from bot.search.names import TopicNames
from bot.search.passes import QueryPass
from bot.search.query import Query, parse_query
from bot.search.ranking import Weighed
from bot.search.related import related_papers
from bot.search.results import SearchResponse
from bot.search.semantic import Space
from bot.search.tagging import Tagger
from bot.search.translate import EMPTY, Translations

__all__ = ["MAX_LIMIT", "MAX_OFFSET", "Options", "SearchEngine"]

#: Largest page a caller may ask for.
MAX_LIMIT = 200
#: The deepest page `search` serves: tantivy allocates offset + limit hits up front.
MAX_OFFSET = 10_000


class SearchEngine:
    """Search over papers kept in a `DiskIndex`; see the module docstring."""

    def __init__(
        self,
        disk: DiskIndex,
        topics: Iterable[Topic] = (),
        translations: Translations = EMPTY,
        *,
        options: Options = DEFAULT_OPTIONS,
        keep: Any = None,
        space: Space | None = None,
    ) -> None:
        self._disk = disk
        self._lock = threading.RLock()
        self._keep = keep  # a temporary directory that must live as long as the engine
        # What queries read, swapped whole (never changed in place) by update and reload.
        self._context = QueryContext(
            lifecycle.load_state(disk.searcher()), disk.schema, TopicNames(topics), translations,
            Tagger(glossary(), translations), options, space,
        )

    # Building and opening ---------------------------------------------------

    @classmethod
    def build(
        cls,
        papers: Iterable[Paper],
        topics: Iterable[Topic] = (),
        *,
        path: Path | None = None,
        meta: IndexMeta | None = None,
        options: Options = DEFAULT_OPTIONS,
        threads: int = 1,
        progress: Callable[[int], None] | None = None,
    ) -> SearchEngine:
        """Index every paper into `path` (a temporary folder when None), replacing what it held.

        One pass over `papers`: the title pairs translations are learned from
        are the first `MAX_PAIRS` (the store yields the newest first), the
        semantic space is learned from the first `semantic.SAMPLE`. `progress`
        is told the papers written so far (`DiskIndex.write`).
        """
        keep = None
        if path is None:
            keep = tempfile.TemporaryDirectory(prefix="digest-search-")
            path = Path(keep.name)
        topics = list(topics)
        disk = DiskIndex(path)
        translations, space = lifecycle.build_index(
            disk, papers, topics, meta=meta or new_meta("", "", 0), threads=threads, progress=progress
        )
        return cls(disk, topics, translations, options=options, keep=keep, space=space)

    @classmethod
    def open(cls, path: Path, topics: Iterable[Topic] = (), *, options: Options = DEFAULT_OPTIONS) -> SearchEngine:
        """An index built earlier (its meta says what it reflects)."""
        disk = DiskIndex(path)
        translations = lifecycle.read_translations(path)
        return cls(disk, topics, translations, options=options, space=Space.load(path / semantic.FILE))

    @property
    def meta(self) -> IndexMeta | None:
        return self._disk.meta()

    @property
    def path(self) -> Path:
        return self._disk.path

    def update(
        self,
        changed: Iterable[Paper] = (),
        removed_ids: Iterable[str] = (),
        *,
        topics: Iterable[Topic] | None = None,
        meta: IndexMeta | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Apply the store's changes (one commit), then record `meta`; `progress` as in `build`."""
        with self._lock:
            ctx = self._context
            # New topics are read from the start of the write, the new state from its
            # commit (as they always were); each swap replaces the context whole.
            if topics is not None:
                ctx = self._context = dataclasses.replace(ctx, topics=TopicNames(topics))
            current = meta or self._disk.meta() or new_meta("", "", 0)
            self._disk.write(changed, removed_ids, lifecycle.topic_names(ctx.topics.topics), ctx.tagger,
                             meta=current, space=ctx.space, progress=progress)
            self._context = dataclasses.replace(ctx, state=lifecycle.load_state(self._disk.searcher()))

    def reload(self) -> None:
        """See commits made by another process sharing the folder."""
        with self._lock:
            self._disk.reload()
            self._context = dataclasses.replace(self._context, state=lifecycle.load_state(self._disk.searcher()))

    # Lookups ----------------------------------------------------------------

    def __len__(self) -> int:
        return self._context.state.size

    @property
    def topics(self) -> list[Topic]:
        return list(self._context.topics.topics)

    def paper(self, arxiv_id: str) -> Paper | None:
        return self._context.paper(arxiv_id)

    def resolve_topic(self, text: str) -> tuple[Topic | None, tuple[str, ...]]:
        """A topic by slug, Japanese or English name, fuzzily; else None and the closest labels."""
        return self._context.topics.resolve(text)

    def authors(self, text: str, *, limit: int = 5) -> list[str]:
        """Author names (as written) that best match `text`: for completion and "did you mean"."""
        return complete_names(self._context.state, text, limit)

    def categories(self) -> list[tuple[str, int]]:
        """(category, papers) for every arXiv category in the archive, commonest first."""
        return sorted(self._context.state.categories.items(), key=lambda kv: (-kv[1], kv[0]))

    # Search -----------------------------------------------------------------

    def search(
        self, query: str | Query, *, limit: int = 10, offset: int = 0, strict: bool = False,
        fields: bool = False, question: bool = False,
    ) -> SearchResponse:
        """Rank papers for a query; never raises on what a person may type.

        `strict` keeps only papers that really match (the ones `total` counts: nearly
        every concept of the question), for uses where a weak match is noise (follows).
        `fields` names the fields each hit matched in (`Hit.matched`): that re-reads every
        hit's text, a third of a query's time, so only callers that show it ask.
        `question` reads the query as a question in a sentence (`digest-bot ask`, answers):
        its chatter (`bot.search.english`) does not decide, and when no paper holds
        enough of its concepts, the papers holding any rank (its closest papers, said so).
        """
        q = query if isinstance(query, Query) else parse_query(query)
        limit = max(0, min(int(limit), MAX_LIMIT))
        offset = max(0, min(int(offset), MAX_OFFSET))
        return QueryPass(self._context, q, limit, offset, strict=strict, fields=fields, question=question).run()

    def explain(self, query: str | Query, *, question: bool = False) -> list[dict[str, Any]]:
        """How a query is read: its concepts, their alternatives, and the papers answering each."""
        q = query if isinstance(query, Query) else parse_query(query)
        search = QueryPass(self._context, q, 10, 0, question=question)
        weighed = search.weigh(search.concepts())
        return [
            {"concept": w.concept.label, "papers": w.df, "idf": round(w.idf, 2),
             "alternatives": [{"terms": " ".join(a.terms), "via": a.via, "weight": a.weight,
                               "fields": a.script, "most_of": a.bag} for a in w.concept.alternatives]}
            for w in weighed
        ]

    def reader(self, query: str | Query, *, question: bool = False) -> ConceptReader:
        """The query's concepts, weighed, and which of them any text holds (for answers)."""
        q = query if isinstance(query, Query) else parse_query(query)
        search = QueryPass(self._context, q, 10, 0, question=question)
        return self._reader(search.weigh(search.concepts()))

    def for_question(
        self, query: str | Query, *, limit: int = 10, offset: int = 0
    ) -> tuple[SearchResponse, ConceptReader]:
        """A question's hits (`search(question=True)`) and its concepts' reader, from one pass."""
        q = query if isinstance(query, Query) else parse_query(query)
        limit = max(0, min(int(limit), MAX_LIMIT))
        offset = max(0, min(int(offset), MAX_OFFSET))
        search = QueryPass(self._context, q, limit, offset, question=True)
        response = search.run()
        return response, self._reader(search.weighed)

    def _reader(self, weighed: Sequence[Weighed]) -> ConceptReader:
        return ConceptReader(
            tuple(w.concept.label for w in weighed), tuple(w.idf for w in weighed),
            tuple(w.concept for w in weighed), self._context.tagger,
        )

    def related(self, arxiv_id: str, *, limit: int = 5) -> SearchResponse:
        """More like this: papers sharing the paper's most telling terms, in both languages."""
        return related_papers(self._context, arxiv_id, limit)
