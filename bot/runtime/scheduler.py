"""When the weekly job runs: APScheduler 3 wiring only.

The job itself (`bot.weekly.job`) is a plain function of the store, the
archive, the Slack client and the time; this module only decides *when* to
call it. How a crontab expression is read and which weeks are due are pure
rules in `bot.weekly.schedule`, which the settings and the publisher read
without importing the scheduler.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.weekly.schedule import cron_trigger

log = logging.getLogger(__name__)

#: APScheduler's own INFO lines ("Added job", "Running job … next run at 2026-12-06 22:25:40")
#: name the catch-up run and the re-read interval as "next run", contradicting the bot's own
#: line about the next posting run; the bot logs what its jobs do itself. Its warnings and
#: errors (a missed run, a job that raised) still show. A level set by the user is kept.
_apscheduler_log = logging.getLogger("apscheduler")
if _apscheduler_log.level == logging.NOTSET:
    _apscheduler_log.setLevel(logging.WARNING)

#: The stable id of the weekly job: a restart replaces it instead of adding a twin.
JOB_ID = "digest-bot-weekly-post"
#: The stable id of the periodic archive re-read (lookups between posting days).
SYNC_JOB_ID = "digest-bot-archive-sync"
#: The stable id of the weekly recap on its own schedule (DIGEST_RECAP_SCHEDULE).
RECAP_JOB_ID = "digest-bot-recap"
#: The dense vectors' refresh (DIGEST_DENSE).
DENSE_JOB_ID = "digest-bot-dense-refresh"
#: The stable id of a one-off re-run after a run that could not finish (at most one waits).
RETRY_JOB_ID = "digest-bot-retry"
#: How long a run that found a channel busy or Slack unreachable waits before trying
#: again: longer than a lease lives, so a dead replica's digest is free by then.
RETRY_DELAY = dt.timedelta(minutes=11)
#: A run that could not start on time (the process was busy or asleep) still
#: runs if it is at most this late; beyond that the next start-up catch-up covers it.
MISFIRE_GRACE = dt.timedelta(hours=12)
#: How every job of the bot runs: one instance at a time, missed runs coalesced into one,
#: late by up to MISFIRE_GRACE, and a job added again replaces the one of its id.
_ONE_AT_A_TIME: dict[str, Any] = {
    "replace_existing": True,
    "coalesce": True,
    "max_instances": 1,
    "misfire_grace_time": int(MISFIRE_GRACE.total_seconds()),
}


def build_scheduler(
    job: Callable[[], Any],
    *,
    schedule: str,
    timezone: ZoneInfo,
    now: dt.datetime | None = None,
    catch_up: bool = True,
) -> BackgroundScheduler:
    """A (not yet started) scheduler with the weekly job.

    The one job has a stable id and `replace_existing`, `coalesce` (a backlog
    of missed runs is one run) and `max_instances=1` (a slow run is never
    overlapped by the next). With `catch_up` its first run is at start-up
    (`now`, default: the moment the scheduler starts) so a bot that was down on
    posting day posts when it returns; the job posts only what is due, so an
    extra run is harmless.
    """
    scheduler = BackgroundScheduler(timezone=timezone)
    trigger = cron_trigger(schedule, timezone)
    options: dict[str, Any] = {}
    if catch_up:
        options["next_run_time"] = (now or dt.datetime.now(dt.UTC)).astimezone(timezone)
    scheduler.add_job(
        _logged(job),
        trigger,
        id=JOB_ID,
        name="post due digests",
        **_ONE_AT_A_TIME,
        **options,
    )
    return scheduler


def add_archive_sync(scheduler: BackgroundScheduler, job: Callable[[], Any], *, minutes: int) -> None:
    """Re-read the archive every `minutes`, so lookups see papers added between posting days.

    The current week's file grows daily in a real archive; an unchanged
    archive costs a stat per file, so a short interval is cheap.
    """
    _every(scheduler, _logged(job, "the archive sync"), SYNC_JOB_ID, "re-read the archive", minutes)


def add_dense_refresh(scheduler: BackgroundScheduler, job: Callable[[], Any], *, minutes: int) -> None:
    """Embed new or changed papers (DIGEST_DENSE) at start and every `minutes` after: an
    unchanged archive costs a hash per paper; until a paper is embedded, questions are
    answered by the search alone."""
    _every(scheduler, _logged(job, "the dense vectors' refresh"), DENSE_JOB_ID, "embed new papers", minutes,
           next_run_time=dt.datetime.now(dt.UTC))


def _every(
    scheduler: BackgroundScheduler, job: Callable[[], Any], job_id: str, name: str, minutes: int, **options: Any
) -> None:
    """A job every `minutes`, one at a time, a missed run done once late rather than piled up."""
    scheduler.add_job(
        job,
        IntervalTrigger(minutes=minutes),
        id=job_id,
        name=name,
        replace_existing=True,
        coalesce=True,
        max_instances=1,
        misfire_grace_time=minutes * 60,
        **options,
    )


def add_recap(scheduler: BackgroundScheduler, job: Callable[[], Any], *, schedule: str, timezone: ZoneInfo) -> None:
    """The weekly recap on its own crontab schedule (DIGEST_RECAP_SCHEDULE), in `timezone`."""
    scheduler.add_job(
        _logged(job, "the recap job"),
        cron_trigger(schedule, timezone),
        id=RECAP_JOB_ID,
        name="post the weekly recaps",
        **_ONE_AT_A_TIME,
    )


def schedule_retry(scheduler: BackgroundScheduler, job: Callable[[], Any], *, at: dt.datetime) -> None:
    """Run `job` once more at `at` (replacing a retry already waiting)."""
    scheduler.add_job(
        _logged(job),
        DateTrigger(at),
        id=RETRY_JOB_ID,
        name="post what the last run could not",
        **_ONE_AT_A_TIME,
    )


def _logged(job: Callable[[], Any], what: str = "the weekly posting job") -> Callable[[], Any]:
    """Never let an exception reach the scheduler thread unlogged."""

    def run() -> Any:
        try:
            return job()
        except Exception:
            log.exception("%s failed; it runs again at the next scheduled time", what)
            return None

    run.__name__ = getattr(job, "__name__", "weekly_job")
    run.__qualname__ = run.__name__
    return run
