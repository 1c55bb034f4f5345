"""When the weekly job runs and which weeks it posts: trigger, time zone, catch-up, DST.

Fixed datetimes only: APScheduler's trigger is asked for its next fire time, and
the publisher's plan is computed at those times. The only test that starts a
real scheduler waits on an event that the catch-up run sets at once.
"""

from __future__ import annotations

import datetime as dt
import itertools
import logging
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import Engine

from bot.config import load_settings
from bot.publisher import plan_run
from bot.runtime.scheduler import JOB_ID, MISFIRE_GRACE, build_scheduler
from bot.slack.client import posting_client
from bot.store import sync_archive
from bot.weekly.job import make_weekly_job, run_weekly
from bot.weekly.schedule import cron_trigger, crontab_day_of_week, is_due, next_run_time
from tests.support.fake_slack import BOT_TOKEN, FakeSlack
from tests.support.publishing import publish

UTC = dt.UTC
UTC_ZONE = ZoneInfo("UTC")  # what the bot's own callers pass: Settings.tz is a ZoneInfo
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
TOKYO = ZoneInfo("Asia/Tokyo")


def fires(schedule: str, tz: ZoneInfo, start: dt.datetime, count: int) -> list[dt.datetime]:
    """The trigger's next `count` fire times from `start`, as the scheduler walks them."""
    trigger = cron_trigger(schedule, tz)
    out: list[dt.datetime] = []
    previous: dt.datetime | None = None
    now = start
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, now)
        assert fire is not None
        out.append(fire)
        previous = now = fire
    return out


# ---- the trigger ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "names"),
    [
        ("5", "fri"),
        ("FRI", "fri"),
        ("0", "sun"),
        ("7", "sun"),
        ("1-5", "mon,tue,wed,thu,fri"),
        ("*/2", "sun,tue,thu,sat"),
        ("0,6", "sun,sat"),
        ("mon-fri", "mon-fri"),
        ("*", "*"),
    ],
)
def test_day_of_week_numbers_are_read_as_crontab_reads_them(field: str, names: str) -> None:
    assert crontab_day_of_week(field) == names


def test_numeric_crontab_days_do_not_shift_by_one_like_apscheduler_3() -> None:
    """APScheduler 3's own from_crontab reads 5 as Saturday; ours reads Friday."""
    thursday = dt.datetime(2025, 1, 23, 12, tzinfo=UTC)
    ours = cron_trigger("0 9 * * 5", UTC_ZONE).get_next_fire_time(None, thursday)
    theirs = CronTrigger.from_crontab("0 9 * * 5", timezone=UTC).get_next_fire_time(None, thursday)
    assert ours == dt.datetime(2025, 1, 24, 9, tzinfo=UTC)
    assert theirs is not None and theirs.strftime("%a") == "Sat"


def test_bad_day_of_week_is_refused() -> None:
    with pytest.raises(ValueError, match="day of week"):
        cron_trigger("0 9 * * 8", UTC_ZONE)
    with pytest.raises(ValueError, match="5 fields"):
        cron_trigger("0 9 * *", UTC_ZONE)


@pytest.mark.parametrize(
    ("tz", "start", "utc_hours"),
    [
        # US daylight saving starts Sun 2025-03-09 and ends Sun 2025-11-02.
        (NEW_YORK, dt.datetime(2025, 3, 1, tzinfo=UTC), [14, 13, 13]),
        (NEW_YORK, dt.datetime(2025, 10, 25, tzinfo=UTC), [13, 14, 14]),
        # EU summer time starts Sun 2025-03-30 and ends Sun 2025-10-26.
        (BERLIN, dt.datetime(2025, 3, 22, tzinfo=UTC), [8, 7, 7]),
        (BERLIN, dt.datetime(2025, 10, 18, tzinfo=UTC), [7, 8, 8]),
        # Japan has no daylight saving: always 00:00 UTC.
        (TOKYO, dt.datetime(2025, 3, 1, tzinfo=UTC), [0, 0, 0]),
    ],
)
def test_the_default_schedule_is_friday_9am_local_across_daylight_saving_changes(
    tz: ZoneInfo, start: dt.datetime, utc_hours: list[int]
) -> None:
    times = fires("0 9 * * FRI", tz, start, 3)
    assert [(t.astimezone(tz).strftime("%a %H:%M")) for t in times] == ["Fri 09:00"] * 3
    assert [t.astimezone(UTC).hour for t in times] == utc_hours
    assert all(
        (b.astimezone(tz).date() - a.astimezone(tz).date()).days == 7
        for a, b in itertools.pairwise(times)
    )


