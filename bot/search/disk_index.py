"""The search index on disk: a tantivy index of one document per paper.

Why tantivy underneath: a BM25 inverted index in Rust, kept on disk in
segments, opened in milliseconds and searched without loading it into Python
objects. That is what lets a bot restart answer within seconds at a million
papers, where an in-memory Python index took minutes to rebuild and gigabytes
to hold. Analysis (stems, bigrams, compounds) stays ours (`analyze`): every
text field is stored as a whitespace-joined term stream, so the index and the
query planner always agree on what a term is.

A directory holds one index plus `digest-bot.json`: the format, the store's
archive id and root it was built from, and the store version it reflects.
`digest-bot.json` is written after each commit, so the index's content is never
older than its meta says (a crash in between makes the next catch-up apply a
few changes again, which is harmless: an update replaces a paper by key).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import itertools
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import tantivy

from bot.model import AGGREGATE_SLUG, Paper
from bot.search import semantic
from bot.search.analyze import field_terms, latin_words
from bot.search.glossary import digest
from bot.search.normalize import fold
from bot.search.semantic import Space
from bot.search.tagging import Tagger
from bot.store.codec import digests_data, paper_from, text_data

#: Bumped whenever the schema or the analysis changes: an index of another format is rebuilt.
FORMAT = 10

#: Text fields, searched with BM25 (each its own statistics).
TEXT_FIELDS = ("title", "title_ja", "summary", "remark", "comment", "authors", "xlat", "topics")
#: The paper's own text fields (not the topic names, not the learned English): a paper holds
#: a term when one of them does (`ranking.match_query`).
OWN_FIELDS = ("title", "title_ja", "summary", "remark", "comment", "authors")
WHITESPACE = "digest_terms"

_NEW_ID_RE = re.compile(r"^(\d{4})\.(\d{4,5})$")
#: Writer memory (tantivy splits it between its threads; at least 15 MB per thread): a full
#: build gets more, so a million papers make few segments to merge; an update needs little.
WRITER_HEAP = 32_000_000
BUILD_HEAP = 256_000_000
#: A write says how many papers it wrote every this many (`DiskIndex.write`'s `progress`).
PROGRESS_EVERY = 256


def paper_key(arxiv_id: str) -> int:
    """A stable 63-bit integer per arXiv id: the key documents are replaced and filtered by."""
    return int.from_bytes(hashlib.blake2b(arxiv_id.encode(), digest_size=8).digest(), "big") >> 1


def paper_day(paper: Paper) -> dt.date | None:
    """The day `since:`/`until:` compare: when it was posted, else its digest week."""
    return paper.posted_at.date() if paper.posted_at else paper.week_start


def recency(paper: Paper) -> int:
    """Newer papers are larger: digest week, then posting minute in it, then arXiv number."""
    week = paper.week_start
    if week is None:
        return 0
    minutes = 0
    if paper.posted_at is not None:
        start = dt.datetime.combine(week, dt.time())
        minutes = max(0, min(int((paper.posted_at - start).total_seconds() // 60), 2**14 - 1))
    m = _NEW_ID_RE.match(paper.arxiv_id)
    number = (int(m.group(1)) * 100_000 + int(m.group(2))) % 2**28 if m else 0
    return (week.toordinal() << 42) | (minutes << 28) | number


def build_schema() -> tantivy.Schema:
    b = tantivy.SchemaBuilder()
    for name in TEXT_FIELDS:
        b.add_text_field(name, tokenizer_name=WHITESPACE, index_option="position")
    b.add_text_field("words", tokenizer_name=WHITESPACE, index_option="basic")
    b.add_text_field("topic", tokenizer_name="raw", index_option="basic")
    b.add_text_field("cat", tokenizer_name="raw", index_option="basic")
    b.add_text_field("author", tokenizer_name="raw", index_option="basic")
    b.add_integer_field("key", indexed=True, fast=True)
    b.add_text_field("week", tokenizer_name="raw", index_option="basic")
    b.add_integer_field("day", indexed=True, fast=True)
    b.add_integer_field("recency", fast=True)
    for name in semantic.FIELDS:  # the paper's place in the semantic space, int8 packed
        b.add_unsigned_field(name, fast=True)
    b.add_bytes_field("paper", stored=True)
    return b.build()


def encode_paper(paper: Paper) -> bytes:
    data = text_data(paper)
    data["topics"] = [[t.slug, t.name] for t in paper.topics]
    data["digests"] = digests_data(paper.digests)
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def decode_paper(raw: bytes) -> Paper:
    data = json.loads(raw)
    return paper_from(data, topics=data.get("topics"), digests=data.get("digests"))


def paper_streams(paper: Paper, tagger: Tagger) -> dict[str, str]:
    """The paper's fields as the term streams the index stores (and the semantic space is
    learned from): its own text fields, the English learned for its Japanese text (`xlat`)
    and its Latin words as written (`words`). Each text is folded once for all of them."""
    tag = tagger.concepts
    title, title_ja = fold(paper.title), fold(paper.title_ja)
    summary_text = "\n".join(paper.summary)
    summary, comment = fold(summary_text), fold(paper.comment)
    return {
        "title": field_terms(paper.title, tag=tag, folded=title),
        "title_ja": field_terms(paper.title_ja, hiragana=True, tag=tag, folded=title_ja),
        "summary": field_terms(summary_text, tag=tag, folded=summary),
        "remark": field_terms(paper.remark, tag=tag),
        "comment": field_terms(paper.comment, tag=tag, folded=comment),
        "authors": field_terms(" ; ".join(paper.authors)),
        "xlat": " ".join(tagger.english(f"{title_ja}\n{summary}")),
        "words": " ".join(surface_words(title, title_ja, summary, comment)),
    }


#: Papers analysed together when written (their semantic vectors are folded in one product).
BATCH = 512


def documents(
    papers: Iterable[Paper], topic_names: Mapping[str, str], tagger: Tagger, space: Space | None = None
) -> Iterator[tuple[Paper, tantivy.Document]]:
    """Each paper with its document, made a batch at a time."""
    stream = iter(papers)
    # A handful of topic sets recur across every paper: their terms are analysed once each.
    topic_terms = functools.lru_cache(maxsize=1024)(functools.partial(field_terms, tag=tagger.concepts))
    while batch := list(itertools.islice(stream, BATCH)):
        own = [paper_streams(p, tagger) for p in batch]
        packed = semantic.pack(space.fold(own)) if space is not None else None
        for i, paper in enumerate(batch):
            vector = packed[i] if packed is not None else None
            yield paper, document(paper, topic_names, tagger, streams=own[i], vector=vector, topic_terms=topic_terms)


def document(
    paper: Paper, topic_names: Mapping[str, str], tagger: Tagger, *,
    streams: dict[str, str] | None = None, vector: list[int] | None = None,
    topic_terms: Callable[[str], str] | None = None,
) -> tantivy.Document:
    """A paper's document: term streams (`paper_streams`, unless given), filter terms,
    numbers, its place in the semantic space (`vector`, packed, when there is one), and
    the paper itself. `topic_terms` analyses its topics' names (a memo, in a build)."""
    slugs = sorted(({t.slug for t in paper.topics} | {d.slug for d in paper.digests}) - {AGGREGATE_SLUG})
    names = " ".join(n for s in slugs for n in (topic_names.get(s, ""), s))
    doc = tantivy.Document()
    tag = tagger.concepts
    if streams is None:
        streams = paper_streams(paper, tagger)
    for name, stream in streams.items():
        doc.add_text(name, stream)
    doc.add_text("topics", topic_terms(names) if topic_terms is not None else field_terms(names, tag=tag))
    for slug in slugs:
        doc.add_text("topic", slug)
    for cat in {fold(c) for c in paper.categories}:
        doc.add_text("cat", cat)
    for name in {" ".join(a.split()) for a in paper.authors}:
        if name:
            doc.add_text("author", name)
    doc.add_integer("key", paper_key(paper.arxiv_id))
    for week in {d.week_start for d in paper.digests}:
        doc.add_text("week", week.isoformat())
    day = paper_day(paper)
    doc.add_integer("day", day.toordinal() if day else 0)
    doc.add_integer("recency", recency(paper))
    if vector is not None:
        for name, value in zip(semantic.FIELDS, vector, strict=True):
            doc.add_unsigned(name, value)
    doc.add_bytes("paper", encode_paper(paper))
    return doc


