#!/usr/bin/env python3
"""/papers under real conditions: acknowledgement and answer times, in-process or under load.

    python bench/bench_slack.py answers [--big DIR | --papers 100000] [--requests 200]
    python bench/bench_slack.py load [--big DIR] [--response-ms 300] [--burst 200]
                                     [--rate 20 --seconds 60] [--lock-seconds 20] [--bot-src DIR]

`answers` (issue 4): the bot in this process (`tests.support.bot_server`), an
instant fake Slack, /papers one at a time; "ack" is the HTTP 200, "answer" the
fake Slack receiving the response_url post. Target: answer p95 <= 150 ms.

`load` (issue 10): `digest-bot run` in HTTP mode as a separate process pinned
to one core (the last one), this process (load generator and fake Slack) on
the other cores. The fake Slack's response_url takes --response-ms to answer.
Three scenarios on one store indexed from a large archive:

  burst   --burst signed /papers sent at once;
  rate    --rate requests/s for --seconds;
  lock    the same rate while another process holds SQLite's write lock for
          --lock-seconds (BEGIN IMMEDIATE, as an `index` does), with one in
          five requests a thread reply in a posted paper's thread (a store write).

For each: every request's acknowledgement time (send -> HTTP 200: p50, p95,
max, and how many took 3 s or more), how many were answered exactly once
(one response_url post each; busy answers counted apart), and the answer
time (send -> the bot's response_url post reaching the fake). With
`--bot-src` the bot runs from another source tree (e.g. `git archive` of
main, to measure the code before a change).
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
PROJECT = HERE.parent
sys.path.insert(0, str(PROJECT))

from bot.search.evaluate import load_queries
from tests.support.fake_slack import FakeSlack
from tests.support.slack_requests import FORM, JSON, event_body, post, sign, slash_command_body

MAKE_ARCHIVE = PROJECT.parent / "shared" / "tools" / "make_archive.py"
SECRET = "bench-signing-secret"
SLACK_DEADLINE = 3.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def queries() -> list[str]:
    return [q.query for q in load_queries(PROJECT / "tests" / "search_queries.yaml")]


def make_archive(papers: int, tmp: Path) -> Path:
    archive = tmp / "archive"
    subprocess.run(
        [sys.executable, str(MAKE_ARCHIVE), "--papers", str(papers), "--out", str(archive)], check=True
    )
    return archive


# ---- answers: the in-process latency benchmark of issue 4 ------------------------------


def answers(args: argparse.Namespace) -> int:
    from tests.support.bot_server import running_bot

    texts = queries()
    with tempfile.TemporaryDirectory(prefix="digest-bench-slack-") as tmp:
        archive = args.big or make_archive(args.papers, Path(tmp))
        started = time.perf_counter()
        with FakeSlack() as fake, running_bot(fake, archive, Path(tmp)) as bot:
            ready = time.perf_counter() - started
            papers = bot.bot.catalog.count_papers()
            for text in texts[:5]:  # warm up
                bot.answer(bot.command(text)[1])
            acks: list[float] = []
            answered: list[float] = []
            for i in range(args.requests):
                t0 = time.monotonic()
                status, url = bot.command(texts[i % len(texts)])
                acks.append((time.monotonic() - t0) * 1000)
                assert status == 200, status
                bot.answer(url, timeout=30)
                [call] = [c for c in fake.calls() if c.path.endswith(url.rsplit("/", 1)[1])][-1:]
                answered.append((call.received - t0) * 1000)
    print(f"\nstore: {papers:,} papers; indexed + search built in {ready:.1f} s; {args.requests} signed /papers requests")
    print(f"{'':<8}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}")
    for name, values in (("ack", acks), ("answer", answered)):
        print(f"{name:<8}{statistics.median(values):>9.1f}{percentile(values, 0.95):>9.1f}{max(values):>9.1f}")
    print("target: answer p95 <= 150 ms")
    return 0


# ---- load: the bot as its own process, a slow response_url, bursts and locks -----------


@dataclass
class Sent:
    """One request the generator sent, and what came back."""

    kind: str  # "papers" or "reply"
    t0: float
    status: int = 0
    ack: float = float("nan")  # seconds
    body: bytes = b""
    response_url: str = ""


@dataclass
class Outcome:
    name: str
    sent: list[Sent] = field(default_factory=list)
    answers: dict[str, int] = field(default_factory=dict)  # response_url -> posts
    answer_times: list[float] = field(default_factory=list)
    replies_counted: int | None = None
    seconds: float = 0.0


class LiveBot:
    """`digest-bot run` in HTTP mode, pinned to one core, talking to the fake Slack."""

    def __init__(self, *, store: Path, archive: Path, fake: FakeSlack, port: int, src: Path, core: int) -> None:
        env = {
            **os.environ,
            "PYTHONPATH": str(src),
            "PYTHONDONTWRITEBYTECODE": "1",
            "DIGEST_ARCHIVE": str(archive),
            "DIGEST_DB_URL": f"sqlite:///{store}",
            "DIGEST_SYNC_MINUTES": "0",
            "SLACK_BOT_TOKEN": "xoxb-test",
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": fake.api_url,
            "PORT": str(port),
            "DIGEST_BIND_ADDRESS": "127.0.0.1",
            "DIGEST_LOG_LEVEL": "WARNING",
        }
        self.log = open(store.with_suffix(".log"), "w")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=store.parent, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )
        os.sched_setaffinity(self.process.pid, {core})
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the bot exited: see {self.log.name}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):
                    return
            except (OSError, urllib.error.HTTPError):
                time.sleep(0.2)
        raise RuntimeError("the bot did not become healthy")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def _send_papers(bot: LiveBot, fake: FakeSlack, text: str) -> Sent:
    url = fake.new_response_url()
    body = slash_command_body(text, response_url=url)
    sent = Sent("papers", time.monotonic(), response_url=url)
    try:
        sent.status, _, sent.body = post(f"{bot.url}/slack/events", body, sign(SECRET, body), FORM, timeout=60)
    except OSError:
        sent.status = -1
    sent.ack = time.monotonic() - sent.t0
    return sent


def _send_reply(bot: LiveBot, thread: tuple[str, str], n: int) -> Sent:
    channel, ts = thread
    event = {"type": "message", "channel": channel, "channel_type": "channel", "user": f"U0B{n:06d}",
             "text": "interesting", "ts": f"{float(ts) + n / 1000:.6f}", "thread_ts": ts}
    body = event_body(event)
    sent = Sent("reply", time.monotonic())
    try:
        sent.status, _, sent.body = post(f"{bot.url}/slack/events", body, sign(SECRET, body), JSON, timeout=60)
    except OSError:
        sent.status = -1
    sent.ack = time.monotonic() - sent.t0
    return sent


def _collect(outcome: Outcome, fake: FakeSlack, deadline: float) -> None:
    """Wait until every acknowledged /papers has an answer (or a busy ack), then count them."""
    papers = [s for s in outcome.sent if s.kind == "papers"]

    def answered(s: Sent) -> bool:
        return bool(fake.responses(s.response_url)) or b"busy" in s.body

    while time.monotonic() < deadline and not all(answered(s) for s in papers):
        time.sleep(0.2)
    time.sleep(2.0)  # anything answered twice shows up by now
    by_id = {s.response_url.rsplit("/", 1)[1]: s for s in papers}
    for call in fake.calls("response_url"):
        sent = by_id.get(call.path.rsplit("/", 1)[1])
        if sent is not None and call.status == 200:
            outcome.answers[sent.response_url] = outcome.answers.get(sent.response_url, 0) + 1
            if outcome.answers[sent.response_url] == 1:
                outcome.answer_times.append(call.received - sent.t0)


def burst(bot: LiveBot, fake: FakeSlack, texts: list[str], n: int) -> Outcome:
    outcome = Outcome(f"burst of {n}")
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=n) as pool:
        outcome.sent = list(pool.map(lambda i: _send_papers(bot, fake, texts[i % len(texts)]), range(n)))
    outcome.seconds = time.monotonic() - started
    _collect(outcome, fake, time.monotonic() + 120)
    return outcome


def sustained(
    bot: LiveBot, fake: FakeSlack, texts: list[str], rate: float, seconds: float, *, name: str,
    threads: list[tuple[str, str]] | None = None,
) -> Outcome:
    """`rate` requests/s for `seconds`; with `threads`, every fifth is a thread reply."""
    outcome = Outcome(name)
    futures = []
    started = time.monotonic()
    total = int(rate * seconds)
    with ThreadPoolExecutor(max_workers=200) as pool:
        for i in range(total):
            at = started + i / rate
            time.sleep(max(0.0, at - time.monotonic()))
            if threads and i % 5 == 4:
                futures.append(pool.submit(_send_reply, bot, threads[i % len(threads)], i))
            else:
                futures.append(pool.submit(_send_papers, bot, fake, texts[i % len(texts)]))
        outcome.sent = [f.result() for f in futures]
    outcome.seconds = time.monotonic() - started
    _collect(outcome, fake, time.monotonic() + 120)
    return outcome


def hold_write_lock(store: Path, seconds: float) -> subprocess.Popen[bytes]:
    """Another process holding SQLite's write lock (BEGIN IMMEDIATE) for `seconds`."""
    script = (
        "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None);"
        "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); time.sleep(float(sys.argv[2]));"
        "c.execute('ROLLBACK')"
    )
    holder = subprocess.Popen([sys.executable, "-c", script, str(store), str(seconds)], stdout=subprocess.PIPE)
    assert holder.stdout is not None and holder.stdout.readline().strip() == b"locked"
    return holder


