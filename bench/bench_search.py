#!/usr/bin/env python3
"""Benchmark the search engine against baselines, quality and speed, in one run.

    python bench/bench_search.py                                  # quality + a 100,000-paper archive
    python bench/bench_search.py --big /tmp/archive-100k --big /tmp/archive-1m --json out.json
    python bench/bench_search.py --sizes 100000,1000000           # archives made in a temp folder
    python bench/bench_search.py --quality-only

Systems (bench/baselines.py describes the baselines):
  engine            bot.search: concepts (glossary, learned translations, corrections),
                    BM25 over weighted fields in tantivy, OR with coordination, on disk
  engine-noglossary the same without the glossary (what learning from the archive alone gives)
  engine-notrans    the same without the learned translations
  engine-nosemantic the same without the semantic rerank (cross-language LSI learned from the archive)
  bm25              character-bigram BM25 (pure Python, in memory)
  fts5              SQLite FTS5 trigram, bm25() ranking (a file, reopened on restart)
  tantivy           tantivy with its own analysers, terms OR-ed (a folder, reopened on restart)

Quality on the real archive: the known-item set (tests/search_queries.yaml: hit@1,
hit@5, MRR; the baselines cannot suggest, so its `nomatch` queries score 0 for them)
and the topical set (tests/topical_queries.yaml: nDCG@10, P@5, success@3, over all
questions and per split and language; how it was judged is at the top of that file).

Speed on each big archive, every system in child processes pinned to one core: a
build (time, peak RSS), then a restart: a fresh process that opens what the build
left (the engine's index folder, fts5's file, tantivy's folder; bm25 must rebuild)
and answers a first query (seconds since the process started, imports included),
then every query of both sets (p50 / p95 / max latency) and its peak RSS. RSS is
given twice: the kernel's peak (VmHWM, which counts the pages of mapped index
files too) and, in brackets, the peak of the process's own (anonymous) memory.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

STARTED = time.perf_counter()
HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT))
sys.path.insert(0, str(HERE))

KNOWN = PROJECT / "tests" / "search_queries.yaml"
TOPICAL = PROJECT / "tests" / "topical_queries.yaml"
MAKE_ARCHIVE = PROJECT.parent / "shared" / "tools" / "make_archive.py"
DEFAULT_ARCHIVE = PROJECT.parent / "shared" / "archive"
SYSTEMS = ("engine", "engine-noglossary", "engine-notrans", "engine-nosemantic", "bm25", "fts5", "tantivy")
SPEED_SYSTEMS = ("engine", "bm25", "fts5", "tantivy")


# Systems ------------------------------------------------------------------------


class Runner:
    """One system over one store: build into a folder, or open what a build left there."""

    def __init__(self, name: str, store: Path, work: Path) -> None:
        self.name, self.store, self.work = name, store, work

    def catalog(self) -> Any:
        from bot.store import Catalog, open_engine

        return Catalog(open_engine(f"sqlite:///{self.store}"))

    def build(self) -> None:
        if self.name.startswith("engine"):
            self._live().engine()
        else:
            self._baseline(rebuild=True)

    def open(self) -> Callable[[str], tuple[list[str], bool]]:
        if self.name.startswith("engine"):
            engine = self._live().engine()

            def run(text: str) -> tuple[list[str], bool]:
                response = engine.search(text, limit=10)
                return [h.paper.arxiv_id for h in response.hits], bool(response.suggestions)

            return run
        system = self._baseline(rebuild=self.name == "bm25")
        return lambda text: (system.ranked(text, 10), False)

    def _live(self) -> Any:
        from bot.search import LiveSearch
        from bot.search.engine import Options

        options = Options(glossary=self.name != "engine-noglossary", translations=self.name != "engine-notrans",
                          semantic=self.name != "engine-nosemantic")
        return LiveSearch(self.catalog(), index_dir=self.work / self.name, options=options)

    def _baseline(self, *, rebuild: bool) -> Any:
        import baselines

        if self.name == "bm25":
            system = baselines.BigramBM25()
            catalog = self.catalog()
            system.build(list(catalog.iter_papers()))
            return system
        folder = self.work / self.name
        if rebuild:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            system = baselines.BASELINES[self.name](folder)
            system.build(list(self.catalog().iter_papers()))
            return system
        system = baselines.BASELINES[self.name](folder)
        system.open()
        return system


# Helpers --------------------------------------------------------------------------


def pin_one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        cpu = max(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"cpu {cpu}"
    return "not pinned"


def peak_rss_mb() -> float:
    """This process's peak RSS since it started (VmHWM). Not ru_maxrss: Linux carries that
    across fork and exec, so every child reported at least the parent's own peak (the
    quality run's, about 400 MB), whatever it used itself."""
    peak = status_mb("VmHWM")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 if math.isnan(peak) else peak  # no /proc


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else float("nan")


