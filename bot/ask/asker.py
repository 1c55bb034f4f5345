"""Ask the archive: retrieval for a question, the built-in answer, and the model's when one is set.

`Asker.ask` is the one entry point: `digest-bot ask`, `/papers ask`, a mention, a
direct message, a question in a paper's thread and the assistant panel all call it,
so they all answer alike. Retrieval is the search engine's, asked for the question
without its frame (`bot.ask.question.search_text`) and `question`: a question whose
words no paper holds all of still gets its closest papers. The sources carry the
papers' discussion threads (or arXiv, where a paper was never posted).

With a model writer (`bot.ask.llm.ModelWriter`, DIGEST_LLM_URL), the model writes
the prose from the same numbered sources; when it fails, refuses, hangs or cites
nothing it was given, the built-in answer stands, with a note saying so.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine

from bot.ask.compose import Candidate, Concepts, compose, compose_about, coverage, nothing
from bot.ask.llm import ModelSettings
from bot.ask.model import Answer, Lang, Source
from bot.ask.question import clean, language, search_text
from bot.config import Settings
from bot.engagement import discussion
from bot.i18n import t
from bot.model import Paper, ThreadInfo
from bot.search import Hit, SearchEngine, parse_query
from bot.search.dense import DEPTH as DENSE_DEPTH
from bot.search.dense import FILE as DENSE_FILE
from bot.search.dense import Dense, fuse, load_model
from bot.search.results import SearchResponse

log = logging.getLogger(__name__)

#: Papers retrieved for a question before the sources are chosen.
DEPTH = 12
#: Related papers looked at for a question in a paper's thread.
RELATED = 4


class Writer(Protocol):
    """A language model writing the answer's prose from numbered sources (None: it failed)."""

    @property
    def by(self) -> str: ...

    def write(self, question: str, lang: Lang, sources: Sequence[Source]) -> Answer | None: ...


def source_of(paper: Paper, thread: ThreadInfo | None) -> Source:
    """A paper as a source: its thread when it was posted (and the link is one), else arXiv."""
    permalink = thread.permalink if thread is not None and thread.permalink else None
    return Source(
        n=0,
        arxiv_id=paper.arxiv_id,
        title=paper.title,
        title_ja=paper.title_ja,
        summary=paper.summary,
        comment=paper.comment,
        remark=paper.remark,
        link=permalink or paper.abs_url,
        thread=permalink,
        replies=thread.reply_count if thread is not None else 0,
    )


class Asker:
    """Answers questions from the archive; never raises for what a person asks."""

    def __init__(
        self,
        search: Callable[[], SearchEngine],
        engine: Engine,
        *,
        writer: Writer | None = None,
        depth: int = DEPTH,
        dense: Dense | None = None,
    ) -> None:
        self.search = search
        self.engine = engine
        self.writer = writer
        self.depth = depth
        self.dense = dense

    def ask(self, question: str, *, about: str | None = None, lang: Lang | None = None) -> Answer:
        """The answer to `question` (about the paper `about` first, when asked in its thread)."""
        text = clean(question)
        lang = lang or language(text)
        if not text:
            return nothing(text, lang)
        index = self.search()
        query = search_text(text)
        paper = index.paper(about) if about else None
        if paper is not None:
            built = self._about(text, lang, paper, index, index.reader(query, question=True))
        else:
            response, concepts = self.retrieve(text, query=query, limit=self.depth)
            papers, scores = [h.paper for h in response.hits], [h.score for h in response.hits]
            candidates = self._candidates(papers, scores, concepts)
            built = compose(text, lang, candidates, concepts, matching=_matching(response))
        return self._written(built)

    def retrieve(
        self, text: str, *, query: str | None = None, limit: int = DEPTH, offset: int = 0
    ) -> tuple[SearchResponse, Concepts]:
        """A question's papers, for answers and for `/papers <a sentence>` alike: the engine's
        in question mode for `query` (default `text`) and, with the dense side on, fused with
        its papers nearest `text` in meaning (`fuse_pages`). A query with a filter (a topic,
        an author, a week) stays the engine's alone: the dense side knows no filters."""
        index = self.search()
        parsed = parse_query(query if query is not None else text)
        near = [] if parsed.has_filters or parsed.arxiv_ids else self._nearest(text)
        if not near:
            return index.for_question(parsed, limit=limit, offset=offset)
        response, concepts = index.for_question(parsed, limit=DENSE_DEPTH)
        return fuse_pages(index, response, near, limit=limit, offset=offset), concepts

    def _nearest(self, text: str) -> list[str]:
        """The dense side's closest papers (none without it, before its vectors are made, or
        when the model fails: the engine's answer alone stands)."""
        if self.dense is None:
            return []
        try:
            return self.dense.nearest(text, DENSE_DEPTH)
        except Exception:  # the model is optional: an answer must not fail with it
            log.exception("the dense retrieval failed; answering from the engine alone")
            return []

    def _about(
        self, text: str, lang: Lang, paper: Paper, index: SearchEngine, concepts: Concepts
    ) -> Answer:
        related = index.related(paper.arxiv_id, limit=RELATED)
        papers = [paper, *[h.paper for h in related.hits if h.paper.arxiv_id != paper.arxiv_id]]
        candidates = self._candidates(papers, [100.0] * len(papers), concepts)
        return compose_about(text, lang, candidates[0], candidates[1:], concepts)

    def _candidates(
        self, papers: Sequence[Paper], scores: Sequence[float], concepts: Concepts
    ) -> list[Candidate]:
        threads = discussion.threads_for(self.engine, [p.arxiv_id for p in papers]) if papers else {}
        return [
            Candidate(
                source_of(p, threads.get(p.arxiv_id)),
                float(s),
                coverage([p.title, p.title_ja, *p.summary], concepts),
            )
            for p, s in zip(papers, scores, strict=True)
        ]

    def _written(self, built: Answer) -> Answer:
        """The model's answer from the built-in answer's sources, or the built-in one."""
        if self.writer is None or built.empty:
            return built
        try:
            written = self.writer.write(built.question, built.lang, built.sources)
        except Exception:  # a writer must not fail the answer: the built-in one stands
            log.exception("the language model writer failed")
            written = None
        if written is not None:
            return written
        return replace(built, notes=(*built.notes, t(built.lang, "answer_model_failed")))


