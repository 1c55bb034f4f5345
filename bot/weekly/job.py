"""The scheduled job: fetch and read the archive again (incrementally), post what is due,
then send the weekly DMs of the weeks posted (`bot.weekly.dms`).

A plain function of (store, archive, Slack client, now, settings), so tests run
it with a fixed clock; `make_weekly_job` binds it to the real clock for the
scheduler. It never raises: a failure is logged and reported, and the
scheduler thread lives on to the next run.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from bot.config import Settings
from bot.progress import ProgressLines
from bot.publisher import PublishReport, RunClock, RunHooks, SlackCalls, publish_due
from bot.publisher.recap import MAX_AGE, RecapReport, post_recaps
from bot.runtime.archive_source import ArchiveSource, as_source, posting_refusal, sync_source
from bot.store.errors import StoreError, describe
from bot.store.sync import ArchiveMismatch, SyncReport
from bot.weekly.dms import DmReport

#: The DM pass, bound to its store, client and search: called with the run's `now`.
DmPass = Callable[[dt.datetime], DmReport]

log = logging.getLogger(__name__)

#: Channel stops that a later run can overcome without anyone doing anything.
TRANSIENT_ERRORS = frozenset({"unreachable", "ratelimited", "lease_lost"})


@dataclass(slots=True)
class JobReport:
    """What one run of the weekly job did; `error` is set when it failed."""

    sync: SyncReport | None = None
    publish: PublishReport | None = None
    recap: RecapReport | None = None
    dms: DmReport | None = None
    error: str | None = None
    refused: str | None = None  # why nothing was posted (the wrong archive): not retried

    @property
    def ok(self) -> bool:
        return self.error is None and self.refused is None and (self.publish is None or self.publish.ok)

    @property
    def worth_retrying(self) -> bool:
        """Left undone for a reason that passes: a channel another process held,
        Slack unreachable or rate limiting, a lost lease, or a failed run."""
        if self.error is not None:
            return True
        if self.recap is not None and self.recap.worth_retrying:
            return True
        if self.publish is None:
            return False
        if self.dms is not None and (self.dms.busy or self.dms.error):
            return True
        return any(
            channel.busy or channel.error in TRANSIENT_ERRORS for channel in self.publish.channels.values()
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "error": self.error,
            "refused": self.refused,
            "sync": self.sync.as_dict() if self.sync else None,
            "publish": self.publish.as_dict() if self.publish else None,
            "recap": self.recap.as_dict() if self.recap else None,
            "dms": self.dms.as_dict() if self.dms else None,
        }


def resync(engine: Engine, archive: Path | ArchiveSource) -> SyncReport | None:
    """Fetch a git archive, then re-read the archive into the store, as every replica does.

    A single store follows the configured archive; a replica of a shared
    store whose archive is not the store's must not sync (that would
    re-target the index every replica serves): it logs why, once per attempt
    and without a traceback, and None says the stored index stays. A failed
    fetch is logged (`bot.archive_source`) and the last good checkout read.
    """
    try:
        return sync_source(engine, as_source(archive), fetch=True).report
    except ArchiveMismatch as err:
        log.error("not re-reading the archive: %s", err)
        return None


#: (channel, week) pairs whose missing recap was already explained: said once per process.
RecapNotes = set[tuple[str, dt.date]]


def explain_missing_recaps(recap: RecapReport | None, said: RecapNotes) -> None:
    """Say once, in the log, which week got no recap because it is too old, and why.

    Without it the 14-day limit (`bot.publisher.recap.MAX_AGE`) showed only in
    `digest-bot recap`'s answer: a bot started on an archive whose newest week
    ended weeks ago posted its digests and, silently, no recap.
    """
    if recap is None:
        return
    for channel in recap.channels:
        week = channel.too_old
        if week is None or (channel.channel, week) in said:
            continue
        said.add((channel.channel, week))
        log.warning(
            "no weekly recap in %s: the newest digest week that has ended (the week of %s) ended over %d "
            "days ago, and a recap is posted only for a week that ended within %d days (a bot back from "
            "weeks away does not recap what it missed); `digest-bot recap --week %s` posts it anyway",
            channel.channel,
            week,
            MAX_AGE.days,
            MAX_AGE.days,
            week,
        )


def run_weekly(
    engine: Engine,
    archive: Path | ArchiveSource,
    client: WebClient,
    now: dt.datetime,
    settings: Settings,
    dms: DmPass | None = None,
    *,
    recap_notes: RecapNotes | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> JobReport:
    """Fetch and sync the archive into the store, publish what is due at `now`, then
    (with `dms`) send the weekly DMs of the weeks posted.

    Nothing is posted from an index that is not the configured archive's
    (a replica of a shared store configured with another archive, or the
    bundled examples nobody asked for): the job says why and posts nothing.
    """
    report = JobReport()
    source = as_source(archive)
    try:
        report.sync = resync(engine, source)
        if report.sync is not None and report.sync.skipped:
            log.warning(
                "%d archive problem(s) skipped while reading %s; run `digest-bot index` to see them",
                len(report.sync.skipped),
                source.path,
            )
        report.refused = posting_refusal(engine, source)
        if report.refused is not None:
            log.error("the weekly posting job posts nothing: %s", report.refused)
            return report
        clock = RunClock.starting(now, sleep=sleep)
        report.publish = publish_due(
            engine,
            SlackCalls.paced(client, clock),
            clock,
            settings,
            trigger="schedule",
            hooks=RunHooks(progress=ProgressLines(log.info, "posting", "messages")),
        )
        if settings.recap_after_posting:
            report.recap = post_recaps(engine, client, settings=settings, now=now, sleep=sleep)
            explain_missing_recaps(report.recap, recap_notes if recap_notes is not None else set())
    except (DBAPIError, StoreError) as err:  # the store itself: one clear line
        report.error = describe(err)
        log.error("the weekly posting job stopped at %s: %s", now.isoformat(), report.error)
        return report
    except Exception as err:  # the scheduler thread must survive anything
        log.exception("the weekly posting job failed at %s", now.isoformat())
        report.error = f"{type(err).__name__}: {err}"
        return report
    if dms is not None:
        try:
            report.dms = dms(now)
        except Exception as err:  # a DM failure must not look like a posting failure
            log.exception("the weekly DM pass failed at %s", now.isoformat())
            report.dms = DmReport(error=f"{type(err).__name__}: {err}")
    publish = report.publish
    log.info(
        "weekly job: %d posted, %d adopted, %d updated%s",
        publish.posted,
        publish.adopted,
        publish.updated,
        "" if publish.ok else f"; {len(publish.errors)} channel(s) stopped",
    )
    return report


def run_recap_job(
    engine: Engine,
    client: WebClient,
    now: dt.datetime,
    settings: Settings,
    *,
    recap_notes: RecapNotes | None = None,
    **options: Any,
) -> JobReport:
    """DIGEST_RECAP_SCHEDULE's job: each channel's recap that is due; never raises."""
    report = JobReport()
    try:
        report.recap = post_recaps(engine, client, settings=settings, now=now, **options)
        explain_missing_recaps(report.recap, recap_notes if recap_notes is not None else set())
    except (DBAPIError, StoreError) as err:
        report.error = describe(err)
        log.error("the recap job stopped at %s: %s", now.isoformat(), report.error)
    except Exception as err:  # the scheduler thread must survive anything
        log.exception("the recap job failed at %s", now.isoformat())
        report.error = f"{type(err).__name__}: {err}"
    else:
        log.info("recap job: %d recap(s) posted", report.recap.posted)
    return report


def make_weekly_job(
    engine: Engine,
    archive: Path | ArchiveSource,
    client: WebClient,
    settings: Settings,
    *,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    sleep: Callable[[float], None] = time.sleep,
    dms: DmPass | None = None,
    recap_notes: RecapNotes | None = None,
) -> Callable[[], JobReport]:
    """The no-argument callable `bot.scheduler.build_scheduler` runs.

    `recap_notes` (shared with the recap job) keeps a missing recap said once per process.
    """
    said: RecapNotes = set() if recap_notes is None else recap_notes

    def weekly_job() -> JobReport:
        return run_weekly(engine, archive, client, clock(), settings, dms, recap_notes=said, sleep=sleep)

    return weekly_job