def all_queries() -> list[str]:
    from bot.search.evaluate import load_judged, load_queries

    return [q.query for q in load_queries(KNOWN)] + [q.query for q in load_judged(TOPICAL)]


def index_store(archive: Path, db_path: Path) -> float:
    from bot.store import open_engine, sync_archive

    started = time.perf_counter()
    eng = open_engine(f"sqlite:///{db_path}")
    sync_archive(eng, archive)
    eng.dispose()
    return time.perf_counter() - started


# Children -------------------------------------------------------------------------


class AnonPeak:
    """The largest anonymous RSS seen (sampled): memory of the process itself, without the
    pages of index files it has mapped, which ru_maxrss also counts."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, anon_rss_mb())

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return max(self.peak, anon_rss_mb())


def anon_rss_mb() -> float:
    return status_mb("RssAnon")


def status_mb(key: str) -> float:
    """A memory figure of /proc/self/status in MB (nan where there is no /proc)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def child_build(name: str, store: Path, work: Path) -> dict[str, Any]:
    pinned = pin_one_core()
    anon = AnonPeak()
    started = time.perf_counter()
    Runner(name, store, work).build()
    return {"pinned": pinned, "build_s": time.perf_counter() - started, "build_peak_rss_mb": peak_rss_mb(),
            "build_peak_anon_mb": anon.stop()}


def child_serve(name: str, store: Path, work: Path, repeat: int) -> dict[str, Any]:
    pin_one_core()
    anon = AnonPeak()
    run = Runner(name, store, work).open()
    run("federated learning backdoor attacks")
    first = time.perf_counter() - STARTED
    queries = all_queries()
    latencies: list[float] = []
    for _ in range(repeat):
        for query in queries:
            t = time.perf_counter()
            run(query)
            latencies.append((time.perf_counter() - t) * 1000)
    return {
        "first_answer_s": first,
        "p50_ms": statistics.median(latencies),
        "p95_ms": percentile(latencies, 0.95),
        "max_ms": max(latencies),
        "queries": len(latencies),
        "serve_peak_rss_mb": peak_rss_mb(),
        "serve_peak_anon_mb": anon.stop(),
    }


