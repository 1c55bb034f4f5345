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
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
import tempfile
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tantivy
from rapidfuzz import fuzz, process

from bot.model import Paper, Topic
from bot.search import ranking, semantic
from bot.search.analyze import field_terms, phrase_terms
from bot.search.concepts import Alternative, Concept, Resources, plan
from bot.search.disk_index import (
    DiskIndex,
    IndexMeta,
    decode_paper,
    new_meta,
    paper_key,
    paper_streams,
)
from bot.search.glossary import glossary
from bot.search.names import TopicNames, nearest_authors
from bot.search.normalize import fold, tokens
from bot.search.query import Query, parse_query
from bot.search.results import Hit, SearchResponse
from bot.search.semantic import Space
from bot.search.tagging import Tagger
from bot.search.translate import EMPTY, MAX_PAIRS, Translations, learn
from bot.search.vocab import Vocabulary

#: Largest page a caller may ask for.
MAX_LIMIT = 200
#: Extra candidates fetched so that equal scores at the page's edge are ordered newest first.
TIE_WINDOW = 10
#: The first window is this many times the need (a wider heap is nearly free; a second pass is not).
TIE_FACTOR = 4
MAX_TIES = 4000
TRANSLATIONS_FILE = "translations.json"
Occur = tantivy.Occur
_FIELD_LABELS = {"title": "title", "title_ja": "title_ja", "summary": "summary", "remark": "remark",
                 "comment": "comment", "authors": "authors", "topics": "topics"}


@dataclass(frozen=True, slots=True)
class Options:
    """Switches for measuring what each part is worth (bench/bench_search.py)."""

    glossary: bool = True
    translations: bool = True
    semantic: bool = True


@dataclass(slots=True)
class _State:
    """What searches read, swapped whole after each update."""

    searcher: tantivy.Searcher
    size: int
    vocab: Vocabulary
    author_names: dict[str, str]  # folded full name -> as written
    author_words: Vocabulary  # folded words of names -> papers
    names_by_word: dict[str, set[str]]  # folded name word -> names as written
    categories: dict[str, int]  # folded category -> papers
    weeks: list[dt.date]  # digest week starts, ascending
    _author_docs: dict[str, int] = field(default_factory=dict)


