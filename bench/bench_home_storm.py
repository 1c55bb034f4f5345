#!/usr/bin/env python3
"""The Home-tab storm (issue 22, item 14): `/papers` answer latency while Home opens pour in.

    python bench/bench_home_storm.py [--opens 1000] [--people 20] [--rate 50]
                                     [--per-minute 100] [--publish-ms 50]
                                     [--every 0.5] [--after 10] [--archive DIR]

The bot in this process (`tests.support.bot_server.running_bot`: assembled as
`digest-bot run` assembles it, served by uvicorn, signed HTTP in), the fake
Slack on another port. `views.publish` is rate-limited by the fake as Slack's
Tier 4 limits it: at most --per-minute accepted calls in any 60 s, beyond
that HTTP 429 with `Retry-After` (the seconds until the window frees), and
each call takes --publish-ms.

The storm: --opens signed `app_home_opened` events from --people people,
sent at --rate per second by 8 threads. Meanwhile a signed `/papers <query>`
every --every seconds, from the storm's start until --after seconds after
its end. Reported: each `/papers` answer's latency (send -> the bot's
response_url post reaching the fake: p50, p95, max, and how many were not
answered within 180 s), and the `views.publish` calls (accepted, refused with
429, the most accepted in any 60 s).

To measure the code before a change, copy this file and
`tests/support/fake_slack.py` (for `rate_limit_window`) into a checkout of
the older commit and run it there: the fake is the same, the bot is the
older one.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT))

from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_slack import USER_ID, FakeSlack
from tests.support.slack_requests import JSON, app_home_opened_event, event_body

EXAMPLE_ARCHIVE = PROJECT / "examples" / "archive"
QUERIES = ("privacy", "federated learning", "diffusion", "differential privacy", "synthetic data", "membership inference")
ANSWER_WAIT = 180.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def storm(bot: RunningBot, people: list[str], opens: int, rate: float) -> float:
    """Send `opens` signed app_home_opened at `rate` per second; the seconds it took."""
    started = time.monotonic()

    def one(i: int) -> int:
        due = started + i / rate
        pause = due - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        status, _, _ = bot.send(event_body(app_home_opened_event(people[i % len(people)])), JSON)
        return status

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(one, range(opens)))
    bad = [s for s in statuses if s != 200]
    if bad:
        print(f"  {len(bad)} Home opens were not acknowledged with 200: {sorted(set(bad))}")
    return time.monotonic() - started


def lookups(bot: RunningBot, stop: threading.Event, every: float, sent: list[tuple[float, str]]) -> None:
    """A signed /papers every `every` seconds until `stop`: (send time, response_url) each."""
    i = 0
    while not stop.is_set():
        t0 = time.monotonic()
        status, url = bot.command(QUERIES[i % len(QUERIES)])
        if status == 200:
            sent.append((t0, url))
        i += 1
        stop.wait(max(every - (time.monotonic() - t0), 0.0))


def busiest_minute(times: list[float]) -> int:
    ordered = sorted(times)
    best, j = 0, 0
    for i, t in enumerate(ordered):
        while ordered[j] <= t - 60.0:
            j += 1
        best = max(best, i - j + 1)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--opens", type=int, default=1000)
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--rate", type=float, default=50.0, help="Home opens per second")
    parser.add_argument("--per-minute", type=int, default=100, help="views.publish accepted per 60 s (Tier 4)")
    parser.add_argument("--publish-ms", type=float, default=50.0, help="how long each views.publish takes")
    parser.add_argument("--every", type=float, default=0.5, help="seconds between two /papers")
    parser.add_argument("--after", type=float, default=10.0, help="seconds of /papers after the storm")
    parser.add_argument("--archive", type=Path, default=EXAMPLE_ARCHIVE)
    args = parser.parse_args()

    people = [f"U0H{i:03d}" for i in range(args.people)]
    with tempfile.TemporaryDirectory(prefix="digest-bench-home-") as tmp:
        users = {**{p: p.lower() for p in people}, USER_ID: "alice"}
        with FakeSlack(users=users) as fake, running_bot(
            fake, args.archive, Path(tmp), DIGEST_INDEX_DIR=str(Path(tmp) / "index")
        ) as bot:
            for text in QUERIES:  # warm up: the search engine, the connections
                bot.answer(bot.command(text)[1], timeout=60)
            fake.reset()
            fake.rate_limit_window("views.publish", per_window=args.per_minute, window=60.0)
            fake.latency(args.publish_ms / 1000.0, "views.publish")
            sent: list[tuple[float, str]] = []
            stop = threading.Event()
            asking = threading.Thread(target=lookups, args=(bot, stop, args.every, sent), daemon=True)
            t_start = time.monotonic()
            asking.start()
            took = storm(bot, people, args.opens, args.rate)
            time.sleep(args.after)
            stop.set()
            asking.join()
            deadline = time.monotonic() + ANSWER_WAIT
            while time.monotonic() < deadline and any(not fake.responses(url) for _, url in sent):
                time.sleep(0.2)
            latencies, missing = [], 0
            answered = {c.path.rsplit("/", 1)[-1]: c.received for c in fake.calls("response_url")}
            for t0, url in sent:
                received = answered.get(url.rsplit("/", 1)[-1])
                if received is None:
                    missing += 1
                else:
                    latencies.append(received - t0)
            settled = bot.workers.join(timeout=ANSWER_WAIT)  # the refreshes still waiting, published
            calls = [c for c in fake.calls("views.publish") if c.received >= t_start]
            accepted = [c.received for c in calls if c.status == 200 and c.ok]
            refused = sum(1 for c in calls if c.status == 429)
            home = bot.workers.stats().get("home")

    print(f"\nHome storm: {args.opens} app_home_opened from {args.people} people in {took:.1f} s; views.publish "
          f"limited to {args.per_minute}/min (429 + Retry-After), {args.publish_ms:.0f} ms each")
    print(f"/papers during it: {len(sent)} sent, {len(latencies)} answered, {missing} not answered within {ANSWER_WAIT:.0f} s")
    if latencies:
        print(f"  answer latency  p50 {statistics.median(latencies):.2f} s   p95 {percentile(latencies, 0.95):.2f} s"
              f"   max {max(latencies):.2f} s")
    print(f"views.publish: {len(calls)} calls, {len(accepted)} accepted, {refused} refused (429); "
          f"busiest 60 s: {busiest_minute(accepted)} accepted")
    if not settled:
        print(f"  (the bot's queues were still busy {ANSWER_WAIT:.0f} s after the answers)")
    if home is not None:
        print(f"home queue: {home}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
