"""A publishing run as the bot composes one: a run clock, Slack paced on it, `publish_due`.

Tests publish a week in one line; what they pass is what the weekly job and
`digest-bot post` inject (`bot.weekly.job.run_weekly`, `bot.cli.post_cmds`).
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.config import Settings
from bot.publisher import (
    DUE,
    MIN_INTERVAL,
    PublishReport,
    RunClock,
    Selection,
    SlackCalls,
    publish_due,
)


def no_sleep(seconds: float) -> None:
    """Waits nothing: the run's pacing is still computed, on the monotonic clock given."""


def publish(
    engine: Engine,
    client: WebClient | None,
    settings: Settings,
    now: dt.datetime,
    *,
    selection: Selection = DUE,
    sleep: Callable[[float], None] = no_sleep,
    monotonic: Callable[[], float] = time.monotonic,
    min_interval: float = MIN_INTERVAL,
    **options: Any,
) -> PublishReport:
    """`publish_due` at `now` through `client` (None: a dry run); `options` are its own."""
    clock = RunClock.starting(now, monotonic=monotonic, sleep=sleep)
    slack = None if client is None else SlackCalls.paced(client, clock, min_interval=min_interval)
    return publish_due(engine, slack, clock, settings, selection=selection, **options)