def surface_words(*folded: str) -> list[str]:
    """The Latin words of a paper's folded texts as written (unstemmed, once each): the
    vocabulary typo correction and "did you mean" draw on, kept in the index (`words`) so
    it is always in step."""
    return sorted({w for text in folded for w in latin_words(text) if 2 < len(w) <= 40 and not w.isdigit()})


@dataclass(frozen=True, slots=True)
class IndexMeta:
    """What an index directory reflects; compared with the store before it is used."""

    format: int
    glossary: str
    archive_id: str
    archive_root: str
    version: int
    built_at: float

    def matches(self, archive_id: str, archive_root: str) -> bool:
        return self.mismatch(archive_id, archive_root) is None

    def mismatch(self, archive_id: str, archive_root: str) -> str | None:
        """Why this index cannot serve the store's archive, in words for a log line (None: it can)."""
        if self.format != FORMAT:
            return f"it was built in index format {self.format}, this bot reads format {FORMAT}"
        if self.glossary != digest():
            return "it was built with another version of the glossary"
        if self.archive_root != archive_root:
            built_from = self.archive_root or "an unknown folder"
            return f"it was built from the archive at {built_from}, the store holds {archive_root}"
        if self.archive_id != archive_id:
            return "it was built from another store (or the store re-indexed its archive since)"
        return None


