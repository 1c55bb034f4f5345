#!/usr/bin/env python3
"""Publishing speed: time per paper posted to the fake Slack, real HTTP, pacing off.

    python bench/bench_publish.py [--archive ../shared/archive] [--repeat 3]

For the example archive and the real one (when present), the newest week of
every topic is posted with the real `posting_client` to a local FakeSlack
(which validates every message against the Block Kit schema, as Slack would):
once into one channel per topic, once into a single channel (shared papers
linked, not posted twice), and the archive's largest week (`--week`) into
one channel. Pacing is off (a fake clock), so the figures are
the bot's own cost per message: render, store writes (intent, ts, permalink)
and the HTTP round trips (chat.postMessage + chat.getPermalink). Also shown:
the no-op second run, and the time Slack's one-post-per-second pace adds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from bot.config import load_settings
from bot.model import AGGREGATE_SLUG
from bot.publisher import PublishReport, RunClock, Selection, SlackCalls, publish_due
from bot.slack.client import posting_client
from bot.store import Catalog, open_engine, sync_archive
from tests.conftest import EXAMPLE_ARCHIVE, real_archive_path
from tests.support.clock import FakeClock
from tests.support.fake_slack import BOT_TOKEN, FakeSlack


def run_once(archive: Path, layout: str) -> dict[str, float]:
    """Post the newest week of every topic (or the largest week) into a fresh store."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(f"sqlite:///{tmp}/store.sqlite3")
        sync_archive(engine, archive)
        catalog = Catalog(engine)
        slugs = [s.topic.slug for s in catalog.topics() if s.topic.slug != AGGREGATE_SLUG]
        last_end = max(d.week_end for d in catalog.digests())
        now = dt.datetime.combine(last_end + dt.timedelta(days=1), dt.time(9), tzinfo=dt.UTC)
        week = (
            max(catalog.weeks(), key=lambda w: w.papers).week_start if layout == "largest" else None
        )
        if layout == "per-topic":
            channels = {f"C0{s.upper()}": s for s in slugs}
            settings = load_settings(
                None, DIGEST_CHANNELS=",".join(f"{s}=C0{s.upper()}" for s in slugs)
            )
        else:
            channels = {"C0ALL": "papers"}
            settings = load_settings(None, DIGEST_CHANNEL="C0ALL")
        with FakeSlack(channels=channels) as fake:
            client = posting_client(BOT_TOKEN, fake.api_url)
            clock = FakeClock(start=0.0)

            def publish() -> PublishReport:
                run_clock = RunClock.starting(now, monotonic=clock.monotonic, sleep=clock.sleep)
                slack = SlackCalls.paced(client, run_clock)
                return publish_due(engine, slack, run_clock, settings, selection=Selection(week=week))

            started = time.perf_counter()
            report = publish()
            seconds = time.perf_counter() - started
            assert report.ok, report.errors
            started = time.perf_counter()
            again = publish()
            noop = time.perf_counter() - started
            assert again.posted == 0
            messages = sum(len(fake.messages(c)) for c in channels)
            papers = messages - sum(len(c.digests) for c in report.channels.values())
            calls = len(fake.calls())
        engine.dispose()
    return {
        "messages": messages,
        "papers": papers,
        "seconds": seconds,
        "per_message_ms": 1000 * seconds / messages,
        "per_paper_ms": 1000 * seconds / max(papers, 1),
        "noop_ms": 1000 * noop,
        "paced_seconds": clock.now,
        "calls": calls,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--archive", type=Path, default=None, help="The real archive (default: ../shared/archive)."
    )
    parser.add_argument("--repeat", type=int, default=3, help="Runs per case; the median is shown.")
    args = parser.parse_args()
    archives = [("example", EXAMPLE_ARCHIVE)]
    real = args.archive or real_archive_path()
    if real is not None:
        archives.append(("real", real))
    else:
        print("(real archive not found: set --archive or DIGEST_TEST_ARCHIVE)")
    header = (
        f"{'archive':8} {'layout':10} {'papers':>6} {'msgs':>5} {'calls':>5} {'total s':>8} "
        f"{'ms/paper':>9} {'ms/msg':>7} {'no-op ms':>9} {'paced s':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, archive in archives:
        for layout in ("per-topic", "one", "largest"):
            runs = [run_once(archive, layout) for _ in range(args.repeat)]
            best = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            print(
                f"{name:8} {layout:10} {best['papers']:6.0f} {best['messages']:5.0f} {best['calls']:5.0f} "
                f"{best['seconds']:8.2f} {best['per_paper_ms']:9.1f} {best['per_message_ms']:7.1f} "
                f"{best['noop_ms']:9.1f} {best['paced_seconds']:8.0f}"
            )


if __name__ == "__main__":
    main()