def post_a_week(store: Path, archive: Path, fake: FakeSlack, src: Path) -> list[tuple[str, str]]:
    """Post one topic's newest week to C0SD with `digest-bot post` (pacing off): paper
    threads to reply in. Run from `src`, so that the store stays that code's own."""
    with sqlite3.connect(store) as conn:
        slug = conn.execute("SELECT slug FROM topics WHERE slug != 'all' ORDER BY slug LIMIT 1").fetchone()[0]
    env = {**os.environ, "PYTHONPATH": str(src), "PYTHONDONTWRITEBYTECODE": "1", "DIGEST_DB_URL": f"sqlite:///{store}",
           "DIGEST_CHANNEL": "C0SD", "DIGEST_TOPICS": slug, "SLACK_BOT_TOKEN": "xoxb-test",
           "SLACK_API_URL": fake.api_url}
    subprocess.run([sys.executable, "-m", "bot", "post", "--archive", str(archive), "--interval", "0"],
                   env=env, cwd=store.parent, check=True, stdout=subprocess.DEVNULL)
    return [
        ("C0SD", m["ts"]) for m in fake.messages("C0SD")
        if (m.get("metadata") or {}).get("event_payload", {}).get("kind") == "paper"
    ]


def replies_counted(store: Path) -> int:
    with sqlite3.connect(store) as conn:
        return int(conn.execute("SELECT count(*) FROM thread_replies").fetchone()[0])


