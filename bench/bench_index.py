#!/usr/bin/env python3
"""Indexing speed and memory: the real archive cold and unchanged, and 100,000 papers cold.

    python bench/bench_index.py [--archive ../shared/archive] [--big DIR | --papers 100000]

Targets (issue 2): real archive cold <= 1 s and unchanged re-index <= 0.1 s
in-process; 100k papers cold <= 30 s with peak RSS <= 1 GB. Each measurement
runs in a fresh child process so that peak RSS is its own. The 100k archive is
generated into a temporary folder (never inside the project) unless --big is given.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
SHARED = PROJECT.parent / "shared"

CHILD = r"""
import json, resource, sys, time, tempfile
from bot.store import open_engine, sync_archive
archive, runs = sys.argv[1], int(sys.argv[2])
rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with tempfile.TemporaryDirectory() as tmp:
    engine = open_engine(f"sqlite:///{tmp}/store.sqlite3")
    t = time.perf_counter(); report = sync_archive(engine, archive); cold = time.perf_counter() - t
    warm = []
    for _ in range(runs):
        t = time.perf_counter(); again = sync_archive(engine, archive); warm.append(time.perf_counter() - t)
        assert again.parsed == 0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"cold": cold, "warm": warm, "papers": report.papers, "digests": report.digests,
                      "files": report.files, "problems": len(report.problems),
                      "rss_start_mb": rss_start / 1024, "rss_peak_mb": rss / 1024}))
"""


def measure(archive: Path, runs: int) -> dict[str, Any]:
    """Index `archive` in a fresh process: cold once, then `runs` unchanged re-indexes."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(archive), str(runs)],
        check=True, capture_output=True, text=True, cwd=PROJECT,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    return json.loads(out.stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archive", type=Path, default=SHARED / "archive", help="the real archive")
    ap.add_argument("--big", type=Path, help="an existing large archive (else one is generated)")
    ap.add_argument("--papers", type=int, default=100_000, help="papers in the generated archive")
    ap.add_argument("--runs", type=int, default=5, help="unchanged re-index runs to time")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core, like the targets

    rows = []
    if (args.archive / "_all").is_dir():
        real = measure(args.archive, args.runs)
        rows.append(("real archive", real))
    else:
        print(f"real archive not found at {args.archive}; skipping it", file=sys.stderr)

    with tempfile.TemporaryDirectory(prefix="digest-bench-") as tmp:
        big = args.big
        if big is None:
            big = Path(tmp) / "archive"
            tool = SHARED / "tools" / "make_archive.py"
            subprocess.run([sys.executable, str(tool), "--papers", str(args.papers), "--out", str(big)], check=True)
        rows.append((f"{big.name} (generated)" if args.big is None else str(big), measure(big, 2)))

    print()
    print(f"{'archive':<28} {'papers':>8} {'files':>6} {'cold s':>8} {'unchanged s (median)':>21} {'peak RSS MB':>12}")
    for name, r in rows:
        print(
            f"{name:<28} {r['papers']:>8} {r['files']:>6} {r['cold']:>8.3f} "
            f"{statistics.median(r['warm']):>21.4f} {r['rss_peak_mb']:>12.0f}"
        )
    print("\ntargets: real cold <= 1 s, unchanged <= 0.1 s; 100k cold <= 30 s, peak RSS <= 1024 MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
