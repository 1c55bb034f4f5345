"""Assemble a running bot from settings: store, search, answers (and the asker), Slack app, scheduler.

`digest-bot run` and the end-to-end tests build the bot the same way, so the
tests exercise exactly what a team runs. Each piece is still injectable.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from slack_bolt import App
from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from bot.ask.asker import Asker, dense_side, model_settings
from bot.ask.llm import ModelWriter
from bot.config import Settings
from bot.lookup import Lookup
from bot.runtime.archive_source import ArchiveSource
from bot.runtime.scheduler import (
    RETRY_DELAY,
    add_archive_sync,
    add_dense_refresh,
    add_recap,
    build_scheduler,
    schedule_retry,
)
from bot.search import LiveSearch
from bot.slack.app import build_app
from bot.slack.client import posting_client, web_client
from bot.slack.flood import QuestionLimit
from bot.slack.work import Workers
from bot.store import Catalog
from bot.store.errors import describe
from bot.store.health import StoreLost, StoreWatch
from bot.weekly.dms import DmReport, send_weekly_dms
from bot.weekly.job import JobReport, RecapNotes, make_weekly_job, resync, run_recap_job

log = logging.getLogger(__name__)

#: How often (minutes) the dense vectors are refreshed when the archive is not re-read on a timer.
DENSE_MINUTES = 60


@dataclass(slots=True)
class Bot:
    """The parts of a running bot that answer lookups (no Slack connection needed)."""

    settings: Settings
    engine: Engine
    catalog: Catalog
    search: LiveSearch
    lookup: Lookup
    asker: Asker

    def close(self) -> None:
        """Let go of what the bot holds beyond the store: the language model's client and threads."""
        writer = self.asker.writer
        if isinstance(writer, ModelWriter):
            writer.close()


def assemble(
    settings: Settings,
    engine: Engine,
    *,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    search_refresh: float = 1.0,
) -> Bot:
    """Lookups over the store; the search index follows the store's version.

    `search_refresh` bounds how often (seconds) a lookup checks whether another
    process changed the archive index.
    """
    catalog = Catalog(engine)
    search = LiveSearch(catalog, index_dir=settings.search_index_dir, min_interval=search_refresh)
    tz = settings.tz
    configured = model_settings(settings)
    asker = Asker(
        search.engine, engine, writer=ModelWriter(configured) if configured is not None else None,
        dense=dense_side(settings),
    )
    lookup = Lookup(
        catalog,
        search,
        engine,
        lang=settings.lang,
        today=lambda: now().astimezone(tz).date(),
        now=now,
        asker=asker,
    )
    return Bot(settings, engine, catalog, search, lookup, asker)


def start_workers(settings: Settings) -> Workers:
    """The queues and threads that do the work after each acknowledgement."""
    return Workers.start(answer_workers=settings.answer_workers, answer_queue=settings.queue_limit)


def slack_app(
    bot: Bot, client: WebClient, *, bot_user_id: str | None, workers: Workers | None = None
) -> App:
    """The Bolt app: HTTP mode verifies signatures, Socket Mode needs none.

    `workers` (default: `start_workers(settings)`) answer, deliver and write
    after each acknowledgement; pass them in to read their stats (`/healthz`).
    """
    settings = bot.settings
    secret = None if settings.slack_app_token else settings.slack_signing_secret
    return build_app(
        lookup=bot.lookup,
        asker=bot.asker,
        engine=bot.engine,
        client=client,
        signing_secret=secret,
        bot_user_id=bot_user_id,
        lang=settings.lang,
        workers=workers if workers is not None else start_workers(settings),
        questions=QuestionLimit(settings.questions_per_minute),
    )


def health(bot: Bot, workers: Workers, watch: StoreWatch | None = None) -> Callable[[], dict[str, Any]]:
    """What `/healthz` reports: the store's health (file, read, write), the papers served
    and how the work queues are doing. `status` is "ok" only when the store can serve."""
    store_watch = watch if watch is not None else StoreWatch(bot.engine)

    def details() -> dict[str, Any]:
        store = store_watch.probe()
        data: dict[str, Any] = {"status": "ok" if store.ok else "error", "store": store.as_dict()}
        if store.ok:
            try:
                data["papers"] = bot.catalog.count_papers()
            except (DBAPIError, StoreLost) as err:
                data.update(status="error", store={**data["store"], "ok": False, "problem": describe(err)})
        data["queues"] = workers.stats()
        return data

    return details


def lookup_client(settings: Settings) -> WebClient:
    return web_client(settings.slack_bot_token, settings.slack_api_url)


def background_jobs(
    bot: Bot,
    archive: Path | ArchiveSource,
    *,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    sleep: Callable[[float], None] = time.sleep,
) -> BackgroundScheduler:
    """The posting schedule (when a channel is configured) and the periodic archive re-read.

    Both fetch a git archive first (`bot.runtime.archive_source`). `clock` is the
    weekly job's "now" and `sleep` its pacing between posts (tests call the
    jobs' functions directly, with a fixed clock and no waiting).
    """
    settings = bot.settings
    if settings.channel or settings.channels:
        client = posting_client(settings.slack_bot_token, settings.slack_api_url)

        def dms(now: dt.datetime) -> DmReport:
            return send_weekly_dms(bot.engine, client, bot.search.engine(), now=now, lang=settings.lang, sleep=sleep)

        said: RecapNotes = set()  # a week too old for a recap is said once, by either job
        weekly = make_weekly_job(
            bot.engine, archive, client, settings, clock=clock, sleep=sleep, dms=dms, recap_notes=said
        )

        def job() -> JobReport:
            # A channel another replica held (it may have died), or Slack out of
            # reach: try again soon rather than at next week's run.
            report = weekly()
            if report.worth_retrying:
                schedule_retry(scheduler, job, at=dt.datetime.now(dt.UTC) + RETRY_DELAY)
            return report

        scheduler = build_scheduler(job, schedule=settings.schedule, timezone=settings.tz)
        if settings.recap_schedule not in ("", "off"):
            add_recap(
                scheduler,
                lambda: run_recap_job(bot.engine, client, clock(), settings, recap_notes=said, sleep=sleep),
                schedule=settings.recap_schedule,
                timezone=settings.tz,
            )
    else:
        log.warning("no DIGEST_CHANNEL or DIGEST_CHANNELS: answering lookups only, posting nothing")
        scheduler = BackgroundScheduler(timezone=settings.tz)
    if settings.sync_minutes:
        add_archive_sync(scheduler, lambda: resync(bot.engine, archive), minutes=settings.sync_minutes)
    dense = bot.asker.dense
    if dense is not None:
        add_dense_refresh(
            scheduler,
            lambda: dense.refresh(bot.catalog.iter_papers(), limit=settings.dense_max_papers),
            minutes=settings.sync_minutes or DENSE_MINUTES,
        )
    return scheduler