def test_a_time_that_does_not_exist_on_the_spring_change_still_fires_once() -> None:
    """02:30 on 2025-03-30 does not exist in Berlin: the run happens once, an hour later."""
    times = fires("30 2 * * SUN", BERLIN, dt.datetime(2025, 3, 29, tzinfo=UTC), 2)
    assert [t.astimezone(UTC) for t in times] == [
        dt.datetime(2025, 3, 30, 1, 30, tzinfo=UTC),
        dt.datetime(2025, 4, 6, 0, 30, tzinfo=UTC),
    ]


def test_next_run_time_is_strictly_after_and_in_the_zone() -> None:
    friday_9 = dt.datetime(2025, 1, 24, 9, tzinfo=TOKYO)
    assert next_run_time("0 9 * * FRI", TOKYO, friday_9) == dt.datetime(
        2025, 1, 31, 9, tzinfo=TOKYO
    )
    assert next_run_time("0 9 * * FRI", TOKYO, friday_9 - dt.timedelta(seconds=1)) == friday_9
    after = next_run_time("0 9 * * FRI", NEW_YORK, dt.datetime(2025, 3, 8, tzinfo=UTC))
    assert after is not None and after.astimezone(UTC) == dt.datetime(2025, 3, 14, 13, tzinfo=UTC)


# ---- which weeks are due -----------------------------------------------------------------------

WEEK_END = dt.date(2025, 1, 23)  # a Thursday: the week 2025-01-17 – 2025-01-23


@pytest.mark.parametrize(
    ("tz", "now", "due"),
    [
        (UTC, dt.datetime(2025, 1, 23, 23, 59, 59, tzinfo=UTC), False),
        (UTC, dt.datetime(2025, 1, 24, 0, 0, tzinfo=UTC), True),
        # Friday has begun in Tokyo while it is still Thursday in UTC...
        (TOKYO, dt.datetime(2025, 1, 23, 15, 0, tzinfo=UTC), True),
        (TOKYO, dt.datetime(2025, 1, 23, 14, 59, tzinfo=UTC), False),
        # ...and it is still Thursday evening in New York on Friday in UTC.
        (NEW_YORK, dt.datetime(2025, 1, 24, 4, 59, tzinfo=UTC), False),
        (NEW_YORK, dt.datetime(2025, 1, 24, 5, 0, tzinfo=UTC), True),
    ],
)
def test_a_week_is_due_once_the_next_day_has_begun_in_the_digest_time_zone(
    tz: ZoneInfo, now: dt.datetime, due: bool
) -> None:
    assert is_due(WEEK_END, now, tz) is due


@pytest.mark.parametrize(
    ("week_end", "midnight_utc"),
    [
        (dt.date(2025, 3, 27), dt.datetime(2025, 3, 27, 23, tzinfo=UTC)),  # CET: +1
        (dt.date(2025, 4, 3), dt.datetime(2025, 4, 3, 22, tzinfo=UTC)),  # CEST: +2
        (dt.date(2025, 10, 23), dt.datetime(2025, 10, 23, 22, tzinfo=UTC)),
        (dt.date(2025, 10, 30), dt.datetime(2025, 10, 30, 23, tzinfo=UTC)),
    ],
)
def test_due_follows_local_midnight_across_summer_time(
    week_end: dt.date, midnight_utc: dt.datetime
) -> None:
    assert not is_due(week_end, midnight_utc - dt.timedelta(seconds=1), BERLIN)
    assert is_due(week_end, midnight_utc, BERLIN)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        is_due(WEEK_END, dt.datetime(2025, 1, 24), UTC_ZONE)


