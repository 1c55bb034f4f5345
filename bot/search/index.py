"""The inverted index: terms -> papers, filter postings, and each paper's folded fields.

Built once from the store and then only appended to: a changed paper gets a
new document number and its old one a tombstone, so no posting list is ever
rewritten in place (posting lists stay sorted, appends stay cheap). Document
numbers grow with recency at build time, which lets candidate pruning prefer
newer papers with plain integer comparisons.
"""

from __future__ import annotations

import bisect
import datetime as dt
import gc
from array import array
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Iterator
from functools import partial
from itertools import repeat

from bot.model import AGGREGATE_SLUG, Paper
from bot.search.normalize import content_bigrams, fold, hiragana_bigrams, is_cjk, tokens, words

#: Searchable fields, in the order their folded streams are stored.
FIELDS = ("title", "title_ja", "summary", "remark", "authors", "comment")
TITLE, TITLE_JA, SUMMARY, REMARK, AUTHORS, COMMENT = range(len(FIELDS))

Postings = array  # array("i") of document numbers, ascending
_SEP = "\x1e"  # joins a paper's fields for one fold() call; not a word character


def recency_key(paper: Paper) -> tuple[dt.date, dt.datetime, str]:
    """Newer papers sort later: digest week, then posting time, then id."""
    return (paper.week_start or dt.date.min, paper.posted_at or dt.datetime.min, paper.arxiv_id)


def paper_day(paper: Paper) -> dt.date | None:
    """The day `since:`/`until:` compare: when it was posted, else its digest week."""
    return paper.posted_at.date() if paper.posted_at else paper.week_start


