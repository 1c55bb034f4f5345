#!/usr/bin/env python3
"""Peak memory and time of `digest-bot index` over hostile archive files, each reported.

    python bench/bench_hostile.py [--bot-src DIR] [--rlimit-mb 4000] [--timeout 60]

Each case is a fresh archive in a temporary folder: the bundled example
archive (copied) plus one hostile file, indexed into a fresh store by
`digest-bot index --json` in a child process pinned to one core. Reported per
case: exit code, seconds, the child's peak RSS (`ru_maxrss` from wait4), the
papers loaded, and what the index said about the hostile file. Target: peak
RSS under 600 MB for every case, every good digest loaded, each hostile file
reported with its reason.

The child runs under an address-space limit (--rlimit-mb) and a timeout, so
that code which expands the alias bomb or reads /dev/zero (run it with
`--bot-src` pointing at an older tree to see) fails instead of taking the
shared machine down. Generated files (a 200 MB digest) live in the
temporary folder only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT))

from bot.model import Paper, TopicRef
from tests.support.archive_writer import digest_text, entry_text

EXAMPLE = PROJECT / "examples" / "archive"
WEEK = dt.date(2025, 1, 31)  # after the example archive's weeks
TARGET_MB = 600


def paper(n: int) -> Paper:
    arxiv_id = f"{2501 + n // 100_000}.{n % 100_000:05d}"  # valid ids past 99,999 too
    return Paper(
        arxiv_id=arxiv_id,
        url=f"http://arxiv.org/abs/{arxiv_id}",
        title=f"A synthetic paper number {n} about differential privacy and federated learning",
        title_ja=f"差分プライバシーと連合学習に関する合成論文 {n}",
        authors=("A. Author", "B. Author", "C. Author"),
        summary=("要点その一です。" * 4, "要点その二です。" * 4, "要点その三です。" * 4),
        topics=(TopicRef("dp", "差分プライバシー"),),
        categories=("cs.CR", "cs.LG"),
        posted_at=dt.datetime(2025, 2, 1, 12, 0),
    )


def alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, levels + 1):
        lines.append(f"a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 9) + "]")
    return "\n".join(lines)


def digest_path(root: Path) -> Path:
    return root / "_dp" / f"{WEEK}.md"


def case_baseline(root: Path) -> None:
    """No hostile file: the example archive alone."""


def case_alias_bomb(root: Path) -> None:
    """"Billion laughs" as the title: 9**9 "lol"s once anything turns the title into text."""
    body = digest_text("差分プライバシー", WEEK, [paper(1)]).split("---\n", 2)[2]
    front = f"{alias_bomb()}\ntitle: *a9\ndate: {WEEK}\n"
    digest_path(root).write_text(f"---\n{front}---\n{body}", encoding="utf-8")


def case_fifo(root: Path) -> None:
    os.mkfifo(digest_path(root))


def case_dev_zero(root: Path) -> None:
    digest_path(root).symlink_to("/dev/zero")


def case_outside(root: Path) -> None:
    digest_path(root).symlink_to("/etc/passwd")
    secret = root.parent / "elsewhere.md"
    secret.write_text(digest_text("秘密", WEEK + dt.timedelta(days=7), [paper(2)]), encoding="utf-8")
    (root / "_dp" / f"{WEEK + dt.timedelta(days=7)}.md").symlink_to(secret)


def case_200_mb(root: Path) -> None:
    """A 200 MB digest: one real-looking entry written again and again (distinct ids)."""
    head = digest_text("差分プライバシー", WEEK, [])
    with open(digest_path(root), "w", encoding="utf-8") as out:
        out.write(head)
        size, n = len(head.encode()), 0
        while size < 200_000_000:
            chunk = "".join(f"\n- - -\n\n{entry_text(paper(10_000 + n + i))}\n" for i in range(1000))
            out.write(chunk)
            size += len(chunk.encode())
            n += 1000


def case_just_under_the_limit(root: Path) -> None:
    """The largest digest that is read: just under 20 MB (about 16,000 papers)."""
    head = digest_text("差分プライバシー", WEEK, [])
    entries: list[str] = []
    size, n = len(head.encode()), 0
    while True:
        entry = f"\n- - -\n\n{entry_text(paper(20_000 + n))}\n"
        if size + len(entry.encode()) > 19_990_000:
            break
        entries.append(entry)
        size += len(entry.encode())
        n += 1
    digest_path(root).write_text(head + "".join(entries), encoding="utf-8")


def case_10k_papers(root: Path) -> None:
    digest_path(root).write_text(
        digest_text("差分プライバシー", WEEK, [paper(n) for n in range(1, 10_001)]), encoding="utf-8"
    )


CASES: list[tuple[str, Callable[[Path], None]]] = [
    ("baseline (example archive)", case_baseline),
    ("YAML alias bomb (9 levels) in front matter", case_alias_bomb),
    ("FIFO named like a digest", case_fifo),
    ("symlink to /dev/zero", case_dev_zero),
    ("symlinks outside the root (/etc/passwd, ../elsewhere.md)", case_outside),
    ("200 MB digest", case_200_mb),
    ("10,000-paper digest", case_10k_papers),
    ("digest just under the 20 MB limit", case_just_under_the_limit),
]


def run_index(root: Path, store: Path, src: Path, rlimit_mb: int, timeout: float, core: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1", "DIGEST_DB_URL": f"sqlite:///{store}"}

    def limits() -> None:
        os.sched_setaffinity(0, {core})
        limit = rlimit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        os.setsid()

    out = store.with_suffix(".json")
    started = time.perf_counter()
    with open(out, "wb") as stdout:
        child = subprocess.Popen(
            [sys.executable, "-m", "bot", "index", "--archive", str(root), "--json"],
            env=env, cwd=store.parent, stdout=stdout, stderr=subprocess.PIPE,
            preexec_fn=limits,  # noqa: PLW1509 - no threads in this process yet
        )
        deadline = started + timeout
        status, usage = 0, None
        while True:
            pid, status, usage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                os.killpg(child.pid, signal.SIGKILL)
                _, status, usage = os.wait4(child.pid, 0)
                break
            time.sleep(0.05)
    seconds = time.perf_counter() - started
    timed_out = seconds > timeout
    stderr = child.stderr.read().decode(errors="replace") if child.stderr else ""
    result: dict[str, Any] = {
        "exit": os.waitstatus_to_exitcode(status),
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1) if usage else None,  # kB on Linux
        "timed_out": timed_out,
        "error": stderr.strip().splitlines()[-1][:200] if stderr.strip() else None,
    }
    try:
        report = json.loads(out.read_text())
    except (ValueError, OSError):
        report = None
    if report is not None:
        result["papers"] = report["papers"]
        result["digests"] = report["digests"]
        mine = [
            f"{p['path']}: {p['reason']}" for p in report["skipped"] + report["warnings"]
            if f"{WEEK}" in p["path"] or "2025-02-07" in p["path"]
        ]
        result["problems"] = len(mine)
        result["reported"] = mine[:3]
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bot-src", type=Path, default=PROJECT, help="the source tree the indexer runs from")
    ap.add_argument("--rlimit-mb", type=int, default=4000, help="the child's address-space limit")
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds before the child is killed")
    ap.add_argument("--only", help="run only the cases whose name contains this")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args()
    core = max(os.sched_getaffinity(0))
    results = []
    for name, build in CASES:
        if args.only and args.only not in name:
            continue
        with tempfile.TemporaryDirectory(prefix="digest-bench-hostile-") as tmp:
            root = Path(tmp) / "archive"
            shutil.copytree(EXAMPLE, root)
            build(root)
            result = {"case": name, **run_index(root, Path(tmp) / "store.sqlite3", args.bot_src, args.rlimit_mb, args.timeout, core)}
        results.append(result)
        print(json.dumps(result, ensure_ascii=False), flush=True)
    print(f"\nindexer: {args.bot_src}, pinned to core {core}, address space limited to {args.rlimit_mb} MB, timeout {args.timeout:g} s")
    print(f"{'case':<58}{'exit':>5}{'s':>7}{'peak MB':>9}{'papers':>8}  reported")
    for r in results:
        papers = r.get("papers", "-")
        what = "; ".join(r.get("reported") or []) or (("TIMED OUT" if r["timed_out"] else r.get("error")) or "-")
        if r.get("problems", 0) > 3:
            what += f" (+{r['problems'] - 3:,} more)"
        print(f"{r['case']:<58}{r['exit']:>5}{r['seconds']:>7.1f}{r['peak_rss_mb'] or 0:>9.0f}{papers!s:>8}  {what}")
    worst = max((r["peak_rss_mb"] or 0) for r in results)
    print(f"worst peak RSS {worst:.0f} MB (target < {TARGET_MB} MB)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