@pytest.mark.parametrize("tz", [NEW_YORK, BERLIN, TOKYO])
@pytest.mark.parametrize("month", [3, 10, 11])
def test_each_friday_run_finds_exactly_the_week_that_ended_the_day_before(
    tz: ZoneInfo, month: int
) -> None:
    """Around every DST change: due at the run, the week just ended; not the one just begun."""
    for fire in fires("0 9 * * FRI", tz, dt.datetime(2025, month, 1, tzinfo=UTC), 5):
        local = fire.astimezone(tz).date()
        ended = local - dt.timedelta(days=1)  # Thursday: last day of the week that ended
        assert is_due(ended, fire, tz)
        assert not is_due(local + dt.timedelta(days=6), fire, tz)


# ---- the archive's weeks at the scheduler's times ----------------------------------------------


@pytest.fixture
def store_engine(engine: Engine, example_archive: Path) -> Engine:
    sync_archive(engine, example_archive)
    return engine


def planned(engine: Engine, tz: str, at: dt.datetime) -> list[str]:
    settings = load_settings(None, DIGEST_CHANNEL="C0SD", DIGEST_TIMEZONE=tz)
    return [t.label for t in plan_run(engine, settings, at).targets]


def test_the_friday_run_posts_the_week_that_just_ended_in_the_configured_zone(
    store_engine: Engine,
) -> None:
    """Tokyo's Friday 09:00 is Thursday 00:00 UTC: in UTC that week is not over yet."""
    tokyo_run = fires("0 9 * * FRI", TOKYO, dt.datetime(2025, 1, 20, tzinfo=UTC), 1)[0]
    assert tokyo_run.astimezone(UTC) == dt.datetime(2025, 1, 24, 0, tzinfo=UTC)
    assert planned(store_engine, "Asia/Tokyo", tokyo_run) == ["dp 2025-01-17", "fl 2025-01-17"]
    thursday_utc = dt.datetime(2025, 1, 23, 23, 59, tzinfo=UTC)
    assert planned(store_engine, "UTC", thursday_utc) == ["dp 2025-01-10", "fl 2025-01-10"]
    assert planned(store_engine, "America/New_York", dt.datetime(2025, 1, 24, 4, tzinfo=UTC)) == [
        "dp 2025-01-10",
        "fl 2025-01-10",
    ]


def test_catch_up_at_start_posts_the_week_missed_while_the_bot_was_down(
    store_engine: Engine,
) -> None:
    """Down on Friday at 09:00, started on Saturday: the catch-up run posts that week."""
    saturday = dt.datetime(2025, 1, 25, 10, tzinfo=TOKYO)
    scheduler = build_scheduler(lambda: None, schedule="0 9 * * FRI", timezone=TOKYO, now=saturday)
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job(JOB_ID)
        assert [j.id for j in scheduler.get_jobs()] == [JOB_ID]
        assert job.next_run_time == saturday
        assert planned(store_engine, "Asia/Tokyo", job.next_run_time) == [
            "dp 2025-01-17",
            "fl 2025-01-17",
        ]
        following = job.trigger.get_next_fire_time(job.next_run_time, job.next_run_time)
        assert following == dt.datetime(2025, 1, 31, 9, tzinfo=TOKYO)
    finally:
        scheduler.shutdown(wait=False)


