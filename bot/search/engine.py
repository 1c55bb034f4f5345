"""The search engine: query -> filters and units -> pruned candidates -> reranked hits.

Built once from papers (the store's, via `LiveSearch`) and updated in place
when the store changes; a search never touches the store. Thread-safe: one
lock around searches and updates (a search takes milliseconds).
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.model import Paper, Topic
from bot.search import prune
from bot.search.index import AUTHORS, PaperIndex, recency_key
from bot.search.names import TopicNames, nearest_authors
from bot.search.normalize import STOPWORDS, fold, is_cjk, query_bigrams, segments, tokens
from bot.search.query import Query, parse_query
from bot.search.rank import Scored, Unit, rerank, word_unit
from bot.search.results import Hit, SearchResponse
from bot.search.vocab import Vocabulary

#: Largest page a caller may ask for.
MAX_LIMIT = 200
#: Rebuild the index when this share of its document numbers are tombstones.
COMPACT_SHARE = 0.3


@dataclass(frozen=True, slots=True)
class _Plan:
    """The free-text side of a query, ready to run."""

    units: tuple[Unit, ...]
    docs: tuple[set[int], ...]  # papers holding each unit (before filters)
    latin: str  # the Latin words, for rapidfuzz's title similarity
    ja: str  # the Japanese text, likewise


class SearchEngine:
    """Fuzzy search over papers; see `search` for the query language."""

    def __init__(self, index: PaperIndex, topics: Iterable[Topic] = ()) -> None:
        self._index = index
        self._topics = TopicNames(topics)
        self._lock = threading.RLock()
        self._vocab: Vocabulary | None = None
        self._author_vocab: Vocabulary | None = None
        self._vocab_generation = -1

    @classmethod
    def build(cls, papers: Iterable[Paper], topics: Iterable[Topic] = ()) -> SearchEngine:
        """Index every paper (newest become the largest document numbers)."""
        return cls(PaperIndex.build(papers), topics)

    # Changes --------------------------------------------------------------

    def update(
        self,
        changed: Iterable[Paper] = (),
        removed_ids: Iterable[str] = (),
        *,
        topics: Iterable[Topic] | None = None,
    ) -> None:
        """Apply the store's changes: new or changed papers, removed ids, new topic names."""
        with self._lock:
            index = self._index
            for arxiv_id in removed_ids:
                index.remove(arxiv_id)
            for paper in changed:
                index.upsert(paper)
            if topics is not None:
                self._topics = TopicNames(topics)
            if index.size > 1000 and len(index.dead) > COMPACT_SHARE * index.size:
                self._index = PaperIndex.build(index.live())

    # Lookups --------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._index)

    @property
    def topics(self) -> list[Topic]:
        return list(self._topics.topics)

    def paper(self, arxiv_id: str) -> Paper | None:
        with self._lock:
            doc = self._index.by_id.get(arxiv_id)
            return self._index.papers[doc] if doc is not None else None

    def resolve_topic(self, text: str) -> tuple[Topic | None, tuple[str, ...]]:
        """A topic by slug, Japanese or English name, fuzzily; else None and the closest labels."""
        return self._topics.resolve(text)

    def authors(self, text: str, *, limit: int = 5) -> list[str]:
        """Author names (as written) that best match `text`: for completion and "did you mean"."""
        with self._lock:
            names = self._index.author_names
            key = fold(" ".join(text.split()))
            if not key:
                return []
            _vocab, author_vocab = self._vocabularies()
            words = key.split()
            # Names holding the last word (or a completion of it) and every other word.
            wanted = {words[-1], *author_vocab.completions(words[-1], limit=50)}
            found = [
                name for folded, name in names.items()
                if not wanted.isdisjoint(folded.split()) and all(w in folded.split() for w in words[:-1])
            ] if len(wanted) > 1 or words[-1] in author_vocab else []
            if found:
                return sorted(found)[:limit]
            return nearest_authors(text, names, limit)

    def categories(self) -> list[tuple[str, int]]:
        """(category, papers) for every arXiv category in the archive, commonest first."""
        with self._lock:
            index = self._index
            counts = {cat: len(set(docs) - index.dead) for cat, docs in index.category.items()}
        return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))

    # Search ---------------------------------------------------------------

    def search(self, query: str | Query, *, limit: int = 10, offset: int = 0) -> SearchResponse:
        """Rank papers for a query; never raises on what a person may type.

        arXiv ids and URLs come first (exactly that paper), then papers matching
        every word, then those matching most; filters (`topic:` `author:`
        `cat:` `week:` `since:` `until:`) narrow all of them. A query of
        filters alone lists the newest papers that pass them.
        """
        q = query if isinstance(query, Query) else parse_query(query)
        limit = max(0, min(int(limit), MAX_LIMIT))
        offset = max(0, int(offset))
        with self._lock:
            return _Search(self, q, limit, offset).run()

    def _vocabularies(self) -> tuple[Vocabulary, Vocabulary]:
        if self._vocab is None or self._author_vocab is None or self._vocab_generation != self._index.generation:
            self._vocab = Vocabulary(self._index.words())
            self._author_vocab = Vocabulary(self._index.author_words)
            self._vocab_generation = self._index.generation
        return self._vocab, self._author_vocab


