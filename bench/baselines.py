"""Baseline search systems the engine is measured against, in the same run.

Each one is a real, commonly used way to search this kind of text, given the
query string as typed (they know no filters, ids or "did you mean"):

  bm25     character-bigram BM25 over every text field: Latin words lowercased,
           Japanese/CJK runs cut into overlapping character bigrams, k1=1.2 b=0.75,
           OR of the query's terms (a textbook baseline for Japanese retrieval)
  fts5     SQLite FTS5 with the trigram tokenizer over title, Japanese title,
           summary and authors; the query's terms of 3+ characters (a longer
           Japanese run cut into overlapping trigrams) OR-ed, ranked by bm25() with
           the titles weighted 5x
  tantivy  the tantivy search library with its own analysers: English stemming for
           the English title, comment and authors, character bigrams for the
           Japanese title and summary; the query cut by the same analysers and its
           terms OR-ed over every field, titles boosted 3x (BM25 per field, summed)

Used by bench/bench_search.py (quality and speed) and bench/pool_topical.py
(pooling for relevance judgments). Not part of the bot.
"""

from __future__ import annotations

import math
import re
import sqlite3
import tempfile
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.model import Paper

_CJK_RUN = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u30fc]+")
_LATIN = re.compile(r"[a-z0-9]+")


def _bigram_terms(text: str) -> list[str]:
    text = unicodedata.normalize("NFKC", text).lower()
    terms = _LATIN.findall(text)
    for run in _CJK_RUN.findall(text):
        terms += [run] if len(run) == 1 else [run[i : i + 2] for i in range(len(run) - 1)]
    return terms


def paper_text(paper: Paper) -> str:
    return "\n".join([paper.title, paper.title_ja, *paper.summary, " ".join(paper.authors)])