def test_the_job_is_a_single_coalescing_instance_with_hours_of_grace() -> None:
    scheduler = build_scheduler(
        lambda: None, schedule="0 9 * * 5", timezone=BERLIN, now=dt.datetime(2025, 1, 1, tzinfo=UTC)
    )
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job(JOB_ID)
        assert job.coalesce is True and job.max_instances == 1
        assert job.misfire_grace_time == MISFIRE_GRACE.total_seconds() >= 3 * 3600
        assert isinstance(job.trigger, CronTrigger) and job.trigger.timezone == BERLIN
        assert "fri" in str(job.trigger)
    finally:
        scheduler.shutdown(wait=False)


def test_without_catch_up_the_first_run_is_the_next_scheduled_time() -> None:
    scheduler = build_scheduler(lambda: None, schedule="0 9 * * FRI", timezone=UTC_ZONE, catch_up=False)
    scheduler.start(paused=True)
    try:
        job = scheduler.get_job(JOB_ID)
        assert job.next_run_time.strftime("%a %H:%M") == "Fri 09:00"
    finally:
        scheduler.shutdown(wait=False)


def test_a_started_scheduler_runs_the_catch_up_at_once_and_survives_a_failing_job(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ran = threading.Event()

    def job() -> None:
        ran.set()
        raise RuntimeError("archive unreadable")

    scheduler = build_scheduler(job, schedule="0 9 * * FRI", timezone=UTC_ZONE)
    with caplog.at_level(logging.ERROR, logger="bot.runtime.scheduler"):
        scheduler.start()
        try:
            assert ran.wait(timeout=5)
            job_after = scheduler.get_job(JOB_ID)
            assert job_after is not None and job_after.next_run_time.strftime("%a") == "Fri"
        finally:
            scheduler.shutdown(wait=True)
    assert any("weekly posting job failed" in r.getMessage() for r in caplog.records)


def test_a_repeated_hour_on_the_autumn_change_never_posts_twice(store_engine: Engine, fake: FakeSlack) -> None:
    """02:30 happens twice in Berlin on 2025-10-26: the job may run twice, it posts once."""
    times = fires("30 2 * * SUN", BERLIN, dt.datetime(2025, 10, 25, tzinfo=UTC), 2)
    settings = load_settings(None, DIGEST_CHANNEL="C0SD", DIGEST_TIMEZONE="Europe/Berlin")
    client = posting_client(BOT_TOKEN, fake.api_url)
    posted = [
        publish(store_engine, client, settings, t).posted
        for t in times
    ]
    assert posted[0] == 9 and sum(posted[1:]) == 0


# ---- the job function ------------------------------------------------------------------------------


def test_the_weekly_job_reads_the_archive_again_then_posts(
    engine: Engine, example_archive: Path, fake: FakeSlack
) -> None:
    settings = load_settings(None, DIGEST_CHANNEL="C0SD")
    now = dt.datetime(2025, 1, 24, 9, tzinfo=UTC)
    client = posting_client(BOT_TOKEN, fake.api_url)
    report = run_weekly(engine, example_archive, client, now, settings, sleep=lambda s: None)
    assert report.ok and report.sync is not None and report.sync.parsed == 9
    assert report.publish is not None and report.publish.posted == 9
    again = run_weekly(engine, example_archive, client, now, settings, sleep=lambda s: None)
    assert again.sync is not None and again.sync.parsed == 0  # incremental: nothing re-read
    assert again.publish is not None and again.publish.posted == 0
    assert again.as_dict()["publish"]["posted"] == 0


def test_the_weekly_job_never_raises(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture, fake: FakeSlack
) -> None:
    settings = load_settings(None, DIGEST_CHANNEL="C0SD")
    job = make_weekly_job(
        engine,
        tmp_path / "missing",
        posting_client(BOT_TOKEN, fake.api_url),
        settings,
        clock=lambda: dt.datetime(2025, 1, 24, 9, tzinfo=UTC),
    )
    with caplog.at_level(logging.ERROR):
        report = job()
    assert not report.ok and "ArchiveNotFound" in (report.error or "")
    assert any("weekly posting job failed" in r.getMessage() for r in caplog.records)