class _Search:
    """One query against the engine's current index (runs under the engine's lock)."""

    def __init__(self, engine: SearchEngine, query: Query, limit: int, offset: int) -> None:
        self.engine = engine
        self.index = engine._index
        self.vocab, self.author_vocab = engine._vocabularies()
        self.q = query
        self.limit = limit
        self.offset = offset
        self.notices: list[str] = list(query.notices)
        self.suggestions: list[str] = []

    def run(self) -> SearchResponse:
        index, q = self.index, self.q
        pinned = self._ids()
        allowed = self._filters()
        plan = self._plan()
        need = self.offset + self.limit
        scored: list[Scored]
        if plan.units:
            scored, total = self._ranked(plan, allowed, need + len(pinned))
        elif allowed is not None or not (q.arxiv_ids or q.has_text):
            pool = allowed if allowed is not None else set(index.by_id.values())
            scored = [Scored(d, 0, 100.0, ()) for d in prune.take(pool, (), need + len(pinned))]
            total = len(pool)
        else:
            scored, total = [], 0
        if pinned:
            rest = [s for s in scored if s.doc not in pinned]
            total += len(pinned) - (len(scored) - len(rest))
            scored = [Scored(d, 1, 100.0, ("arxiv_id",)) for d in pinned] + rest
        page = scored[self.offset : need]
        hits = tuple(Hit(paper, s.score, s.fields) for s in page if (paper := index.papers[s.doc]) is not None)
        if not hits and self.offset == 0:
            self._did_you_mean(plan)
        return SearchResponse(
            query=q.raw,
            hits=hits,
            total=total,
            offset=self.offset,
            suggestions=tuple(dict.fromkeys(self.suggestions))[:5],
            notices=tuple(dict.fromkeys(self.notices)),
        )

    # arXiv ids ------------------------------------------------------------

    def _ids(self) -> list[int]:
        pinned: list[int] = []
        for arxiv_id in self.q.arxiv_ids:
            doc = self.index.by_id.get(arxiv_id)
            if doc is None:
                self.notices.append(f"arXiv:{arxiv_id} is not in the archive")
            else:
                pinned.append(doc)
        return pinned

    # Filters --------------------------------------------------------------

    def _filters(self) -> set[int] | None:
        """Papers every filter lets through, or None when there are no filters."""
        q, index = self.q, self.index
        sets: list[set[int]] = []
        for text in q.topics:
            sets.append(self._topic(text))
        for text in q.authors:
            sets.append(self._author(text))
        for text in q.categories:
            sets.append(self._category(text))
        if q.week is not None:
            start = index.week_of(q.week)
            if start is None:
                self.notices.append(f"no digest week contains {q.week}")
                sets.append(set())
            else:
                sets.append(set(index.week[start]))
        if q.since is not None or q.until is not None:
            sets.append(index.between(q.since, q.until))
        if not sets:
            return None
        allowed = prune.intersect(sets)
        allowed -= index.dead
        return allowed

    def _topic(self, text: str) -> set[int]:
        topic, close = self.engine.resolve_topic(text)
        if topic is None:
            self.notices.append(f"no topic is called `{text}`")
            if close:
                self.suggestions += [f"topic:{label.rsplit('[', 1)[-1].rstrip(']')}" for label in close]
            else:
                self.suggestions += [f"topic:{t.slug}" for t in self.engine._topics.nearest(text, 2)]
            return set()
        if fold(text) not in (topic.slug, fold(topic.name_ja), fold(topic.name_en)):
            self.notices.append(f"topic `{text}` read as {topic.label}")
        return set(self.index.topic.get(topic.slug, ()))

    def _author(self, text: str) -> set[int]:
        """Papers with an author matching every word of `text` (prefixes and typos allowed)."""
        index = self.index
        found: set[int] | None = None
        read_as: list[str] = []
        for word in tokens(fold(text)):
            variants = self.author_vocab.expand(word)
            if not variants:
                found = set()
                break
            best = max(variants, key=variants.__getitem__)
            if best != word:
                read_as.append(best)
            docs: set[int] = set()
            for variant in variants:
                docs |= prune.anywhere(index, variant)
            padded = [f" {v} " for v in variants]
            docs = {d for d in docs if any(p in index.streams[d][AUTHORS] for p in padded)}
            found = docs if found is None else found & docs
        if not found:
            self.notices.append(f"no author matches `{text}`")
            names = self.engine.authors(text, limit=3) or nearest_authors(
                text, index.author_names, 2, cutoff=0
            )
            self.suggestions += [f'author:"{name}"' for name in names]
            return set()
        if read_as:
            self.notices.append(f"author `{text}` also matched: {', '.join(read_as)}")
        return found

    def _category(self, text: str) -> set[int]:
        index = self.index
        key = fold(text.strip())
        if key in index.category:
            return set(index.category[key])
        found: set[int] = set()
        for cat, docs in index.category.items():
            if cat.startswith(key):
                found.update(docs)
        if found:
            return found
        self.notices.append(f"no category `{text}` in the archive")
        close = process.extract(key, list(index.category), scorer=fuzz.ratio, limit=3, score_cutoff=50)
        self.suggestions += [f"cat:{cat}" for cat, _score, _i in close]
        return set()

    # Free text ------------------------------------------------------------

    def _plan(self) -> _Plan:
        units: dict[str, Unit] = {}
        latin: list[str] = []
        ja: list[str] = []
        for word in self.q.words:
            for tok in tokens(fold(word)):
                if is_cjk(tok):
                    ja.append(tok)
                    for seg in segments(tok):
                        grams = query_bigrams(seg)
                        units.setdefault(seg, Unit(
                            seg, "ja", grams=grams, needle=seg, required=bool(grams), kana_word=_katakana(seg),
                        ))
                else:
                    latin.append(tok)
                    optional = tok in STOPWORDS or len(tok) == 1
                    units.setdefault(tok, word_unit(tok, self.vocab.expand(tok), required=not optional))
        for phrase in self.q.phrases:
            toks = tokens(fold(phrase))
            if not toks:
                continue
            needle = " ".join(toks)
            phrase_grams: list[str] = []
            for tok in toks:
                if is_cjk(tok):
                    ja.append(tok)
                    phrase_grams += [g for seg in segments(tok) for g in query_bigrams(seg)]
                else:
                    latin.append(tok)
                    if tok not in STOPWORDS:
                        phrase_grams.append(tok)
            units.setdefault(
                f'"{needle}"',
                Unit(f'"{needle}"', "phrase", grams=tuple(phrase_grams), needle=needle, required=bool(phrase_grams)),
            )
        if units and not any(u.required for u in units.values()):
            units = {k: _required(u) for k, u in units.items()}
        docs = tuple(prune.unit_docs(self.index, u) if u.required else set() for u in units.values())
        size = max(len(self.index), 1)
        weighted = tuple(
            _weighted(u, len(d), size) for u, d in zip(units.values(), docs, strict=True)
        )
        for unit, found in zip(weighted, docs, strict=True):
            if unit.required and not found:
                self.notices.append(f"no paper has `{unit.label}`")
        return _Plan(weighted, docs, " ".join(latin), "".join(ja))

    def _ranked(self, plan: _Plan, allowed: set[int] | None, need: int) -> tuple[list[Scored], int]:
        index = self.index
        required = [(u, d) for u, d in zip(plan.units, plan.docs, strict=True) if u.required]
        sets: list[set[int]] = []
        for _unit, docs in required:
            docs = docs & allowed if allowed is not None else set(docs)
            if index.dead:
                docs -= index.dead
            sets.append(docs)
        full = prune.intersect(sets)
        partial = prune.all_but_one(sets) - full if len(sets) > 1 else set()
        if not full and partial:
            self.notices.append("no paper matches every word; showing papers that match all but one")
        k = max(prune.POOL, need + 20)
        pool = prune.take(full, self._title_sets(required, full, k), k)
        if len(pool) < k and partial:
            pool += prune.take(partial, (), k - len(pool))
        if not pool and len(sets) > 3:
            pool = prune.most(sets, set(), k)
            if pool:
                self.notices.append("no paper matches every word; showing papers that match most")
        papers = index.papers
        scored = rerank(
            pool, index.streams, plan.units, plan.latin, plan.ja,
            recency=lambda d: recency_key(papers[d]),  # type: ignore[arg-type]
        )
        return scored, max(len(full) + len(partial), len(scored))

    def _title_sets(self, required: list[tuple[Unit, set[int]]], full: set[int], k: int) -> list[set[int]]:
        """Preferences for an overfull tier: every unit exactly in a title, then in a title at all."""
        if len(full) <= k:
            return []
        exact = [prune.unit_docs(self.index, u, titles_only=True, exact=True) for u, _d in required]
        loose = [prune.unit_docs(self.index, u, titles_only=True) for u, _d in required]
        return [prune.intersect(exact), prune.intersect(loose)]

    # Did you mean ---------------------------------------------------------

    def _did_you_mean(self, plan: _Plan) -> None:
        """Suggest the likeliest intended query: corrected words, a topic, an author."""
        words = list(self.q.words)
        corrected = False
        for unit, docs in zip(plan.units, plan.docs, strict=True):
            if unit.kind != "word" or docs:
                continue
            better = self.vocab.suggest(unit.label)
            if better:
                words = [better if fold(w) == unit.label else w for w in words]
                corrected = True
        if corrected:
            self.suggestions.append(" ".join(words))
        text = self.q.text
        if not text:
            return
        topic = self.engine._topics.suggest(text)
        if topic is not None:
            self.suggestions.append(f"topic:{topic.slug}")
        self.suggestions += [f'author:"{name}"' for name in nearest_authors(text, self.index.author_names, 2)]
        if self.suggestions:
            return
        # Nothing close: still point somewhere, the nearest words and topics.
        loose = [self.vocab.suggest(u.label, cutoff=50) for u in plan.units if u.kind == "word"]
        self.suggestions += [w for w in loose if w]
        self.suggestions += [f"topic:{t.slug}" for t in self.engine._topics.nearest(text, 2)]


def _katakana(text: str) -> bool:
    return all("\u30a1" <= c <= "\u30fa" or c == "\u30fc" for c in text)


def _required(unit: Unit) -> Unit:
    return dataclasses.replace(unit, grams=unit.grams or (unit.needle,), required=True)


def _weighted(unit: Unit, df: int, size: int) -> Unit:
    """The unit with an idf weight: rare words decide more than common ones."""
    weight = max(0.3, math.log(1 + size / (1 + df))) if unit.required else 0.1
    return dataclasses.replace(unit, weight=weight)