class SearchEngine:
    """Search over papers kept in a `DiskIndex`; see the module docstring."""

    def __init__(
        self,
        disk: DiskIndex,
        topics: Iterable[Topic] = (),
        translations: Translations = EMPTY,
        *,
        options: Options = Options(),
        keep: Any = None,
        space: Space | None = None,
    ) -> None:
        self._disk = disk
        self._topics = TopicNames(topics)
        self._translations = translations
        self._space = space
        self._options = options
        self._lock = threading.RLock()
        self._keep = keep  # a temporary directory that must live as long as the engine
        self._tagger = Tagger(glossary(), translations)
        self._state = self._load_state()

    # Building and opening ---------------------------------------------------

    @classmethod
    def build(
        cls,
        papers: Iterable[Paper],
        topics: Iterable[Topic] = (),
        *,
        path: Path | None = None,
        meta: IndexMeta | None = None,
        options: Options = Options(),
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
        # Translations are learned from the newest papers' title pairs first (the store
        # yields the newest first), so that the index can add them as it goes.
        stream = iter(papers)
        first = list(itertools.islice(stream, max(MAX_PAIRS, semantic.SAMPLE)))
        translations = learn((p.title, p.title_ja) for p in first[:MAX_PAIRS] if p.title_ja)
        _write_json(path / TRANSLATIONS_FILE, translations.to_json())
        tagger = Tagger(glossary(), translations)
        space = semantic.learn(paper_streams(p, tagger) for p in first[: semantic.SAMPLE])
        (path / semantic.FILE).unlink(missing_ok=True)
        if space is not None:
            space.save(path / semantic.FILE)
        disk.write(
            itertools.chain(first, stream), (), _topic_names(topics), tagger,
            meta=meta or new_meta("", "", 0), clear=True, threads=threads, space=space, progress=progress,
        )
        return cls(disk, topics, translations, options=options, keep=keep, space=space)

    @classmethod
    def open(cls, path: Path, topics: Iterable[Topic] = (), *, options: Options = Options()) -> SearchEngine:
        """An index built earlier (its meta says what it reflects)."""
        disk = DiskIndex(path)
        try:
            translations = Translations.from_json(json.loads((path / TRANSLATIONS_FILE).read_text("utf-8")))
        except (OSError, ValueError):
            translations = EMPTY
        return cls(disk, topics, translations, options=options, space=Space.load(path / semantic.FILE))

    @property
    def _rerank_space(self) -> Space | None:
        """The semantic space the rerank uses: none when the options turn it off."""
        return self._space if self._options.semantic else None

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
            if topics is not None:
                self._topics = TopicNames(topics)
            current = meta or self._disk.meta() or new_meta("", "", 0)
            self._disk.write(changed, removed_ids, _topic_names(self._topics.topics), self._tagger, meta=current,
                             space=self._space, progress=progress)
            self._state = self._load_state()

    def reload(self) -> None:
        """See commits made by another process sharing the folder."""
        with self._lock:
            self._disk.reload()
            self._state = self._load_state()

    def _load_state(self) -> _State:
        searcher = self._disk.searcher()
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
        return _State(searcher, searcher.num_docs, vocab, author_names, Vocabulary(word_df),
                      dict(names_by_word), categories, weeks)

    # Lookups ----------------------------------------------------------------

    def __len__(self) -> int:
        return self._state.size

    @property
    def topics(self) -> list[Topic]:
        return list(self._topics.topics)

    def paper(self, arxiv_id: str) -> Paper | None:
        searcher = self._state.searcher
        hits = searcher.search(_key_query(self._disk.schema, [arxiv_id]), 1).hits
        return decode_paper(searcher.doc(hits[0][1])["paper"][0]) if hits else None

    def resolve_topic(self, text: str) -> tuple[Topic | None, tuple[str, ...]]:
        """A topic by slug, Japanese or English name, fuzzily; else None and the closest labels."""
        return self._topics.resolve(text)

    def authors(self, text: str, *, limit: int = 5) -> list[str]:
        """Author names (as written) that best match `text`: for completion and "did you mean"."""
        state = self._state
        words = tokens(fold(" ".join(text.split())))
        if not words:
            return []
        found = _names_with(state, words, typos=False)
        if found:
            return sorted(found)[:limit]
        return nearest_authors(text, state.author_names, limit)

    def categories(self) -> list[tuple[str, int]]:
        """(category, papers) for every arXiv category in the archive, commonest first."""
        return sorted(self._state.categories.items(), key=lambda kv: (-kv[1], kv[0]))

    # Search -----------------------------------------------------------------

    def search(
        self, query: str | Query, *, limit: int = 10, offset: int = 0, strict: bool = False,
        fields: bool = False,
    ) -> SearchResponse:
        """Rank papers for a query; never raises on what a person may type.

        `strict` keeps only papers that really match (the ones `total` counts: nearly
        every concept of the question), for uses where a weak match is noise (follows).
        `fields` names the fields each hit matched in (`Hit.matched`): that re-reads every
        hit's text, a third of a query's time, so only callers that show it ask.
        """
        q = query if isinstance(query, Query) else parse_query(query)
        limit = max(0, min(int(limit), MAX_LIMIT))
        offset = max(0, int(offset))
        return _Search(self, self._state, q, limit, offset, strict=strict, fields=fields).run()

    def explain(self, query: str | Query) -> list[dict[str, Any]]:
        """How a query is read: its concepts, their alternatives, and the papers answering each."""
        q = query if isinstance(query, Query) else parse_query(query)
        search = _Search(self, self._state, q, 10, 0)
        weighed = search.weigh(search.concepts())
        return [
            {"concept": w.concept.label, "papers": w.df, "idf": round(w.idf, 2),
             "alternatives": [{"terms": " ".join(a.terms), "via": a.via, "weight": a.weight,
                               "fields": a.script, "most_of": a.bag} for a in w.concept.alternatives]}
            for w in weighed
        ]

    def related(self, arxiv_id: str, *, limit: int = 5) -> SearchResponse:
        """More like this: papers sharing the paper's most telling terms, in both languages."""
        paper = self.paper(arxiv_id)
        if paper is None:
            return SearchResponse(query=arxiv_id)
        state = self._state
        schema = self._disk.schema
        wanted: defaultdict[tuple[str, str], float] = defaultdict(float)
        for name, text, weight in (("title", paper.title, 3.0), ("title_ja", paper.title_ja, 2.0),
                                   ("summary", "\n".join(paper.summary), 1.0)):
            for term in field_terms(text).split():
                wanted[(name, term)] += weight
        scored: list[tuple[float, str, str]] = []
        for (name, term), tf in wanted.items():
            df = state.searcher.doc_freq(name, term)
            if df < 2 or len(term) < 2:
                continue
            scored.append((tf * ranking.idf(df, state.size), name, term))
        scored.sort(reverse=True)
        clauses = [
            (Occur.Should, tantivy.Query.boost_query(tantivy.Query.term_query(schema, name, term), round(w, 3)))
            for w, name, term in scored[:30]
        ]
        if not clauses:
            return SearchResponse(query=paper.title)
        clauses.append((Occur.MustNot, _key_query(schema, [arxiv_id])))
        reranked = self._rerank_space is not None
        depth = max(limit, int(ranking.RERANK_DEPTH)) if reranked else limit
        found = state.searcher.search(tantivy.Query.boolean_query(clauses), depth).hits
        if reranked and found:
            found = self._related_rerank(state.searcher, arxiv_id, found)[:limit]
        hits = _hits(state.searcher, found, ())
        return SearchResponse(query=paper.title, hits=tuple(hits), total=len(hits))

    def _related_rerank(
        self, searcher: tantivy.Searcher, arxiv_id: str, found: list[tuple[float, Any]]
    ) -> list[tuple[float, Any]]:
        """The more-like-this candidates by their score (the best at 100) plus RELATED_WEIGHT
        times their cosine to the paper itself in the semantic space: shared words find the
        candidates, the subject orders them (papers on it in other words come first).
        `searcher` is the one that found them: their addresses mean nothing to another."""
        own = searcher.search(_key_query(self._disk.schema, [arxiv_id]), 1).hits
        if not own:
            return found
        packed = [searcher.fast_field_values(f, [own[0][1]] + [a for _s, a in found]) for f in semantic.FIELDS]
        seed = semantic.unpack([column[:1] for column in packed])[0]
        cosines = semantic.cosines(seed / (float(np.linalg.norm(seed)) or 1.0), [column[1:] for column in packed])
        top = max(s for s, _a in found) or 1.0
        weight = ranking.RELATED_WEIGHT
        scored = [(100.0 * s / top + weight * float(c), a) for (s, a), c in zip(found, cosines, strict=True)]
        return sorted(scored, key=lambda sa: -sa[0])


class _Search:
    """One query against one state of the index."""

    def __init__(
        self, engine: SearchEngine, state: _State, query: Query, limit: int, offset: int, *, strict: bool = False,
        fields: bool = False,
    ) -> None:
        self.engine = engine
        self.strict = strict
        self.fields = fields
        self.state = state
        self.schema = engine._disk.schema
        self.q = query
        self.limit = limit
        self.offset = offset
        self.notices: list[str] = list(query.notices)
        self.suggestions: list[str] = []

    def resources(self) -> Resources:
        searcher = self.state.searcher

        def df(term: str) -> int:
            return max(searcher.doc_freq(f, term) for f in ("title", "summary", "title_ja"))

        options = self.engine._options
        return Resources(self.state.vocab, df, glossary(), self.engine._translations,
                         use_glossary=options.glossary, use_translations=options.translations,
                         papers=self.state.size)

    def concepts(self) -> list[Concept]:
        return plan(self.q, self.resources())

    def weigh(self, concepts: Sequence[Concept]) -> list[ranking.Weighed]:
        searcher, n = self.state.searcher, max(self.state.size, 1)
        out = []
        for concept in concepts:
            df = ranking.estimate_df(searcher, concept)
            out.append(ranking.Weighed(concept, df, ranking.idf(df, n)))
        return out

    def run(self) -> SearchResponse:
        q, searcher = self.q, self.state.searcher
        pinned = self._pinned()
        filters, impossible = self._filters()
        need = self.offset + self.limit + len(pinned)
        concepts = self.concepts() if q.has_text else []
        for concept in concepts:
            self.notices += concept.notices
        weighed = self.weigh(concepts)
        hits: list[tuple[float, tantivy.DocAddress]] = []
        total = 0
        for w in weighed:
            if w.df == 0:
                self.notices.append(f"no paper has `{w.concept.label}`")
        if impossible:
            pass
        elif concepts:
            hits, total = self._ranked(weighed, filters, need)
        elif filters or not (q.arxiv_ids or q.has_text):
            query = _all(filters)
            result = searcher.search(query, max(need, 1), count=True, order_by_field="recency")
            hits, total = [(100.0, a) for _k, a in result.hits], _count(result)
        papers_hits = _hits(searcher, hits, concepts if self.fields else (), self.engine._tagger)
        if pinned:
            pinned_ids = {p.arxiv_id for p in pinned}
            rest = [h for h in papers_hits if h.paper.arxiv_id not in pinned_ids]
            total += len(pinned) - (len(papers_hits) - len(rest))
            papers_hits = [Hit(p, 100.0, ("arxiv_id",)) for p in pinned] + rest
        page = tuple(papers_hits[self.offset : self.offset + self.limit])
        if not page and self.offset == 0:
            self._did_you_mean(concepts)
        return SearchResponse(
            query=q.raw,
            hits=page,
            total=total,
            offset=self.offset,
            suggestions=tuple(dict.fromkeys(self.suggestions))[:5],
            notices=tuple(dict.fromkeys(self.notices)),
        )

    def _ranked(
        self, weighed: Sequence[ranking.Weighed], filters: Sequence[tantivy.Query], need: int
    ) -> tuple[list[tuple[float, Any]], int]:
        """The page's candidates, best first, and how many papers really match.

        Answers hold at least half of the concepts; when some do but fewer than a
        page, papers holding fewer follow them (a question always gets a full page
        once anything answers it). The count is of papers holding nearly all (`strict`).
        """
        searcher, schema = self.state.searcher, self.schema
        decide = ranking.deciding(weighed, self.state.size)
        concepts, k = [w.concept for w in decide], len(decide)
        gate = ranking.needed(k)
        # Papers holding more concepts always rank above those holding fewer, so the
        # page is found by asking for all of them first and fewer only while it is short:
        # an intersection is cheap where a union of common concepts is not.
        hits: list[tuple[float, Any]] = []
        full = ranking.strict(k)
        space = self.engine._rerank_space
        depth = max(need, int(ranking.RERANK_DEPTH)) if space is not None else need
        counted: dict[int, int] = {}  # papers holding at least `held` concepts, as each pass counts them
        for held in range(k, (full if self.strict else gate) - 1, -1):
            hits, counted[held] = _top(searcher, ranking.text_query(schema, weighed, decide, held, filters), depth)
            if len(hits) >= depth:
                break
        if not hits:
            return [], 0

        def count(held: int) -> int:  # a pass at that level counted them already, or one count query
            if held not in counted:
                query = ranking.count_query(schema, concepts, held, filters)
                counted[held] = _count(searcher.search(query, 1, count=True))
            return counted[held]

        total = count(full)
        if total == 0:
            self.notices.append("no paper matches every part of the question; showing the closest")
            total = count(gate)
        if len(hits) < depth and gate > 1 and not self.strict:
            more, _n = _top(searcher, ranking.text_query(schema, weighed, decide, 1, filters), depth)
            seen = {(a.segment_ord, a.doc) for _s, a in hits}
            hits += [(s, a) for s, a in more if (a.segment_ord, a.doc) not in seen]
        if space is not None:
            # Only the best RERANK_DEPTH, whatever the page: every page cuts the same ordering.
            window = int(ranking.RERANK_DEPTH)
            top = max((sc for sc, _a in hits), default=0.0) or 1.0
            scaled = [(100.0 * sc / top, a) for sc, a in hits[:depth]]  # the best at 100
            hits = self._rerank(space, weighed, scaled[:window]) + scaled[window:]
        return hits[:need], total

    def _rerank(
        self, space: Space, weighed: Sequence[ranking.Weighed], hits: list[tuple[float, Any]]
    ) -> list[tuple[float, Any]]:
        """The candidates (scored, the best at 100) by their score plus SEMANTIC_WEIGHT times
        the cosine of the question to the paper in the semantic space; ties keep their order."""
        query = space.query(
            (term, alt.weight) for w in weighed for alt in w.concept.alternatives
            for term in (alt.terms or [t for part in alt.parts for t in part])
        )
        if query is None or len(hits) < 2:
            return hits
        searcher = self.state.searcher
        addresses = [a for _s, a in hits]
        packed = [searcher.fast_field_values(f, addresses) for f in semantic.FIELDS]
        cosines = semantic.cosines(query, packed)
        scored = [(s + ranking.SEMANTIC_WEIGHT * float(c), a) for (s, a), c in zip(hits, cosines, strict=True)]
        order = sorted(range(len(scored)), key=lambda i: -round(scored[i][0], 4))
        return [scored[i] for i in order]

    # arXiv ids --------------------------------------------------------------

    def _pinned(self) -> list[Paper]:
        found = []
        for arxiv_id in self.q.arxiv_ids:
            paper = self.engine.paper(arxiv_id)
            if paper is None:
                self.notices.append(f"arXiv:{arxiv_id} is not in the archive")
            else:
                found.append(paper)
        return found

    # Filters ----------------------------------------------------------------

    def _filters(self) -> tuple[list[tantivy.Query], bool]:
        """(filter queries, True when some filter can match nothing)."""
        q, schema = self.q, self.schema
        queries: list[tantivy.Query] = []
        impossible = False
        for text in q.topics:
            slug = self._topic(text)
            if slug is None:
                impossible = True
            else:
                queries.append(tantivy.Query.term_query(schema, "topic", slug))
        for text in q.authors:
            names = self._author(text)
            if not names:
                impossible = True
            else:
                queries.append(tantivy.Query.term_set_query(schema, "author", sorted(names)))
        for text in q.categories:
            cats = self._category(text)
            if not cats:
                impossible = True
            else:
                queries.append(tantivy.Query.term_set_query(schema, "cat", sorted(cats)))
        if q.week is not None:
            start = _week_of(self.state.weeks, q.week)
            if start is None:
                self.notices.append(f"no digest week contains {q.week}")
                impossible = True
            else:
                queries.append(tantivy.Query.term_query(schema, "week", start.isoformat()))
        if q.since is not None or q.until is not None:
            queries.append(tantivy.Query.range_query(
                schema, "day", tantivy.FieldType.Integer,
                q.since.toordinal() if q.since else None, q.until.toordinal() if q.until else None,
            ))
        return queries, impossible

    def _topic(self, text: str) -> str | None:
        topic, close = self.engine.resolve_topic(text)
        if topic is None:
            self.notices.append(f"no topic is called `{text}`")
            if close:
                self.suggestions += [f"topic:{label.rsplit('[', 1)[-1].rstrip(']')}" for label in close]
            else:
                self.suggestions += [f"topic:{t.slug}" for t in self.engine._topics.nearest(text, 2)]
            return None
        if fold(text) not in (topic.slug, fold(topic.name_ja), fold(topic.name_en)):
            self.notices.append(f"topic `{text}` read as {topic.label}")
        return topic.slug

    def _author(self, text: str) -> set[str]:
        """Names (as written) holding every word of `text`: exact words, else completions,
        else one typo in a long word, said so. A surname the archive lacks matches nothing."""
        state = self.state
        words = tokens(fold(text))
        read: list[str] = []
        names = _names_with(state, words, typos=True, read_as=read)
        if not names:
            self.notices.append(f"no author in the archive is called `{text}`")
            self.suggestions += [f'author:"{name}"' for name in _similar_names(state, words)]
            return set()
        if read:
            self.notices.append(f"author `{text}` read as {', '.join(read)}")
        return names

    def _category(self, text: str) -> set[str]:
        cats = self.state.categories
        key = fold(text.strip())
        if key in cats:
            return {key}
        found = {c for c in cats if c.startswith(key)}
        if found:
            return found
        self.notices.append(f"no category `{text}` in the archive")
        close = process.extract(key, list(cats), scorer=fuzz.ratio, limit=3, score_cutoff=50)
        self.suggestions += [f"cat:{cat}" for cat, _score, _i in close]
        return set()

    # Did you mean -----------------------------------------------------------

    def _did_you_mean(self, concepts: Sequence[Concept]) -> None:
        """Suggest the likeliest intended query: corrected words, a topic, an author."""
        vocab = self.state.vocab
        words = list(self.q.words)
        corrected = False
        for concept in concepts:
            label = fold(concept.label)
            if label in vocab or " " in label:
                continue
            better = vocab.suggest(label)
            if better:
                words = [better if fold(w) == label else w for w in words]
                corrected = True
        if corrected:
            self.suggestions.append(" ".join(words))
        text = self.q.text
        if not text:
            return
        topic = self.engine._topics.suggest(text)
        if topic is not None:
            self.suggestions.append(f"topic:{topic.slug}")
        self.suggestions += [f'author:"{name}"' for name in nearest_authors(text, self.state.author_names, 2)]
        if self.suggestions:
            return
        loose = [vocab.suggest(fold(c.label), cutoff=50) for c in concepts]
        self.suggestions += [w for w in loose if w]
        self.suggestions += [f"topic:{t.slug}" for t in self.engine._topics.nearest(text, 2)]


# Helpers --------------------------------------------------------------------


def _names_with(state: _State, words: Sequence[str], *, typos: bool, read_as: list[str] | None = None) -> set[str]:
    """Author names holding every word (each exactly, as a prefix, or with a typo)."""
    found: set[str] | None = None
    for word in words:
        variants = _author_variants(state, word, typos=typos)
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


def _similar_names(state: _State, words: Sequence[str], limit: int = 3) -> list[str]:
    """Names whose words are a typo or two from the typed ones: "did you mean" only."""
    scored: dict[str, float] = {}
    for word in words:
        for other, quality in state.author_words.near(word, 2) if len(word) >= 4 else ():
            for name in state.names_by_word.get(other, ()):
                scored[name] = max(scored.get(name, 0.0), quality)
    found = sorted(scored, key=lambda n: (-scored[n], n))[:limit]
    return found or nearest_authors(" ".join(words), state.author_names, limit, cutoff=70)


def _author_variants(state: _State, word: str, *, typos: bool) -> list[str]:
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


def _count(result: tantivy.SearchResult) -> int:
    """The number of matching papers (the binding's type stubs omit `count`)."""
    return int(result.count)  # type: ignore[attr-defined]


def _top(searcher: tantivy.Searcher, query: tantivy.Query, need: int) -> tuple[list[tuple[float, Any]], int]:
    """The best `need` hits, equal scores ordered newest first, and how many papers match.

    tantivy breaks ties by index position, and a page boundary may fall inside a
    run of equal scores: the window holds the whole run (up to MAX_TIES), so every
    page cuts the same ordering and pages never overlap. It starts at TIE_FACTOR
    times the need, since a wider heap costs next to nothing beside a second pass
    over the postings; the count comes with the pass (a count collector beside
    the top one), so no second traversal is needed for "N papers" either.
    """
    window = max(need + TIE_WINDOW, TIE_FACTOR * need)
    while True:
        result = searcher.search(query, window, count=True)
        hits = result.hits
        if len(hits) < window or need == 0 or window >= MAX_TIES:
            break
        if _tie(hits[-1][0], hits[min(need, len(hits)) - 1][0]):
            window *= 4
            continue
        break
    total = _count(result)
    if len(hits) < 2:
        return list(hits), total
    recency = searcher.fast_field_values("recency", [a for _s, a in hits])
    order = sorted(range(len(hits)), key=lambda i: (-round(hits[i][0], 4), -(recency[i] or 0)))
    return [hits[i] for i in order][:need], total


def _tie(a: float, b: float) -> bool:
    return round(a, 4) == round(b, 4)


def _week_of(weeks: Sequence[dt.date], day: dt.date) -> dt.date | None:
    starts = [w for w in weeks if w <= day and (day - w).days < 7]
    return max(starts) if starts else None


def _key_query(schema: tantivy.Schema, arxiv_ids: Sequence[str]) -> tantivy.Query:
    return tantivy.Query.term_set_query(schema, "key", [paper_key(a) for a in arxiv_ids])


def _all(filters: Sequence[tantivy.Query]) -> tantivy.Query:
    if not filters:
        return tantivy.Query.all_query()
    return tantivy.Query.boolean_query([(Occur.Must, f) for f in filters])


def _hits(
    searcher: tantivy.Searcher, found: Sequence[tuple[float, Any]], concepts: Sequence[Concept],
    tagger: Tagger | None = None,
) -> list[Hit]:
    top = max((s for s, _a in found), default=0.0) or 1.0
    hits = []
    for score, address in found:
        paper = decode_paper(searcher.doc(address)["paper"][0])
        hits.append(Hit(paper, round(100 * score / top, 1), matched_fields(paper, concepts, tagger)))
    return hits


def matched_fields(paper: Paper, concepts: Sequence[Concept], tagger: Tagger | None = None) -> tuple[str, ...]:
    """Which of the paper's fields hold some alternative of some concept (for "matched in"),
    as the index reads them (with the glossary's concept tokens when a tagger is given)."""
    if not concepts:
        return ()
    fields = {
        "title": paper.title, "title_ja": paper.title_ja, "summary": "\n".join(paper.summary),
        "authors": " ; ".join(paper.authors), "comment": paper.comment, "remark": paper.remark,
    }
    out = []
    for name, text in fields.items():
        if not text:
            continue
        folded = fold(text)
        stream = phrase_terms(folded, hiragana=name == "title_ja")
        if tagger is not None and name != "authors":
            stream += tagger.concepts(text, folded, stream)
        joined = f" {' '.join(stream)} "
        if any(_holds(joined, a) for c in concepts for a in c.alternatives):
            out.append(name)
    return tuple(out)


def _holds(joined: str, alt: Alternative) -> bool:
    if alt.parts:
        return all(f" {' '.join(p)} " in joined for p in alt.parts)
    if alt.bag:
        return sum(1 for t in alt.terms if f" {t} " in joined) >= math.ceil(0.7 * len(alt.terms))
    return f" {' '.join(alt.terms)} " in joined


def _topic_names(topics: Iterable[Topic]) -> dict[str, str]:
    return {t.slug: " ".join(n for n in (t.name_ja, t.name_en) if n) for t in topics}


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    tmp.replace(path)