class PaperIndex:
    """Posting lists for words, Japanese bigrams, authors, topics, categories and dates."""

    def __init__(self) -> None:
        self.papers: list[Paper | None] = []
        self.streams: list[tuple[str, ...]] = []
        self.by_id: dict[str, int] = {}
        self.dead: set[int] = set()
        # term -> papers having it in a title (English or Japanese) / only elsewhere:
        # disjoint, so no posting is stored twice; "anywhere" is their union.
        self.title: defaultdict[str, Postings] = _table()
        self.body: defaultdict[str, Postings] = _table()
        self.author_words: Counter[str] = Counter()  # author-name word -> papers (for fuzzy names)
        self.topic: defaultdict[str, Postings] = _table()  # topic slug -> papers
        self.category: defaultdict[str, Postings] = _table()  # folded category -> papers
        self.week: defaultdict[dt.date, Postings] = _table()  # digest week start -> papers
        self.day: defaultdict[int, Postings] = _table()  # ordinal of paper_day -> papers
        self.days: list[int] = []  # sorted keys of `day`
        self.author_names: dict[str, str] = {}  # folded full name -> name as written
        self._names_seen: set[str] = set()
        self.generation = 0  # bumped on every change, for caches keyed on the vocabulary

    @classmethod
    def build(cls, papers: Iterable[Paper]) -> PaperIndex:
        """Index papers oldest first, so document numbers grow with recency.

        The cyclic GC is paused meanwhile: the build allocates millions of
        objects that all stay alive, and the collector's repeated full passes
        over them made the build quadratic-looking.
        """
        index = cls()
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            for paper in sorted(papers, key=recency_key):
                index._add(paper)
        finally:
            if was_enabled:
                gc.enable()
        if was_enabled:
            # The index lives as long as the process: move it out of the GC's
            # way, or the next full collection walks millions of its objects
            # in the middle of someone's search (a 300 ms pause at 100k papers).
            gc.collect()
            gc.freeze()
        return index

    def __len__(self) -> int:
        return len(self.by_id)

    @property
    def size(self) -> int:
        """Document numbers handed out, live or dead."""
        return len(self.papers)

    def live(self) -> Iterator[Paper]:
        for paper in self.papers:
            if paper is not None:
                yield paper

    # Changes --------------------------------------------------------------

    def upsert(self, paper: Paper) -> None:
        self.remove(paper.arxiv_id)
        self._add(paper)
        self.generation += 1

    def remove(self, arxiv_id: str) -> bool:
        doc = self.by_id.pop(arxiv_id, None)
        if doc is None:
            return False
        self.papers[doc] = None
        self.streams[doc] = ()
        self.dead.add(doc)
        self.generation += 1
        return True

    def _add(self, paper: Paper) -> int:
        doc = len(self.papers)
        title, title_ja, body = fold_fields(paper)
        summary, remark, authors, comment = body.split(_SEP)
        self.papers.append(paper)
        # Latin fields are stored as token streams (whole-word tests); Japanese
        # ones as folded text (substring tests need no tokens, and skipping them
        # halves the build).
        self.streams.append((stream(title), title_ja, summary, remark, stream(authors), stream(comment)))
        self.by_id[paper.arxiv_id] = doc
        title_terms = set(words(title))
        title_terms.update(words(title_ja), content_bigrams(title_ja), hiragana_bigrams(title_ja))
        body_terms = set(words(body))
        body_terms.update(content_bigrams(body))
        body_terms -= title_terms
        _post(self.title, title_terms, doc)
        _post(self.body, body_terms, doc)
        self.author_words.update(words(authors))
        for name in paper.authors:
            if name not in self._names_seen:
                self._names_seen.add(name)
                self.author_names.setdefault(fold(" ".join(name.split())), name)
        slugs = {t.slug for t in paper.topics} | {d.slug for d in paper.digests}
        slugs.discard(AGGREGATE_SLUG)
        _post(self.topic, slugs, doc)
        _post(self.category, {fold(c) for c in paper.categories}, doc)
        _post(self.week, {d.week_start for d in paper.digests}, doc)
        day = paper_day(paper)
        if day is not None:
            ordinal = day.toordinal()
            if ordinal not in self.day:
                bisect.insort(self.days, ordinal)
            _post(self.day, (ordinal,), doc)
        return doc

    # Lookups --------------------------------------------------------------

    def words(self) -> dict[str, int]:
        """The Latin/number vocabulary with document frequencies, for fuzzy correction."""
        vocab: dict[str, int] = {}
        for table in (self.title, self.body):
            for term, postings in table.items():
                if not is_cjk(term):
                    vocab[term] = vocab.get(term, 0) + len(postings)
        return vocab

    def postings(self, term: str) -> tuple[Postings | None, Postings | None]:
        """(title postings, elsewhere postings) of a term; None where it does not occur."""
        return self.title.get(term), self.body.get(term)

    def df(self, term: str) -> int:
        title, body = self.postings(term)
        return (len(title) if title is not None else 0) + (len(body) if body is not None else 0)

    def between(self, first: dt.date | None, last: dt.date | None) -> set[int]:
        """Papers whose day falls in [first, last] (either end open when None)."""
        lo = bisect.bisect_left(self.days, first.toordinal()) if first else 0
        hi = bisect.bisect_right(self.days, last.toordinal()) if last else len(self.days)
        found: set[int] = set()
        for ordinal in self.days[lo:hi]:
            found.update(self.day[ordinal])
        return found

    def week_of(self, day: dt.date) -> dt.date | None:
        """The start of the digest week that contains `day`, if the archive has one."""
        starts = [w for w in self.week if w <= day and (day - w).days < 7]
        return max(starts) if starts else None


def fold_fields(paper: Paper) -> tuple[str, str, str]:
    """(title, Japanese title, the other fields joined by _SEP), folded by one `fold` call."""
    fields = [
        paper.title, paper.title_ja, "\n".join(paper.summary), paper.remark,
        " ; ".join(paper.authors), paper.comment,
    ]
    joined = _SEP.join(fields)
    if joined.count(_SEP) != len(fields) - 1:  # a field held the separator itself
        joined = _SEP.join(f.replace(_SEP, " ") for f in fields)
    title, title_ja, body = fold(joined).split(_SEP, 2)
    return title, title_ja, body


def stream(folded: str) -> str:
    """` tok tok ` (padded): whole words are then found by `" word " in stream`."""
    found = tokens(folded)
    return f" {' '.join(found)} " if found else ""


def _post(table: defaultdict, keys: Iterable, doc: int) -> None:
    """Append `doc` to the postings of every key, in C loops (the build's hot spot)."""
    deque(map(array.append, map(table.__getitem__, keys), repeat(doc)), maxlen=0)


def _table() -> defaultdict:
    return defaultdict(partial(array, "i"))
