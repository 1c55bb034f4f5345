#!/usr/bin/env python3
"""The store on PostgreSQL beside SQLite: archive sync, posting and lookups.

    python bench/bench_store_backends.py [--pg-url URL] [--archive DIR] [--repeat 5]

`--pg-url` is an admin URL (`postgresql+psycopg://user@host/postgres`): each
case gets a database of its own, dropped afterwards. Without it, a throwaway
cluster is started from the PostgreSQL server binaries when they are installed
(`tests/support/pg_cluster.py`, as `.ci/run` does; durability off, so writes
are faster than on a production server), else only SQLite is measured. The
archive is the real one (`../shared/archive` or DIGEST_TEST_ARCHIVE) when
present, else the example archive.

What is measured, one process, one core, the median of `--repeat` runs:

- sync: the archive indexed into an empty store (cold), then again unchanged;
- posting: the newest week of every topic, one channel per topic, through the
  publisher and the real posting client to a local FakeSlack with pacing off,
  in ms per message (render, intent/ts/permalink writes, two HTTP round trips);
- lookups: `Catalog.paper` by id, `Catalog.digests(with_papers=True)` (every
  digest with its papers), `changes_since` the current version (what each
  replica's search index asks before each lookup), `iter_papers` full scan.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from sqlalchemy import Engine, create_engine

from bot.config import load_settings
from bot.model import AGGREGATE_SLUG
from bot.slack.client import posting_client
from bot.store import Catalog, open_engine, sync_archive
from bot.store.database import database_url
from tests.conftest import EXAMPLE_ARCHIVE, real_archive_path
from tests.support import pg_cluster
from tests.support.clock import FakeClock
from tests.support.fake_slack import BOT_TOKEN, FakeSlack
from tests.support.publishing import publish

Stores = Callable[[], contextlib.AbstractContextManager[Engine]]


@contextlib.contextmanager
def sqlite_store() -> Iterator[Engine]:
    with tempfile.TemporaryDirectory() as tmp:
        engine = open_engine(f"sqlite:///{tmp}/store.sqlite3")
        try:
            yield engine
        finally:
            engine.dispose()


def pg_stores(admin_url: str) -> Stores:
    admin = create_engine(database_url(admin_url), isolation_level="AUTOCOMMIT")

    @contextlib.contextmanager
    def store() -> Iterator[Engine]:
        name = f"digest_bench_{secrets.token_hex(4)}"
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine = open_engine(admin.url.set(database=name).render_as_string(hide_password=False))
        try:
            yield engine
        finally:
            engine.dispose()
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE "{name}" WITH (FORCE)')

    return store


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started



def run_once(stores: Stores, archive: Path) -> dict[str, float]:
    """Every figure, on one fresh store."""
    figures: dict[str, float] = {}
    with stores() as engine:
        figures["sync cold (s)"] = timed(lambda: sync_archive(engine, archive))
        figures["sync unchanged (ms)"] = 1000 * timed(lambda: sync_archive(engine, archive))
        catalog = Catalog(engine)
        ids = [p.arxiv_id for p in catalog.iter_papers()]
        sample = random.Random(7).sample(ids, min(300, len(ids)))
        figures["paper by id (ms)"] = (
            1000 * timed(lambda: [catalog.paper(i) for i in sample]) / len(sample)
        )
        figures["digests with papers (ms)"] = 1000 * timed(
            lambda: catalog.digests(with_papers=True)
        )
        version = catalog.version()
        figures["changes_since, none (ms)"] = (
            1000 * timed(lambda: [catalog.changes_since(version) for _ in range(300)]) / 300
        )
        figures["iter_papers scan (ms)"] = 1000 * timed(
            lambda: sum(1 for _ in catalog.iter_papers())
        )
        figures["posting (ms/message)"] = post_newest_weeks(engine, catalog)
    return figures


def post_newest_weeks(engine: Engine, catalog: Catalog) -> float:
    slugs = [s.topic.slug for s in catalog.topics() if s.topic.slug != AGGREGATE_SLUG]
    last_end = max(d.week_end for d in catalog.digests())
    now = dt.datetime.combine(last_end + dt.timedelta(days=1), dt.time(9), tzinfo=dt.UTC)
    channels = {f"C0{s.upper().replace('-', '')}": s for s in slugs}
    settings = load_settings(
        None, DIGEST_CHANNELS=",".join(f"{s}={c}" for c, s in channels.items())
    )
    with FakeSlack(channels=channels) as fake:
        clock = FakeClock(start=0.0)
        client = posting_client(BOT_TOKEN, fake.api_url)
        started = time.perf_counter()
        report = publish(engine, client, settings, now, sleep=clock.sleep, monotonic=clock.monotonic)
        seconds = time.perf_counter() - started
        assert report.ok, report.errors
        messages = sum(len(fake.messages(c)) for c in channels)
    return 1000 * seconds / max(messages, 1)


def measure(stores: Stores, archive: Path, repeat: int) -> dict[str, float]:
    runs = [run_once(stores, archive) for _ in range(repeat)]
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--pg-url", default=None, help="PostgreSQL admin URL (default: a throwaway cluster)."
    )
    parser.add_argument(
        "--archive",
        type=Path,
        default=None,
        help="Archive (default: the real one, else the example).",
    )
    parser.add_argument(
        "--repeat", type=int, default=5, help="Runs per backend; the median is shown."
    )
    args = parser.parse_args()
    archive = args.archive or real_archive_path() or EXAMPLE_ARCHIVE
    print(f"archive: {archive}")
    results = {"SQLite": measure(sqlite_store, archive, args.repeat)}
    with contextlib.ExitStack() as stack:
        pg_url = args.pg_url
        if pg_url is None and pg_cluster.bindir() is not None:
            pg_url = stack.enter_context(pg_cluster.TemporaryCluster())
            print("PostgreSQL: a throwaway local cluster (unix socket, fsync off)")
        if pg_url is None:
            print("PostgreSQL: not measured (give --pg-url, or install the server binaries)")
        else:
            results["PostgreSQL"] = measure(pg_stores(pg_url), archive, args.repeat)
    names = list(results)
    print()
    print("| operation | " + " | ".join(names) + " |")
    print("| --- | " + " | ".join("---:" for _ in names) + " |")
    for key in results["SQLite"]:
        cells = [
            f"{results[name][key]:.3f}" if results[name][key] < 1 else f"{results[name][key]:.1f}"
            for name in names
        ]
        print(f"| {key} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
