#!/usr/bin/env python3
"""Benchmark the search engine against two baselines, quality and speed, in one run.

    python bench/bench_search.py [--archive ../shared/archive] [--big DIR | --papers 100000]

Systems:
  engine   bot.search.SearchEngine (inverted index + rapidfuzz rerank)
  naive    rapidfuzz.process.extract(query, titles, scorer=WRatio, processor=default_process)
           over every paper's "title + Japanese title"
  fts5     SQLite FTS5, trigram tokenizer, over title, Japanese title, summary, authors;
           the query's whitespace-separated terms (3+ characters) OR-ed, ranked by bm25
           with titles weighted 5x

Quality (hit@1, hit@5, MRR) is measured on the real archive with the labelled
query set (tests/search_queries.yaml). The baselines get the query string as
typed: they know no filters, ids or URLs, so such queries mostly count as
misses for them (nothing is applied post-hoc); they cannot offer "did you
mean", so the nomatch category scores 0 for them. The table also gives the
figures without that category.

Speed (p50/p95 latency of the same queries, index build time, peak RSS) is
measured on a big synthetic archive (made by ../shared/tools/make_archive.py in
a temporary folder unless --big is given), each system in its own child process
pinned to one core, so RSS figures are not mixed. Loading the papers from the
store is timed apart from the build.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT))

from bot.model import Paper
from bot.search.evaluate import Answer, LabelledQuery, Metrics, evaluate, load_queries

SYSTEMS = ("engine", "naive", "fts5")
DEFAULT_QUERIES = PROJECT / "tests" / "search_queries.yaml"
MAKE_ARCHIVE = PROJECT.parent / "shared" / "tools" / "make_archive.py"
DEFAULT_ARCHIVE = PROJECT.parent / "shared" / "archive"


# Systems ------------------------------------------------------------------------


class System:
    """A search system: built once from papers, then asked queries."""

    name = ""

    def build(self, papers: Sequence[Paper], topics: Sequence[Any]) -> None:
        raise NotImplementedError

    def search(self, query: str, limit: int = 10) -> Answer:
        raise NotImplementedError


class EngineSystem(System):
    name = "engine"

    def build(self, papers: Sequence[Paper], topics: Sequence[Any]) -> None:
        from bot.search import SearchEngine

        self.engine = SearchEngine.build(papers, topics)

    def search(self, query: str, limit: int = 10) -> Answer:
        response = self.engine.search(query, limit=limit)
        return Answer(tuple(h.paper.arxiv_id for h in response.hits), bool(response.suggestions))


class NaiveSystem(System):
    name = "naive"

    def build(self, papers: Sequence[Paper], topics: Sequence[Any]) -> None:
        self.ids = [p.arxiv_id for p in papers]
        self.texts = [f"{p.title} {p.title_ja}" for p in papers]

    def search(self, query: str, limit: int = 10) -> Answer:
        from rapidfuzz import fuzz, process, utils

        found = process.extract(query, self.texts, scorer=fuzz.WRatio, processor=utils.default_process, limit=limit)
        return Answer(tuple(self.ids[i] for _text, _score, i in found))


class Fts5System(System):
    name = "fts5"

    def build(self, papers: Sequence[Paper], topics: Sequence[Any]) -> None:
        self.db = sqlite3.connect(":memory:")
        self.db.execute(
            "CREATE VIRTUAL TABLE docs USING fts5("
            "arxiv_id UNINDEXED, title, title_ja, summary, authors, tokenize='trigram')"
        )
        self.db.executemany(
            "INSERT INTO docs VALUES (?, ?, ?, ?, ?)",
            ((p.arxiv_id, p.title, p.title_ja, "\n".join(p.summary), ", ".join(p.authors)) for p in papers),
        )
        self.db.commit()

    def search(self, query: str, limit: int = 10) -> Answer:
        terms = [t for t in query.split() if len(t) >= 3]
        if not terms:
            return Answer(())
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)
        rows = self.db.execute(
            "SELECT arxiv_id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs, 0.0, 5.0, 5.0, 1.0, 2.0) LIMIT ?",
            (match, limit),
        ).fetchall()
        return Answer(tuple(r[0] for r in rows))


def make_system(name: str) -> System:
    return {"engine": EngineSystem, "naive": NaiveSystem, "fts5": Fts5System}[name]()


# Helpers --------------------------------------------------------------------------


def pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"cpu {cpu}"
    return "not pinned"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def load_store(db_path: Path) -> tuple[list[Paper], list[Any]]:
    from bot.store import Catalog, open_engine

    catalog = Catalog(open_engine(f"sqlite:///{db_path}"))
    return list(catalog.iter_papers()), [s.topic for s in catalog.topics()]


def index_store(archive: Path, db_path: Path) -> float:
    from bot.store import open_engine, sync_archive

    started = time.perf_counter()
    eng = open_engine(f"sqlite:///{db_path}")
    sync_archive(eng, archive)
    eng.dispose()
    return time.perf_counter() - started


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


# Child: one system's speed on the big store -------------------------------------------


def child(system_name: str, db_path: Path, queries_path: Path, repeat: int) -> dict[str, Any]:
    pinned = pin_one_core()
    base = current_rss_mb()
    started = time.perf_counter()
    papers, topics = load_store(db_path)
    load_seconds = time.perf_counter() - started
    loaded = current_rss_mb()
    system = make_system(system_name)
    started = time.perf_counter()
    system.build(papers, topics)
    build_seconds = time.perf_counter() - started
    after_build = current_rss_mb()
    peak_build = peak_rss_mb()
    queries = [q.query for q in load_queries(queries_path)]
    system.search("warm up the interpreter")
    latencies: list[float] = []
    for _ in range(repeat):
        for query in queries:
            t = time.perf_counter()
            system.search(query)
            latencies.append((time.perf_counter() - t) * 1000)
    return {
        "system": system_name,
        "papers": len(papers),
        "pinned": pinned,
        "load_s": load_seconds,
        "build_s": build_seconds,
        "rss_base_mb": base,
        "rss_loaded_mb": loaded,
        "rss_after_build_mb": after_build,
        "rss_peak_mb": peak_rss_mb(),
        "rss_peak_build_mb": peak_build,
        "p50_ms": statistics.median(latencies),
        "p95_ms": percentile(latencies, 0.95),
        "max_ms": max(latencies),
    }


def run_child(system: str, db_path: Path, queries: Path, repeat: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", system, "--store", str(db_path), "--queries", str(queries),
         "--repeat", str(repeat)],
        check=True, capture_output=True, text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


# Quality on the real archive ------------------------------------------------------


def quality(archive: Path, queries: list[LabelledQuery], work: Path) -> dict[str, tuple[Metrics, Metrics]]:
    db_path = work / "real.sqlite3"
    index_store(archive, db_path)
    papers, topics = load_store(db_path)
    results: dict[str, tuple[Metrics, Metrics]] = {}
    matchable = [q for q in queries if not q.nomatch]
    for name in SYSTEMS:
        system = make_system(name)
        system.build(papers, topics)
        run: Callable[[str], Answer] = system.search
        overall, _per = evaluate(queries, run)
        without, _ = evaluate(matchable, run)
        results[name] = (overall, without)
    return results


# Main -------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archive", type=Path, default=DEFAULT_ARCHIVE, help="the real archive (quality)")
    ap.add_argument("--big", type=Path, help="a big archive folder (speed); made in a temp folder if absent")
    ap.add_argument("--papers", type=int, default=100_000, help="papers in the generated big archive")
    ap.add_argument("--queries", type=Path, default=DEFAULT_QUERIES)
    ap.add_argument("--repeat", type=int, default=1, help="passes over the query set when timing")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset of " + ",".join(SYSTEMS))
    ap.add_argument("--json", type=Path, help="also write the figures here as JSON")
    ap.add_argument("--child", choices=SYSTEMS, help=argparse.SUPPRESS)
    ap.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        print(json.dumps(child(args.child, args.store, args.queries, args.repeat)))
        return 0

    systems = [s for s in args.systems.split(",") if s in SYSTEMS]
    queries = load_queries(args.queries)
    work = Path(tempfile.mkdtemp(prefix="bench-search-"))
    try:
        print(f"quality: {len(queries)} queries over {args.archive}", file=sys.stderr)
        scores = quality(args.archive, queries, work)
        big = args.big
        if big is None:
            big = work / "archive-big"
            print(f"making a {args.papers}-paper archive in {big}", file=sys.stderr)
            subprocess.run(
                [sys.executable, str(MAKE_ARCHIVE), "--papers", str(args.papers), "--out", str(big)],
                check=True, stdout=subprocess.DEVNULL,
            )
        store = work / "big.sqlite3"
        print(f"indexing {big} into a temp store", file=sys.stderr)
        sync_seconds = index_store(big, store)
        speed = {}
        for name in systems:
            print(f"timing {name} (child process, one core)", file=sys.stderr)
            speed[name] = run_child(name, store, args.queries, args.repeat)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print_table(systems, scores, speed, sync_seconds)
    if args.json:
        args.json.write_text(json.dumps({
            "quality": {n: {"all": scores[n][0].row(), "without_nomatch": scores[n][1].row()} for n in systems},
            "speed": speed,
            "store_sync_s": sync_seconds,
        }, indent=2))
    return 0


def print_table(
    systems: Sequence[str], scores: dict[str, tuple[Metrics, Metrics]], speed: dict[str, dict[str, Any]], sync_s: float
) -> None:
    papers = next(iter(speed.values()))["papers"] if speed else 0
    print(f"\nQuality: real archive, {scores[systems[0]][0].n} queries "
          f"(in brackets: without the {scores[systems[0]][0].n - scores[systems[0]][1].n} nomatch queries)")
    print(f"Speed: {papers:,} papers, one core; store sync (not part of any build) {sync_s:.1f} s\n")
    print("| system | hit@1 | hit@5 | MRR | p50 ms | p95 ms | load s | build s | RSS before build MB | peak RSS MB |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in systems:
        overall, without = scores[name]
        s = speed[name]
        print(
            f"| {name} | {overall.hit_at_1:.3f} ({without.hit_at_1:.3f}) | {overall.hit_at_5:.3f} ({without.hit_at_5:.3f}) "
            f"| {overall.mrr:.3f} ({without.mrr:.3f}) | {s['p50_ms']:.2f} | {s['p95_ms']:.2f} | {s['load_s']:.1f} "
            f"| {s['build_s']:.1f} | {s['rss_loaded_mb']:.0f} (base {s['rss_base_mb']:.0f}) | {s['rss_peak_mb']:.0f} |"
        )


if __name__ == "__main__":
    sys.exit(main())