def run_child(*args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


# Quality on the real archive ------------------------------------------------------


def quality(archive: Path, systems: Sequence[str], work: Path) -> dict[str, dict[str, Any]]:
    from bot.search.evaluate import Answer, evaluate, evaluate_graded, load_judged, load_queries

    store = work / "real.sqlite3"
    index_store(archive, store)
    known, topical = load_queries(KNOWN), load_judged(TOPICAL)
    matchable = [q for q in known if not q.nomatch]
    results: dict[str, dict[str, Any]] = {}
    for name in systems:
        runner = Runner(name, store, work / "real")
        runner.build()
        run = runner.open()

        def answer(text: str, run: Callable[[str], tuple[list[str], bool]] = run) -> Answer:
            ids, suggested = run(text)
            return Answer(tuple(ids), suggested)

        overall, _per = evaluate(known, answer)
        without, _ = evaluate(matchable, answer)
        def ranked(text: str, run: Callable[[str], tuple[list[str], bool]] = run) -> list[str]:
            return run(text)[0]

        graded = evaluate_graded(topical, ranked)
        results[name] = {
            "known": overall.row(),
            "known_without_nomatch": without.row(),
            "topical": {key: g.row() for key, g in graded.items()},
        }
    return results


# Main -------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archive", type=Path, default=DEFAULT_ARCHIVE, help="the real archive (quality)")
    ap.add_argument("--big", type=Path, action="append", default=[], help="a big archive folder (speed); repeatable")
    ap.add_argument("--sizes", default="100000", help="papers of archives to make when no --big is given")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated subset of " + ",".join(SYSTEMS))
    ap.add_argument("--speed-systems", default=",".join(SPEED_SYSTEMS))
    ap.add_argument("--skip-at", default="bm25:500000", help="SYSTEM:PAPERS: do not time SYSTEM from that size on")
    ap.add_argument("--repeat", type=int, default=3, help="passes over the queries when timing")
    ap.add_argument("--quality-only", action="store_true")
    ap.add_argument("--work", type=Path, help="keep stores and indexes here (default: a temp folder, removed)")
    ap.add_argument("--json", type=Path, help="also write the figures here as JSON")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.child:
        mode, name, store, work, *rest = args.child
        if mode == "build":
            print(json.dumps(child_build(name, Path(store), Path(work))))
        else:
            print(json.dumps(child_serve(name, Path(store), Path(work), int(rest[0]))))
        return 0

    systems = [s for s in args.systems.split(",") if s in SYSTEMS]
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-search-"))
    work.mkdir(parents=True, exist_ok=True)
    report: dict[str, Any] = {"quality": {}, "speed": {}}
    try:
        print(f"quality over {args.archive}", file=sys.stderr)
        report["quality"] = quality(args.archive, systems, work)
        print_quality(report["quality"])
        if not args.quality_only:
            bigs = list(args.big)
            if not bigs:
                for size in (int(s) for s in args.sizes.split(",")):
                    folder = work / f"archive-{size}"
                    if not folder.exists():
                        print(f"making a {size:,}-paper archive in {folder}", file=sys.stderr)
                        subprocess.run([sys.executable, str(MAKE_ARCHIVE), "--papers", str(size), "--out", str(folder)],
                                       check=True, stdout=subprocess.DEVNULL)
                    bigs.append(folder)
            skip_name, _, skip_from = args.skip_at.partition(":")
            for big in bigs:
                store = work / f"{big.name}.sqlite3"
                if not store.exists():
                    print(f"indexing {big} into {store}", file=sys.stderr)
                    index_store(big, store)
                papers = _count(store)
                speed: dict[str, Any] = {}
                for name in [s for s in args.speed_systems.split(",") if s]:
                    if name == skip_name and skip_from and papers >= int(skip_from):
                        speed[name] = {"skipped": f"not timed from {int(skip_from):,} papers on (--skip-at)"}
                        continue
                    folder = work / f"speed-{big.name}"
                    print(f"{papers:,} papers: building {name}", file=sys.stderr)
                    built = run_child("build", name, str(store), str(folder))
                    print(f"{papers:,} papers: restarting {name}", file=sys.stderr)
                    served = run_child("serve", name, str(store), str(folder), str(args.repeat))
                    speed[name] = {**built, **served}
                report["speed"][str(papers)] = speed
                print_speed(papers, speed)
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


def _count(store: Path) -> int:
    import sqlite3

    with sqlite3.connect(store) as db:
        return int(db.execute("SELECT count(*) FROM papers").fetchone()[0])


def print_quality(results: dict[str, dict[str, Any]]) -> None:
    print("\nQuality on the real archive (known-item: hit@1 / hit@5 / MRR, in brackets without the nomatch "
          "queries; topical: nDCG@10 / P@5 / success@3)\n")
    print("| system | hit@1 | hit@5 | MRR | nDCG@10 | P@5 | success@3 | nDCG@10 en | ja | mixed | typo | dev | heldout | empty |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, r in results.items():
        k, w, t = r["known"], r["known_without_nomatch"], r["topical"]
        a = t["all"]
        cells = [f"{t.get(key, {}).get('ndcg@10', float('nan')):.3f}" for key in ("en", "ja", "mixed", "typo", "dev", "heldout")]
        print(f"| {name} | {k['hit@1']:.3f} ({w['hit@1']:.3f}) | {k['hit@5']:.3f} ({w['hit@5']:.3f}) | "
              f"{k['mrr']:.3f} ({w['mrr']:.3f}) | {a['ndcg@10']:.3f} | {a['p@5']:.3f} | {a['success@3']:.3f} | "
              + " | ".join(cells) + f" | {len(a['empty'])} |")


def print_speed(papers: int, speed: dict[str, Any]) -> None:
    print(f"\nSpeed at {papers:,} papers, one core\n")
    print("| system | build s | build peak RSS MB (anon) | first answer after restart s | p50 ms | p95 ms | max ms "
          "| serving peak RSS MB (anon) |")
    print("|---|---|---|---|---|---|---|---|")
    for name, s in speed.items():
        if "skipped" in s:
            print(f"| {name} | {s['skipped']} |||||||")
            continue
        print(f"| {name} | {s['build_s']:.1f} | {s['build_peak_rss_mb']:.0f} ({s['build_peak_anon_mb']:.0f}) | "
              f"{s['first_answer_s']:.2f} | {s['p50_ms']:.2f} | {s['p95_ms']:.2f} | {s['max_ms']:.1f} | "
              f"{s['serve_peak_rss_mb']:.0f} ({s['serve_peak_anon_mb']:.0f}) |")


if __name__ == "__main__":
    sys.exit(main())
