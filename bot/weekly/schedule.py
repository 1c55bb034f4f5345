"""The weekly schedule's rules: a crontab expression read as crontab reads it, and when a week is due.

Pure functions of the expression, the time zone and "now" (passed in, so tests
check week boundaries and daylight-saving changes with fixed datetimes). The
settings validate `DIGEST_SCHEDULE` with the very reading the scheduler uses,
and the publisher asks which weeks are due, without either importing the
scheduler (`bot.runtime.scheduler`, an edge).
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_DOW_ITEM = re.compile(r"^(?:(\*)|(\d+)(?:-(\d+))?)(?:/(\d+))?$")


def crontab_day_of_week(field: str) -> str:
    """A crontab day-of-week field with numbers (0 or 7 = Sunday) turned into names.

    APScheduler 3 reads day numbers with 0 = Monday, unlike crontab (its own
    docs call this a historical mistake): `0 9 * * 5` would run on Saturdays.
    Names mean the same in both, so numbers and steps are spelled out as names.
    """
    out: list[str] = []
    for item in field.lower().split(","):
        match = _DOW_ITEM.match(item)
        if (
            item == "*" or match is None
        ):  # names, name ranges ("mon-fri"), or something CronTrigger will reject
            out.append(item)
            continue
        star, first, last, step = match.groups()
        start, stop = (0, 6) if star else (int(first), int(last if last is not None else first))
        if step is not None and not star and last is None:
            stop = 6  # "5/2": from Friday to the end of the week
        if (
            not (0 <= start <= 7 and 0 <= stop <= 7)
            or start > stop
            or (step is not None and int(step) < 1)
        ):
            raise ValueError(f"day of week {item!r} is not valid in a crontab expression")
        days = range(start, stop + 1, int(step or 1))
        out.extend(_CRON_DAYS[day % 7] for day in days)
    return ",".join(dict.fromkeys(out))


def cron_trigger(schedule: str, tz: ZoneInfo) -> CronTrigger:
    """A CronTrigger for a crontab expression ("0 9 * * FRI"), read as crontab reads it."""
    fields = schedule.split()
    if len(fields) != 5:
        raise ValueError(f"{schedule!r} is not a crontab expression (5 fields, e.g. '0 9 * * FRI')")
    minute, hour, day, month, day_of_week = fields
    return CronTrigger(
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=crontab_day_of_week(day_of_week),
        timezone=tz,
    )


def next_run_time(schedule: str, tz: ZoneInfo, after: dt.datetime) -> dt.datetime | None:
    """The first scheduled run strictly after `after` (for `digest-bot status`)."""
    trigger = cron_trigger(schedule, tz)
    fire: dt.datetime | None = trigger.get_next_fire_time(
        None, after.astimezone(tz) + dt.timedelta(microseconds=1)
    )
    return fire


def is_due(week_end: dt.date, now: dt.datetime, tz: ZoneInfo) -> bool:
    """A week is due once the day after its last day has begun in the digest time zone."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(tz).date() > week_end