class DiskIndex:
    """One tantivy index directory and its meta."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.schema = build_schema()
        self.index = tantivy.Index(self.schema, path=str(self.path), reuse=True)
        self.index.register_tokenizer(WHITESPACE, tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build())
        self._searcher: tantivy.Searcher | None = None

    # Meta -------------------------------------------------------------------

    def meta(self) -> IndexMeta | None:
        try:
            data = json.loads((self.path / "digest-bot.json").read_text(encoding="utf-8"))
            return IndexMeta(**data)
        except (OSError, ValueError, TypeError):
            return None

    def write_meta(self, meta: IndexMeta) -> None:
        tmp = self.path / f"digest-bot.json.{os.getpid()}"
        tmp.write_text(json.dumps(asdict(meta)), encoding="utf-8")
        os.replace(tmp, self.path / "digest-bot.json")

    # Reading ----------------------------------------------------------------

    def searcher(self) -> tantivy.Searcher:
        if self._searcher is None:
            self._searcher = self.index.searcher()
        return self._searcher

    def reload(self) -> None:
        """See what was committed since (by this process or another)."""
        self.index.reload()
        self._searcher = self.index.searcher()

    # Writing ----------------------------------------------------------------

    def write(
        self,
        changed: Iterable[Paper],
        removed_ids: Iterable[str],
        topic_names: Mapping[str, str],
        tagger: Tagger,
        *,
        meta: IndexMeta,
        clear: bool = False,
        threads: int = 1,
        space: Space | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Apply changes in one commit, then record `meta`; returns the papers written.

        `progress` is told how many papers were written: 0 as writing starts, then every
        `PROGRESS_EVERY`, and once all are (before the commit): at a million papers a build
        writes for minutes.

        The writer exists only for this call, so other processes can write the
        same directory in between (tantivy allows one writer at a time and
        says so with an error, which the caller may retry).
        """
        heap = BUILD_HEAP if clear else WRITER_HEAP
        writer = self.index.writer(heap_size=max(heap, 16_000_000 * threads), num_threads=threads)
        written = 0
        try:
            if clear:
                writer.delete_all_documents()
            for arxiv_id in removed_ids:
                writer.delete_documents_by_term("key", paper_key(arxiv_id))
            if progress is not None:
                progress(0)
            for paper, doc in documents(changed, topic_names, tagger, space):
                if not clear:
                    writer.delete_documents_by_term("key", paper_key(paper.arxiv_id))
                writer.add_document(doc)
                written += 1
                if progress is not None and written % PROGRESS_EVERY == 0:
                    progress(written)
            if progress is not None:
                progress(written)
            writer.commit()
            writer.wait_merging_threads()
        except BaseException:
            writer.rollback()
            raise
        finally:
            del writer
        self.write_meta(meta)
        self.reload()
        return written


def new_meta(archive_id: str, archive_root: str, version: int) -> IndexMeta:
    return IndexMeta(FORMAT, digest(), archive_id, archive_root, version, time.time())