def report(outcome: Outcome) -> dict[str, Any]:
    papers = [s for s in outcome.sent if s.kind == "papers"]
    replies = [s for s in outcome.sent if s.kind == "reply"]
    acks = [s.ack * 1000 for s in outcome.sent]
    busy = sum(1 for s in papers if b"busy" in s.body)
    once = sum(1 for s in papers if outcome.answers.get(s.response_url, 0) == 1)
    twice = sum(1 for s in papers if outcome.answers.get(s.response_url, 0) > 1)
    unanswered = sum(1 for s in papers if outcome.answers.get(s.response_url, 0) == 0 and b"busy" not in s.body)
    data = {
        "scenario": outcome.name,
        "requests": len(outcome.sent),
        "papers": len(papers),
        "replies": len(replies),
        "sent_in_s": round(outcome.seconds, 1),
        "ack_p50_ms": round(statistics.median(acks), 1),
        "ack_p95_ms": round(percentile(acks, 0.95), 1),
        "ack_max_ms": round(max(acks), 1),
        "acks_3s_or_more": sum(1 for a in acks if a >= SLACK_DEADLINE * 1000),
        "not_200": sum(1 for s in outcome.sent if s.status != 200),
        "answered_once": once,
        "answered_twice_or_more": twice,
        "busy": busy,
        "unanswered": unanswered,
        "answer_p50_ms": round(statistics.median(outcome.answer_times) * 1000, 1) if outcome.answer_times else None,
        "answer_p95_ms": round(percentile(outcome.answer_times, 0.95) * 1000, 1) if outcome.answer_times else None,
        "answer_max_ms": round(max(outcome.answer_times) * 1000, 1) if outcome.answer_times else None,
    }
    if outcome.replies_counted is not None:
        data["replies_counted"] = outcome.replies_counted
    return data


