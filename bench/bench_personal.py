"""The personal layer at scale: the weekly DM pass and the Home tab over a 100,000-paper store.

    python3 /work/shared/tools/make_archive.py --papers 100000 --out /tmp/archive-100k
    # index it once: DIGEST_DB_URL=sqlite:////tmp/s100k/store.sqlite3 digest-bot index --archive /tmp/archive-100k
    taskset -c 1 python bench/bench_personal.py --store /tmp/s100k/store.sqlite3 --index /tmp/s100k/idx

The store and its search index are copied to a work folder first (the originals
stay untouched). Then:

- **DM pass**: `--users` people (default 1,000) with `--follows` follows each
  (default 5, drawn from a pool of words, authors, topics and categories found
  in the archive, so many people share a follow, as in a real team), the
  week with the most papers posted in a channel (one post row per paper, so every DM links
  threads). Timed: the matching and rendering of every DM alone (the bot's own
  work), and the whole pass against a local fake Slack with no pacing (store
  writes and local HTTP included, Slack's 1-per-second pace left out).
- **Home tab**: `--renders` renders (default 200) for people with 5 follows and
  20 saved papers, and for a heavy user (50 follows, 500 saved papers): p50,
  p95, max in ms, each view checked against the view limits.

Prints one line per figure (and `--json` writes them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select

from bot.engagement import discussion
from bot.lookup import Lookup
from bot.personal import follows, records
from bot.personal.answers import PersonalLookup
from bot.render.weekly_dm import PER_FOLLOW, FollowGroup, weekly_dm
from bot.search import LiveSearch
from bot.slack.client import posting_client
from bot.store import Catalog, open_engine
from bot.store.marks import digest_marks
from bot.store.personal import follows as follows_table
from bot.store.posts import posts
from bot.weekly.dms import send_weekly_dms

NOW = dt.datetime.now(dt.UTC)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def query_pool(catalog: Catalog, week: dt.date, rng: random.Random) -> list[str]:
    """Follows people would write: words of this week's titles, its authors, topics, categories."""
    pool: list[str] = [f"topic:{t.topic.slug}" for t in catalog.topics()]
    papers = [p for d in catalog.digests(week=week, with_papers=True) for p in d.papers]
    for paper in rng.sample(papers, min(len(papers), 300)):
        words = [w for w in paper.title.split() if len(w) > 4 and w.isalpha()]
        if len(words) >= 2:
            pool.append(" ".join(rng.sample(words, 2)))
        if paper.authors:
            pool.append(f'author:"{paper.authors[0]}"')
        if paper.categories:
            pool.append(f"cat:{paper.categories[0]}")
    return list(dict.fromkeys(pool))


def setup(store: Path, index: Path, work: Path, users: int, per_user: int, seed: int) -> dict[str, Any]:
    shutil.copy(store, work / "store.sqlite3")
    shutil.copytree(index, work / "idx")
    engine = open_engine(f"sqlite:///{work / 'store.sqlite3'}")  # migrates the copy to the newest schema
    catalog = Catalog(engine)
    started = time.perf_counter()
    search = LiveSearch(catalog, index_dir=work / "idx").engine()
    opened = time.perf_counter() - started
    # The week with the most papers: the heaviest pass (the newest week of a generated archive may be short).
    week = max(catalog.weeks(), key=lambda w: (w.papers, w.week_start)).week_start
    rng = random.Random(seed)
    pool = query_pool(catalog, week, rng)
    rows = []
    for u in range(users):
        for query in rng.sample(pool, per_user):
            made = follows.follow_query(query)
            if made is not None:
                rows.append({"user_id": f"U{u:06d}", "query": made.text, "query_key": records.query_key(made.text), "created_at": NOW})
    ids = [p.arxiv_id for d in catalog.digests(week=week, with_papers=True) for p in d.papers]
    with engine.begin() as conn:
        conn.execute(insert(follows_table).prefix_with("OR IGNORE"), rows)
        conn.execute(insert(digest_marks).values(channel="C0SD", slug="all", week_start=week, state="posted", origin="schedule", updated_at=NOW))
        conn.execute(insert(posts), [
            {"channel": "C0SD", "post_key": f"paper:{a}", "kind": "paper", "slug": "all", "week_start": week, "arxiv_id": a,
             "state": "posted", "ts": f"1737000000.{i:06d}", "permalink": f"https://fake.slack.com/archives/C0SD/p1737000000{i:06d}",
             "attempts": 1, "created_at": NOW, "attempted_at": NOW, "posted_at": NOW, "updated_at": NOW}
            for i, a in enumerate(dict.fromkeys(ids))
        ])
        follows_made = len(list(conn.execute(select(follows_table.c.id))))
    return {"engine": engine, "catalog": catalog, "search": search, "week": week, "pool": pool, "follows": follows_made,
            "open_s": opened, "week_papers": len(set(ids))}