class BigramBM25:
    """Okapi BM25 over Latin words and CJK character bigrams, every field as one text."""

    name = "bm25"

    def build(self, papers: Sequence[Paper], topics: Sequence[Any] = ()) -> None:
        self.ids = [p.arxiv_id for p in papers]
        self.postings: defaultdict[str, list[tuple[int, int]]] = defaultdict(list)
        lengths = []
        for doc, paper in enumerate(papers):
            counts = Counter(_bigram_terms(paper_text(paper)))
            lengths.append(sum(counts.values()))
            for term, tf in counts.items():
                self.postings[term].append((doc, tf))
        self.lengths = lengths
        self.avg = sum(lengths) / max(len(lengths), 1)

    def ranked(self, query: str, limit: int = 10) -> list[str]:
        k1, b, n = 1.2, 0.75, len(self.ids)
        scores: defaultdict[int, float] = defaultdict(float)
        for term in set(_bigram_terms(query)):
            posting = self.postings.get(term)
            if not posting:
                continue
            idf = math.log(1 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
            for doc, tf in posting:
                norm = k1 * (1 - b + b * self.lengths[doc] / self.avg)
                scores[doc] += idf * tf * (k1 + 1) / (tf + norm)
        best = sorted(scores.items(), key=lambda kv: -kv[1])[:limit]
        return [self.ids[d] for d, _s in best]


class Fts5Trigram:
    """SQLite FTS5, trigram tokenizer, bm25() with titles weighted 5x (in a file when given a folder)."""

    name = "fts5"

    def __init__(self, folder: Path | None = None) -> None:
        self.path = str(folder / "fts5.sqlite3") if folder is not None else ":memory:"

    def open(self) -> None:
        self.db = sqlite3.connect(self.path, check_same_thread=False)

    def build(self, papers: Sequence[Paper], topics: Sequence[Any] = ()) -> None:
        self.db = sqlite3.connect(self.path, check_same_thread=False)
        self.db.execute(
            "CREATE VIRTUAL TABLE docs USING fts5("
            "arxiv_id UNINDEXED, title, title_ja, summary, authors, tokenize='trigram')"
        )
        self.db.executemany(
            "INSERT INTO docs VALUES (?, ?, ?, ?, ?)",
            ((p.arxiv_id, p.title, p.title_ja, "\n".join(p.summary), ", ".join(p.authors)) for p in papers),
        )
        self.db.commit()

    def ranked(self, query: str, limit: int = 10) -> list[str]:
        terms: list[str] = []
        for word in unicodedata.normalize("NFKC", query).split():
            if _CJK_RUN.search(word) and len(word) > 3:
                terms += [word[i : i + 3] for i in range(len(word) - 2)]
            elif len(word) >= 3:
                terms.append(word)
        if not terms:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        rows = self.db.execute(
            "SELECT arxiv_id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 0.0, 5.0, 5.0, 1.0, 2.0) LIMIT ?",
            (match, limit),
        ).fetchall()
        return [r[0] for r in rows]


class TantivyBaseline:
    """tantivy with its stock analysers, query terms OR-ed, titles boosted (in a folder)."""

    name = "tantivy"

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder

    def _schema(self) -> Any:
        import tantivy

        self.tantivy = tantivy
        bigram = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.ngram(2, 2, False)).filter(
            tantivy.Filter.lowercase()
        ).build()
        self.stem = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple()).filter(
            tantivy.Filter.lowercase()
        ).filter(tantivy.Filter.stemmer("english")).build()
        self.bigram = bigram
        schema = tantivy.SchemaBuilder()
        schema.add_text_field("arxiv_id", stored=True, tokenizer_name="raw")
        schema.add_text_field("title", tokenizer_name="en_stem")
        schema.add_text_field("comment", tokenizer_name="en_stem")
        schema.add_text_field("title_ja", tokenizer_name="bigram")
        schema.add_text_field("summary", tokenizer_name="bigram")
        schema.add_text_field("authors", tokenizer_name="en_stem")
        if self.folder is None:
            self._dir = tempfile.TemporaryDirectory(prefix="tantivy-baseline-")
            self.folder = Path(self._dir.name)
        self.index = tantivy.Index(schema.build(), path=str(self.folder))
        self.index.register_tokenizer("bigram", bigram)
        return tantivy

    def open(self) -> None:
        self._schema()
        self.searcher = self.index.searcher()
        self.schema = self.index.schema

    def build(self, papers: Sequence[Paper], topics: Sequence[Any] = ()) -> None:
        tantivy = self._schema()
        writer = self.index.writer(heap_size=200_000_000, num_threads=1)
        for p in papers:
            writer.add_document(tantivy.Document(
                arxiv_id=p.arxiv_id, title=p.title, comment=p.comment,
                title_ja=unicodedata.normalize("NFKC", p.title_ja),
                summary=unicodedata.normalize("NFKC", "\n".join(p.summary)),
                authors=" ".join(p.authors),
            ))
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()
        self.schema = self.index.schema

    def ranked(self, query: str, limit: int = 10) -> list[str]:
        tv = self.tantivy
        text = unicodedata.normalize("NFKC", query)
        latin = set(self.stem.analyze(text))
        grams = set(self.bigram.analyze("".join(_CJK_RUN.findall(text))))
        clauses = []
        for field, terms, boost in (
            ("title", latin, 3.0), ("comment", latin, 1.0), ("authors", latin, 1.0),
            ("title_ja", grams, 3.0), ("summary", grams, 1.0),
        ):
            for term in terms:
                q = tv.Query.term_query(self.schema, field, term)
                clauses.append((tv.Occur.Should, tv.Query.boost_query(q, boost) if boost != 1.0 else q))
        if not clauses:
            return []
        hits = self.searcher.search(tv.Query.boolean_query(clauses), limit, count=False).hits
        return [self.searcher.doc(addr)["arxiv_id"][0] for _score, addr in hits]


BASELINES = {"bm25": BigramBM25, "fts5": Fts5Trigram, "tantivy": TantivyBaseline}