def load(args: argparse.Namespace) -> int:
    texts = queries()
    cores = sorted(os.sched_getaffinity(0))
    bot_core = cores[-1]
    if len(cores) > 1:
        os.sched_setaffinity(0, set(cores[:-1]))
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="digest-bench-load-") as tmp:
        archive = args.big or make_archive(args.papers, Path(tmp))
        store = Path(tmp) / "store.sqlite3"
        env = {**os.environ, "PYTHONPATH": str(args.bot_src), "PYTHONDONTWRITEBYTECODE": "1",
               "DIGEST_DB_URL": f"sqlite:///{store}"}
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "bot", "index", "--archive", str(archive), "--json"],
                       env=env, cwd=tmp, check=True, stdout=subprocess.DEVNULL)
        print(f"indexed {archive} in {time.perf_counter() - started:.1f} s", flush=True)
        with FakeSlack() as fake:
            threads = post_a_week(store, archive, fake, args.bot_src)
            fake.latency(args.response_ms / 1000, "response_url")
            import socket

            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            bot = LiveBot(store=store, archive=archive, fake=fake, port=port, src=args.bot_src, core=bot_core)
            try:
                for text in texts[:5]:  # warm up
                    _send_papers(bot, fake, text)
                time.sleep(2)
                wanted = args.scenarios.split(",")
                if "burst" in wanted:
                    results.append(report(burst(bot, fake, texts, args.burst)))
                    print(json.dumps(results[-1]), flush=True)
                if "rate" in wanted:
                    outcome = sustained(bot, fake, texts, args.rate, args.seconds,
                                        name=f"{args.rate:g} req/s for {args.seconds:g} s")
                    results.append(report(outcome))
                    print(json.dumps(results[-1]), flush=True)
                if "lock" in wanted:
                    before = replies_counted(store)
                    holder = hold_write_lock(store, args.lock_seconds)
                    outcome = sustained(bot, fake, texts, args.rate, args.lock_seconds,
                                        name=f"{args.rate:g} req/s for {args.lock_seconds:g} s, write lock held elsewhere",
                                        threads=threads)
                    holder.wait()
                    sent_replies = sum(1 for s in outcome.sent if s.kind == "reply")
                    deadline = time.monotonic() + 60
                    while replies_counted(store) - before < sent_replies and time.monotonic() < deadline:
                        time.sleep(0.2)
                    outcome.replies_counted = replies_counted(store) - before
                    results.append(report(outcome))
                    print(json.dumps(results[-1]), flush=True)
            finally:
                bot.stop()
    print(f"\nbot: {args.bot_src} on core {bot_core}; response_url answers after {args.response_ms} ms")
    header = f"{'scenario':<58}{'ack p50':>9}{'p95':>8}{'max':>8}{'>=3s':>6}{'once':>6}{'2+':>4}{'busy':>6}{'none':>6}{'ans p50':>9}{'p95':>8}"
    print(header)
    for r in results:
        print(
            f"{r['scenario']:<58}{r['ack_p50_ms']:>9.0f}{r['ack_p95_ms']:>8.0f}{r['ack_max_ms']:>8.0f}"
            f"{r['acks_3s_or_more']:>6}{r['answered_once']:>6}{r['answered_twice_or_more']:>4}{r['busy']:>6}"
            f"{r['unanswered']:>6}{r['answer_p50_ms'] or 0:>9.0f}{r['answer_p95_ms'] or 0:>8.0f}"
            + (f"   replies counted {r['replies_counted']}/{r['replies']}" if "replies_counted" in r else "")
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", nargs="?", choices=("answers", "load"), default="answers")
    ap.add_argument("--big", type=Path, help="an existing archive (else one is generated)")
    ap.add_argument("--papers", type=int, default=100_000, help="papers in the generated archive")
    ap.add_argument("--requests", type=int, default=200, help="answers: requests sent one by one")
    ap.add_argument("--response-ms", type=float, default=300.0, help="load: the response_url's latency")
    ap.add_argument("--burst", type=int, default=200, help="load: requests sent at once")
    ap.add_argument("--rate", type=float, default=20.0, help="load: requests per second")
    ap.add_argument("--seconds", type=float, default=60.0, help="load: how long the rate is kept up")
    ap.add_argument("--lock-seconds", type=float, default=20.0, help="load: how long the lock is held")
    ap.add_argument("--scenarios", default="burst,rate,lock", help="load: which of burst,rate,lock")
    ap.add_argument("--bot-src", type=Path, default=PROJECT, help="load: the source tree the bot runs from")
    ap.add_argument("--json", type=Path, help="load: also write the figures here")
    args = ap.parse_args()
    if args.mode == "answers":
        if hasattr(os, "sched_setaffinity"):
            os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        return answers(args)
    return load(args)


if __name__ == "__main__":
    sys.exit(main())