def time_matching(ctx: dict[str, Any]) -> tuple[float, int]:
    """Matching + rendering every person's DM (what the pass computes before any Slack call)."""
    engine, search, week = ctx["engine"], ctx["search"], ctx["week"]
    started = time.perf_counter()
    cache: dict[str, FollowGroup] = {}
    dms = 0
    for user in records.followers(engine):  # who; each one's follows read as the pass reads them
        mine = records.dm_follows(engine, user)
        groups = []
        for f in mine:
            group = cache.get(f.query)
            if group is None:
                response = follows.week_matches(search, f.query, week, limit=PER_FOLLOW * 2)
                group = cache[f.query] = FollowGroup(f.query, tuple(h.paper for h in response.hits), response.total)
            if group.papers:
                groups.append(group)
        if groups:
            ids = list(dict.fromkeys(p.arxiv_id for g in groups for p in g.papers))
            if weekly_dm(week, groups, threads=discussion.threads_for(engine, ids)) is not None:
                dms += 1
    return time.perf_counter() - started, dms


def time_pass(ctx: dict[str, Any]) -> tuple[float, Any]:
    from tests.support.fake_slack import FakeSlack

    users = {u: u.lower() for u in records.followers(ctx["engine"])}
    with FakeSlack(users={**users, "U0BOT": "digest-bot"}) as fake:
        client = posting_client("xoxb-test", fake.api_url)
        started = time.perf_counter()
        report = send_weekly_dms(ctx["engine"], client, ctx["search"], now=NOW, weeks=[ctx["week"]], min_interval=0, sleep=lambda s: None)
        return time.perf_counter() - started, report


def time_home(ctx: dict[str, Any], renders: int, seed: int) -> dict[str, Any]:
    from tests.support.fake_slack import validate_view

    engine, catalog = ctx["engine"], ctx["catalog"]
    live = LiveSearch(catalog, index_dir=Path(ctx["engine"].url.database).parent / "idx")
    lookup = Lookup(catalog, live, engine, now=lambda: NOW)
    people = PersonalLookup(lookup)
    rng = random.Random(seed)
    every = _sample_ids(engine, 5000, rng)
    typical = [f"U{u:06d}" for u in range(min(renders, 200))]
    for user in typical:
        for i, a in enumerate(rng.sample(every, 20)):
            records.save_paper(engine, user, a, now=NOW - dt.timedelta(minutes=i))
        records.set_home_seen(engine, user, now=NOW - dt.timedelta(days=10))
    heavy = "UHEAVY"
    for query in rng.sample(ctx["pool"], 50):
        made = follows.follow_query(query)
        if made is not None:
            records.add_follow(engine, heavy, made.text, now=NOW)
    for i, a in enumerate(rng.sample(every, 500)):
        records.save_paper(engine, heavy, a, now=NOW - dt.timedelta(minutes=i))
    people.home(typical[0])  # warm the caches once
    figures: dict[str, Any] = {}
    for name, users in (("typical", typical), ("heavy", [heavy] * max(renders // 4, 20))):
        times = []
        for i in range(renders):
            user = users[i % len(users)]
            started = time.perf_counter()
            view = people.home(user)
            times.append((time.perf_counter() - started) * 1000)
            validate_view(view)
        figures[name] = {"p50_ms": round(statistics.median(times), 1), "p95_ms": round(percentile(times, 0.95), 1),
                         "max_ms": round(max(times), 1), "renders": renders, "blocks": len(view["blocks"])}
    return figures


def _sample_ids(engine: Any, n: int, rng: random.Random) -> list[str]:
    from bot.store.schema import papers

    with engine.connect() as conn:
        ids = list(conn.scalars(select(papers.c.arxiv_id)))
    return rng.sample(ids, min(n, len(ids)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="an indexed SQLite store (copied first)")
    parser.add_argument("--index", type=Path, required=True, help="its search index folder (copied first)")
    parser.add_argument("--work", type=Path, default=None, help="where the copies go (default: a temporary folder)")
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--follows", type=int, default=5)
    parser.add_argument("--renders", type=int, default=200)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-personal-"))
    work.mkdir(parents=True, exist_ok=True)
    ctx = setup(args.store, args.index, work, args.users, args.follows, args.seed)
    papers = ctx["catalog"].count_papers()
    print(f"store: {papers:,} papers; DM week {ctx['week']} ({ctx['week_papers']:,} papers); "
          f"{ctx['follows']:,} follows of {args.users:,} people from a pool of {len(ctx['pool']):,} queries; index opened in {ctx['open_s']:.2f} s")
    matching, dms = time_matching(ctx)
    print(f"DM pass, matching + rendering only: {matching:.2f} s for {args.users:,} people ({dms:,} with a DM)")
    whole, report = time_pass(ctx)
    print(f"DM pass, whole (store writes, local fake Slack, no pacing): {whole:.2f} s; sent {report.sent:,}, nothing to say {report.nothing:,}")
    home = time_home(ctx, args.renders, args.seed)
    for name, figure in home.items():
        print(f"Home tab ({name}): p50 {figure['p50_ms']} ms, p95 {figure['p95_ms']} ms, max {figure['max_ms']} ms over {figure['renders']} renders, {figure['blocks']} blocks")
    if args.json:
        args.json.write_text(json.dumps({"papers": papers, "users": args.users, "follows": ctx["follows"], "matching_s": round(matching, 2),
                                         "dms": dms, "pass_s": round(whole, 2), "sent": report.sent, "home": home}, indent=2))


if __name__ == "__main__":
    main()
