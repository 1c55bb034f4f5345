#!/usr/bin/env python3
"""arXiv link unfurls and the trends chart at scale: bot time per unfurl, chart render time.

    taskset -c 1 python bench/bench_unfurl.py --store /tmp/s100k/store.sqlite3 --index /tmp/s100k/idx

The store and its search index are copied to a scratch folder first (never
written in place). The bot runs in this process in HTTP mode, exactly as
`digest-bot run` serves it (`bot.runtime.service`), against an instant fake Slack.
`--threads` papers get a posted message with a permalink and replies (so
unfurls show "💬 N replies — join the discussion").

unfurl: `--events` signed `link_shared` events, one at a time, each with one
arXiv link (every fifth with three links) to a random paper of the store;
the time is from sending the event to the fake Slack receiving `chat.unfurl`:
the bot's HTTP handling, acknowledgement, queue, look-ups, rendering and its
request to Slack. Target (issue 13): p95 <= 100 ms at 100,000 papers.

chart: the 12-week trends chart of that store, rendered `--renders` times
(the first render, which loads matplotlib and the fonts, reported apart).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import uvicorn
from sqlalchemy import insert, select, text

from bot.config import Settings
from bot.runtime.service import assemble, health, lookup_client, slack_app, start_workers
from bot.slack.http import create_asgi_app, server_config
from bot.store import Catalog, open_engine
from bot.store.posts import posts
from bot.store.replies import thread_replies
from bot.store.schema import papers
from tests.support.fake_slack import FakeSlack
from tests.support.fake_slack.records import Call
from tests.support.slack_requests import JSON, event_body, link_shared_event, post, sign

SECRET = "bench-signing-secret"


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, required=True)
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--threads", type=int, default=2000)
    parser.add_argument("--renders", type=int, default=10)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="bench-unfurl-"))
    try:
        shutil.copy2(args.store, scratch / "store.sqlite3")
        shutil.copytree(args.index, scratch / "idx")
        run(scratch, args)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def run(scratch: Path, args: argparse.Namespace) -> None:
    engine = open_engine(f"sqlite:///{scratch / 'store.sqlite3'}")
    catalog = Catalog(engine)
    rng = random.Random(13)
    with engine.connect() as conn:
        ids = list(conn.execute(select(papers.c.arxiv_id)).scalars())
    print(f"store: {len(ids):,} papers")
    threaded = rng.sample(ids, min(args.threads, len(ids)))
    now = dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM posts WHERE channel = 'CBENCH'"))
        rows = [
            {"channel": "CBENCH", "post_key": f"paper:{a}", "kind": "paper", "slug": "bench", "week_start": dt.date(2025, 1, 3),
             "arxiv_id": a, "state": "posted", "ts": f"{1700000000 + i}.000100",
             "permalink": f"https://fake.slack.com/archives/CBENCH/p{1700000000 + i}000100", "attempts": 1,
             "created_at": now, "attempted_at": now, "updated_at": now, "posted_at": now}
            for i, a in enumerate(threaded)
        ]
        conn.execute(insert(posts), rows)
        replies = [
            {"channel": "CBENCH", "ts": f"{1700000000 + i}.{200 + n:06d}", "thread_ts": f"{1700000000 + i}.000100",
             "arxiv_id": a, "user_id": f"U{n}", "replied_at": now}
            for i, a in enumerate(threaded) for n in range(i % 4)
        ]
        if replies:
            conn.execute(insert(thread_replies), replies)

    with FakeSlack() as fake:
        fake.add_channel("CBENCH", "bench")
        settings = Settings(
            _env_file=None, SLACK_BOT_TOKEN="xoxb-test", SLACK_SIGNING_SECRET=SECRET, SLACK_API_URL=fake.api_url,
            DIGEST_INDEX_DIR=str(scratch / "idx"), DIGEST_DB_URL=f"sqlite:///{scratch / 'store.sqlite3'}",
        )
        started = time.perf_counter()
        bot = assemble(settings, engine, search_refresh=0.0)
        bot.search.engine()
        print(f"search index opened in {time.perf_counter() - started:.1f} s")
        workers = start_workers(settings)
        app = slack_app(bot, lookup_client(settings), bot_user_id="U0BOT", workers=workers)
        asgi = create_asgi_app(app, signing_secret=SECRET, health=health(bot, workers))
        server = uvicorn.Server(server_config(asgi, host="127.0.0.1", port=0))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}/slack/events"

        times: list[float] = []
        with_thread = 0
        for n in range(args.events + 20):
            count = 3 if n % 5 == 4 else 1
            chosen = [rng.choice(threaded) if rng.random() < 0.5 else rng.choice(ids) for _ in range(count)]
            links = [f"https://arxiv.org/abs/{a}v{1 + n % 3}" for a in chosen]
            ts = fake.add_message("CBENCH", " ".join(f"<{link}>" for link in links))
            body = event_body(link_shared_event(links, channel="CBENCH", message_ts=ts))
            before = len(fake.calls("chat.unfurl"))
            sent = time.monotonic()
            status, _, _ = post(url, body, sign(SECRET, body), JSON)
            assert status == 200, status

            def unfurled(seen: int = before) -> Call | None:
                return fake.calls("chat.unfurl")[-1] if len(fake.calls("chat.unfurl")) > seen else None

            call = fake.wait_for(unfurled)
            if n >= 20:  # the first few warm the caches
                times.append(call.received - sent)
                with_thread += "join the discussion" in str(call.params)
        server.should_exit = True
        thread.join(timeout=10)
        workers.close()
    ms = [t * 1000 for t in times]
    print(f"unfurl, {len(ms)} events ({with_thread} with a thread link): "
          f"p50 {statistics.median(ms):.1f} ms, p95 {pct(ms, 95):.1f} ms, max {max(ms):.1f} ms")

    from bot.charts import trends_chart
    from bot.weekly.trends import trends

    started = time.perf_counter()
    data = trends(catalog)
    numbers = time.perf_counter() - started
    started = time.perf_counter()
    chart = trends_chart(data, lang="ja")
    first = time.perf_counter() - started
    renders = []
    for _ in range(args.renders):
        started = time.perf_counter()
        trends_chart(data, lang="ja")
        renders.append(time.perf_counter() - started)
    print(f"chart ({len(data.topics)} topics x {len(data.weeks)} weeks, {chart.width}x{chart.height}, "
          f"{len(chart.png) / 1024:.0f} kB, font {chart.font}): numbers {numbers * 1000:.1f} ms, "
          f"first render {first:.2f} s, then median {statistics.median(renders) * 1000:.0f} ms "
          f"(min {min(renders) * 1000:.0f}, max {max(renders) * 1000:.0f})")
    engine.dispose()


if __name__ == "__main__":
    main()