def fuse_pages(
    index: SearchEngine, response: SearchResponse, near: Sequence[str], *, limit: int, offset: int = 0
) -> SearchResponse:
    """The engine's hits and the dense side's papers fused by reciprocal rank, as a search
    response: every fused paper counts in `total` (at most the two depths together), the
    page is `offset`..`offset + limit`, and the best paper scores 100 on every page (a
    paper the index no longer holds is left out)."""
    by_id = {h.paper.arxiv_id: h.paper for h in response.hits}
    fused: list[tuple[Paper, float]] = []
    for arxiv_id, weight in fuse([h.paper.arxiv_id for h in response.hits], near):
        paper = by_id.get(arxiv_id) or index.paper(arxiv_id)
        if paper is not None:
            fused.append((paper, weight))
    best = max((w for _p, w in fused), default=0.0) or 1.0
    offset = max(0, min(int(offset), len(fused)))
    page = fused[offset : offset + max(0, int(limit))]
    return replace(
        response, hits=tuple(Hit(p, 100.0 * w / best) for p, w in page), total=len(fused), offset=offset
    )


def _matching(response: SearchResponse) -> int:
    """How many papers hold nearly every concept (none when the hits are only the closest)."""
    return 0 if response.closest else response.total


class DenseUnavailable(RuntimeError):
    """DIGEST_DENSE is on but the model cannot be loaded (the `dense` extra is not installed)."""


def dense_file(settings: Settings) -> Path:
    """Where the dense vectors are kept: one file in the search index folder."""
    return settings.search_index_dir / DENSE_FILE


def dense_side(settings: Settings) -> Dense | None:
    """The dense side of question retrieval when DIGEST_DENSE is on: its model and its
    vectors' file in the search index folder (raises `DenseUnavailable` saying the fix)."""
    if not settings.dense:
        return None
    try:
        model = load_model()
    except ImportError as exc:
        raise DenseUnavailable(
            "DIGEST_DENSE is on but its model is not installed: run "
            "`.venv/bin/pip install -e '.[dense]'`, or set DIGEST_DENSE=false"
        ) from exc
    return Dense(dense_file(settings), model)


def model_settings(settings: Settings) -> ModelSettings | None:
    """The language model's settings (DIGEST_LLM_*), or None when none is configured."""
    if not settings.llm_url or not settings.llm_model:
        return None
    return ModelSettings(settings.llm_url, settings.llm_model, settings.llm_api_key, settings.llm_timeout)
