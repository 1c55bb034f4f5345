#!/usr/bin/env python3
"""Answers to questions: their sources' quality beside the search's and the baselines', and their time.

    python bench/bench_answers.py [--archive ../shared/archive] [--big /tmp/archive-100k] [--json out.json]

Quality, on the real archive and tests/ask_questions.yaml (65 natural-language questions,
20 held out, judged 0/1/2; the method is at the top of that file):
  search   nDCG@10 / P@5 / success@3 of the ranked list, for: the engine on the question as
           typed, the engine as the answers use it (the question's frame taken off, `question`),
           and the baselines (character-bigram BM25, SQLite FTS5, tantivy), all, dev, held out;
  answers  the built-in answer's sources: precision (graded >= 1 / cited), the share of the
           questions having a paper graded 2 whose sources hold one, citations (every [n] a
           source, every source cited), empty answers, sources not judged yet (re-pool them).
Speed: the built-in answer's time (bot time: retrieval, threads, composing; no model), p50
and p95 over the questions, on the real archive and on each --big archive
(tools/make_archive.py), after a warm-up pass.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(HERE))

from baselines import BASELINES
from sqlalchemy import Engine

from bot.ask.asker import Asker
from bot.ask.question import clean, search_text
from bot.search import SearchEngine
from bot.search.dense import Dense, load_model
from bot.search.evaluate import JudgedQuery, evaluate_cited, evaluate_graded, load_judged
from bot.store import Catalog, open_engine, sync_archive

QUESTIONS = PROJECT / "tests" / "ask_questions.yaml"
_CITE_RE = re.compile(r"\[(\d+)\]")


def open_archive(archive: Path, work: Path) -> tuple[Catalog, SearchEngine, Engine]:
    engine = open_engine(f"sqlite:///{work / 'store.sqlite3'}")
    sync_archive(engine, archive)
    catalog = Catalog(engine)
    topics = [s.topic for s in catalog.topics()]
    index = SearchEngine.build(list(catalog.iter_papers()), topics, path=work / "index")
    return catalog, index, engine


def answer_quality(questions: list[JudgedQuery], asker: Asker) -> dict[str, object]:
    """Source precision and rel-2 coverage (`evaluate_cited`), overall and per split and language;
    the citation check (every [n] a source, every source cited) and the sources not judged yet."""
    answers = {q.query: asker.ask(q.query) for q in questions}
    by = {k: c.row() for k, c in evaluate_cited(questions, lambda text: [s.arxiv_id for s in answers[text].sources]).items()}
    bad = [q.id for q in questions
           if {int(n) for n in _CITE_RE.findall(answers[q.query].text)} != {s.n for s in answers[q.query].sources}]
    unjudged = {q.id: missing for q in questions
                if (missing := [s.arxiv_id for s in answers[q.query].sources if s.arxiv_id not in q.judged])}
    return {"by": by, "bad_citations": bad, "unjudged": unjudged}


def timing(asker: Asker, questions: list[str], *, warm: Asker | None = None) -> dict[str, float]:
    """Bot time per answer, after a warm-up pass (the index's pages, caches) by `warm` (default
    `asker`: give another asker where `asker` would remember the questions themselves)."""
    for q in questions:
        (warm or asker).ask(q)
    times = []
    for q in questions:
        started = time.perf_counter()
        asker.ask(q)
        times.append(1000 * (time.perf_counter() - started))
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
            "n": len(times)}


def _same(index: SearchEngine) -> SearchEngine:
    """`index` (partial(_same, index) is the Asker's search, bound to this loop's index)."""
    return index


def _retrieved(asker: Asker, question: str) -> list[str]:
    """The 10 papers an answer draws on, as `Asker.ask` retrieves them (fused with the dense
    side when the asker has one): what ships is what is measured."""
    text = clean(question)
    response, _concepts = asker.retrieve(text, query=search_text(text), limit=10)
    return [h.paper.arxiv_id for h in response.hits]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archive", type=Path, default=PROJECT.parent / "shared" / "archive")
    ap.add_argument("--big", type=Path, action="append", default=[])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--no-baselines", action="store_true")
    ap.add_argument("--dense", type=Path, metavar="FILE",
                    help="also measure the dense side (DIGEST_DENSE; needs the dense extra): its vectors file, "
                         "made here when missing (about 0.3 s a paper)")
    ap.add_argument("--questions", type=Path, default=QUESTIONS,
                    help="the judged question set (default tests/ask_questions.yaml; "
                         "tests/ask_questions_fresh.yaml is the fresh set, never tuned on)")
    args = ap.parse_args()
    questions = load_judged(args.questions)
    report: dict[str, object] = {}
    with tempfile.TemporaryDirectory(prefix="bench-answers-") as tmp:
        catalog, index, engine = open_archive(args.archive, Path(tmp))
        papers = list(catalog.iter_papers())
        topics = [s.topic for s in catalog.topics()]
        runs: dict[str, Callable[[str], Sequence[str]]] = {
            "engine (as typed)": lambda q: [h.paper.arxiv_id for h in index.search(q, limit=10).hits],
            "engine (for answers)": functools.partial(_retrieved, Asker(lambda: index, engine)),
        }
        dense = None
        if args.dense is not None:
            dense = Dense(args.dense, load_model())
            made = dense.refresh(catalog.iter_papers(), limit=len(papers))
            report["dense_vectors"] = len(made)
            runs["dense alone"] = lambda q: dense.nearest(clean(q), 10)
            runs["engine + dense (fused)"] = functools.partial(_retrieved, Asker(lambda: index, engine, dense=dense))
        if not args.no_baselines:
            for name, make in BASELINES.items():
                system = make()
                system.build(papers, topics)
                runs[name] = functools.partial(system.ranked, limit=10)
        search: dict[str, object] = {}
        for name, run in runs.items():
            graded = evaluate_graded(questions, run)
            search[name] = {k: v.row() for k, v in graded.items()}
        report["search"] = search
        asker = Asker(lambda: index, engine)
        report["answers"] = answer_quality(questions, asker)
        report["time_real"] = timing(asker, [q.query for q in questions])
        if dense is not None:
            asker = Asker(lambda: index, engine, dense=dense)
            report["answers (dense)"] = answer_quality(questions, asker)
            cold = Dense(args.dense, dense.embedder)  # no question embedded yet: each timed one is
            cold.vectors()
            report["time_real (dense)"] = timing(
                Asker(lambda: index, engine, dense=cold), [q.query for q in questions], warm=asker
            )
    for big in args.big:
        with tempfile.TemporaryDirectory(prefix="bench-answers-big-") as tmp:
            _catalog, index, engine = open_archive(big, Path(tmp))
            asker = Asker(functools.partial(_same, index), engine)
            report[f"time_{big.name}"] = timing(asker, [q.query for q in questions])
    text = json.dumps(report, indent=1, ensure_ascii=False)
    print(text)
    if args.json:
        args.json.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
