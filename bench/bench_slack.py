#!/usr/bin/env python3
"""/papers latency: from a signed request to its acknowledgement and to the answer.

    python bench/bench_slack.py [--big DIR | --papers 100000] [--requests 200]

The bot runs in HTTP mode exactly as `digest-bot run` serves it (uvicorn + the
ASGI app, `bot.service.assemble`) over a store indexed from a large synthetic
archive (made by ../shared/tools/make_archive.py in a temporary folder unless
--big is given); Slack is the local fake from tests/support. Each request is a
real signed `/papers <query>` POST to /slack/events (queries from
tests/search_queries.yaml, round robin); "ack" is when the HTTP 200 came back,
"answer" when the fake Slack received the response_url post (same process,
same monotonic clock, so both are end-to-end times on loopback that include
the bot's server-side work). Target (issue 4): p95 <= 150 ms for the answer.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT))

from bot.search.evaluate import load_queries
from tests.support.bot_server import running_bot
from tests.support.fake_slack import FakeSlack

MAKE_ARCHIVE = PROJECT.parent / "shared" / "tools" / "make_archive.py"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--big", type=Path, help="an existing archive (else one is generated)")
    ap.add_argument("--papers", type=int, default=100_000, help="papers in the generated archive")
    ap.add_argument("--requests", type=int, default=200)
    args = ap.parse_args()
    queries = [q.query for q in load_queries(PROJECT / "tests" / "search_queries.yaml")]
    with tempfile.TemporaryDirectory(prefix="digest-bench-slack-") as tmp:
        archive = args.big
        if archive is None:
            archive = Path(tmp) / "archive"
            subprocess.run([sys.executable, str(MAKE_ARCHIVE), "--papers", str(args.papers), "--out", str(archive)], check=True)
        started = time.perf_counter()
        with FakeSlack() as fake, running_bot(fake, archive, Path(tmp)) as bot:
            ready = time.perf_counter() - started
            papers = bot.bot.catalog.count_papers()
            for text in queries[:5]:  # warm up
                bot.answer(bot.command(text)[1])
            acks: list[float] = []
            answers: list[float] = []
            for i in range(args.requests):
                text = queries[i % len(queries)]
                t0 = time.monotonic()
                status, url = bot.command(text)
                acks.append((time.monotonic() - t0) * 1000)
                assert status == 200, status
                bot.answer(url, timeout=30)
                [call] = [c for c in fake.calls() if c.path.endswith(url.rsplit("/", 1)[1])][-1:]
                answers.append((call.received - t0) * 1000)
    print(f"\nstore: {papers:,} papers; indexed + search built in {ready:.1f} s; {args.requests} signed /papers requests")
    print(f"{'':<8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for name, values in (("ack", acks), ("answer", answers)):
        print(f"{name:<8}{statistics.median(values):>9.1f}{percentile(values, 0.95):>9.1f}{max(values):>9.1f}")
    print("target: answer p95 <= 150 ms")
    return 0


if __name__ == "__main__":
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    sys.exit(main())
