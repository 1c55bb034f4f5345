"""One count of papers per week everywhere (issue 22, item 10), and the recap chart of a channel
with only the `all` topic (item 16).

A paper in two topics is one paper of its week: `weeks`, `/papers week`, the
recap, the `trends` "all" row and the chart's totals all say the same number,
and where topic rows add up to more they say why. "This week" is only the
calendar's week (the injected clock's), any other week is named by its date.
Tested as a user meets it: the CLI in a subprocess, `/papers` over signed
HTTP, the recap posted by `digest-bot recap` into the fake Slack.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.charts import trends_chart
from bot.render import unsafe_markup, violations
from bot.render.trends import chart_alt_text, chart_notes, trends_table
from bot.store import Catalog, open_engine, sync_archive
from bot.weekly.trends import trends
from tests.conftest import PROJECT
from tests.support.fake_slack import BOT_TOKEN, FakeSlack
from tests.support.overlap_archive import (
    DISTINCT,
    NEWER,
    OLDER,
    PER_TOPIC,
    SHARED,
    write_overlap_archive,
)

OVERLAP_NOTE = "counted in each"


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_overlap_archive(tmp_path_factory.mktemp("overlap") / "archive")


@pytest.fixture(scope="module")
def catalog(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Catalog]:
    engine = open_engine(f"sqlite:///{tmp_path_factory.mktemp('overlap-store') / 'store.sqlite3'}")
    sync_archive(engine, archive)
    yield Catalog(engine)
    engine.dispose()


def cli_env(tmp_path: Path, archive: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DIGEST_", "SLACK_"))}
    env.update(
        PYTHONPATH=str(PROJECT),
        DIGEST_DB_URL=f"sqlite:///{tmp_path / 'store.sqlite3'}",
        DIGEST_ARCHIVE=str(archive),
        HOME=str(tmp_path),
        MPLCONFIGDIR=str(tmp_path / "mpl"),
        **extra,
    )
    return env


def digest_bot(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", "--env-file", "/dev/null", *args], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=180, check=False)


# --- the numbers ---------------------------------------------------------------------------


def test_the_week_totals_count_each_paper_once(catalog: Catalog) -> None:
    data = trends(catalog)
    assert data.weeks == (OLDER, NEWER)
    assert {slug: data.counts[slug] for slug in PER_TOPIC} == PER_TOPIC  # topic rows: each topic's own count
    assert tuple(data.week_total(i) for i in range(2)) == DISTINCT  # the week: each paper once
    assert [w.papers for w in reversed(catalog.weeks())] == list(DISTINCT)  # as `weeks` says
    assert data.overlaps
    last = trends_table(data).splitlines()
    [all_row] = [line for line in last if line.split()[:1] == ["all"]]
    assert all_row.split() == ["all", *map(str, DISTINCT), str(sum(DISTINCT))]
    assert OVERLAP_NOTE in " ".join(chart_notes(data)) and OVERLAP_NOTE in chart_alt_text(data)
    one = trends(catalog, topic="sd")
    assert tuple(one.week_total(i) for i in range(2)) == PER_TOPIC["sd"] and not one.overlaps
    assert OVERLAP_NOTE not in " ".join(chart_notes(one))
    assert trends_chart(data, lang="en", auto_font=False).note and not trends_chart(one, auto_font=False).note


def test_this_week_is_only_the_calendars_week(catalog: Catalog) -> None:
    inside = trends(catalog, until=NEWER + dt.timedelta(days=2), today=NEWER + dt.timedelta(days=2))
    assert inside.current == NEWER and inside.this_week
    assert trends_chart(inside, lang="en", auto_font=False).highlight == "this week"
    later = NEWER + dt.timedelta(days=400)  # the archive's newest week, seen a year on
    old = trends(catalog, until=later, today=later)
    assert old.current == NEWER and not old.this_week
    chart = trends_chart(old, lang="en", auto_font=False)
    assert chart.highlight == f"week of {NEWER.isoformat()}"
    assert not trends(catalog).this_week  # no clock given: never "this week"
    assert trends_chart(old, lang="ja").highlight in (f"{NEWER.isoformat()} の週", f"week of {NEWER.isoformat()}")


# --- the CLI -------------------------------------------------------------------------------


def test_weeks_and_trends_say_the_same_count(archive: Path, tmp_path: Path) -> None:
    env = cli_env(tmp_path, archive)
    weeks = digest_bot(env, tmp_path, "weeks", "--json")
    assert weeks.returncode == 0, weeks.stderr
    assert {w["week_start"]: w["papers"] for w in json.loads(weeks.stdout)} == {
        OLDER.isoformat(): DISTINCT[0], NEWER.isoformat(): DISTINCT[1]}
    out = tmp_path / "chart.png"
    as_json = digest_bot(env, tmp_path, "trends", "--json", "--out", str(out))
    assert as_json.returncode == 0, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["totals"] == list(DISTINCT)
    assert {t["slug"]: t["papers"] for t in report["topics"]} == {s: list(c) for s, c in PER_TOPIC.items()}
    assert OVERLAP_NOTE in report["note"]
    # the archive's newest week, charted long after it ended: named by its date, not "this week"
    assert report["chart"]["highlight"] == f"week of {NEWER.isoformat()}"
    text = digest_bot(env, tmp_path, "trends")
    assert text.returncode == 0, text.stderr
    [all_row] = [line for line in text.stdout.splitlines() if line.split()[:1] == ["all"]]
    assert all_row.split() == ["all", *map(str, DISTINCT), str(sum(DISTINCT))]
    assert OVERLAP_NOTE in " ".join(text.stdout.split())


def recap_messages(fake: FakeSlack, channel: str) -> list[dict[str, Any]]:
    return [m for m in fake.messages(channel)
            if (m.get("metadata") or {}).get("event_payload", {}).get("kind") == "recap"]


def uploaded_alt_texts(fake: FakeSlack) -> list[str]:
    """The alternative text of each chart uploaded (files_upload_v2 sends it with the upload URL request)."""
    return [str(call.params.get("alt_txt") or "") for call in fake.calls("files.getUploadURLExternal")]


@pytest.mark.parametrize(
    ("channels", "per_topic"),
    [
        ({"DIGEST_CHANNELS": "all=C0ALL"}, None),  # a channel with only the `all` topic
        ({"DIGEST_CHANNEL": "C0ALL"}, PER_TOPIC),  # every topic but `all`: sd and fl, one paper in both
    ],
    ids=["all-only", "every-topic"],
)
def test_the_recap_counts_each_paper_once_and_gets_its_chart(
    archive: Path, tmp_path: Path, fake: FakeSlack, channels: dict[str, str], per_topic: dict[str, Any] | None
) -> None:
    env = cli_env(tmp_path, archive, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_API_URL=fake.api_url, **channels)
    done = digest_bot(env, tmp_path, "recap", "--week", NEWER.isoformat(), "--json", "--interval", "0.01")
    assert done.returncode == 0, done.stdout + done.stderr
    [channel] = json.loads(done.stdout)["channels"]
    assert channel["posted"] and channel["chart"] == "uploaded", channel
    [message] = recap_messages(fake, "C0ALL")
    raw = " ".join(json.dumps(message["blocks"], ensure_ascii=False).split())
    assert f"*{DISTINCT[1]} papers*" in raw  # the week's papers, each once (not 5)
    assert "this week" not in raw.casefold()  # a recap is of a week that has ended: never "this week"
    if per_topic is not None:
        assert "`sd`: 3 papers" in raw and "`fl`: 2 papers" in raw and OVERLAP_NOTE in raw
    [chart] = fake.files("C0ALL")
    assert chart.completed and chart.thread_ts == message["ts"] and (chart.content or b"")[:4] == b"\x89PNG"
    [alt] = uploaded_alt_texts(fake)
    [all_row] = [line for line in alt.splitlines() if line.split()[:1] == ["all"]]
    assert all_row.split()[-2] == str(DISTINCT[1])  # the chart's numbers: the same week total
    assert "this week" not in alt and f"week of {NEWER.isoformat()}" in alt


# --- /papers over signed HTTP ------------------------------------------------------------------


@pytest.fixture(scope="module")
def overlap_bot(
    archive: Path, tmp_path_factory: pytest.TempPathFactory, module_fake_slack: FakeSlack
) -> Iterator[Any]:
    from tests.support.bot_server import running_bot

    now = dt.datetime.combine(NEWER + dt.timedelta(days=8), dt.time(12), dt.UTC)  # the week after NEWER
    with running_bot(module_fake_slack, archive, tmp_path_factory.mktemp("overlap-bot"), now=lambda: now) as bot:
        yield bot


def test_papers_week_last_counts_each_paper_once_and_says_topics_overlap(overlap_bot: Any) -> None:
    status, url = overlap_bot.command("week last")
    assert status == 200
    [answer] = overlap_bot.answer(url)
    raw = " ".join(json.dumps(answer, ensure_ascii=False).split())
    assert f"{DISTINCT[1]} papers" in raw and f"{DISTINCT[1] + 1} papers" not in raw
    assert OVERLAP_NOTE in raw
    assert SHARED in raw or "Overlap Study" in raw
    assert violations(answer) == [] and unsafe_markup(answer) == []


def test_papers_trends_names_last_week_by_its_date(overlap_bot: Any) -> None:
    status, url = overlap_bot.command("trends")
    assert status == 200
    [answer] = overlap_bot.answer(url)
    raw = " ".join(json.dumps(answer, ensure_ascii=False).split())
    assert OVERLAP_NOTE in raw and f"week of {NEWER.isoformat()}" in raw
    assert violations(answer) == [] and unsafe_markup(answer) == []
    fake = overlap_bot.fake
    fake.wait_for(lambda: uploaded_alt_texts(fake))
    [alt] = uploaded_alt_texts(fake)
    assert "this week" not in alt and f"week of {NEWER.isoformat()}" in alt


@pytest.mark.backends("sqlite", "postgresql")
def test_a_channel_with_only_the_all_topic_gets_its_recap_and_chart_when_due(
    engine: Any, example_archive: Path, fake: FakeSlack
) -> None:
    """The scheduler's path: once the week's `all` digest is posted, its recap is due, chart included."""
    from bot.publisher.recap import post_recaps
    from bot.slack.client import posting_client
    from tests.publisher.test_publisher import NEWEST, NOW, publish, settings
    from tests.support.clock import FakeClock

    config = settings(DIGEST_CHANNELS="all=C0ALL", DIGEST_CHANNEL="")
    sync_archive(engine, example_archive)
    assert publish(engine, fake, FakeClock(), config=config).posted
    clock = FakeClock()
    report = post_recaps(engine, posting_client(BOT_TOKEN, fake.api_url), settings=config, now=NOW,
                         sleep=clock.sleep, monotonic=clock.monotonic)
    [channel] = report.channels
    assert channel.week == NEWEST and channel.posted and channel.chart == "uploaded", channel.as_dict()
    [chart] = fake.files("C0ALL")
    [recap] = recap_messages(fake, "C0ALL")
    assert chart.thread_ts == recap["ts"]
    week = Catalog(engine).weeks()[0]
    assert week.week_start == NEWEST and f"*{week.papers} papers*" in json.dumps(recap["blocks"], ensure_ascii=False)


@pytest.mark.real_archive
def test_on_the_real_archive_every_week_has_one_count(real_store: Catalog) -> None:
    """Every week of the real archive holds papers in two topics: the trends' totals are `weeks`' counts."""
    weeks = {w.week_start: w.papers for w in real_store.weeks()}
    data = trends(real_store, weeks=len(weeks))
    assert len(data.weeks) == len(weeks)
    assert {week: data.week_total(i) for i, week in enumerate(data.weeks)} == weeks
    overlapping = [week for i, week in enumerate(data.weeks) if data.row_sum(i) > data.week_total(i)]
    assert overlapping and data.overlaps  # the case this is about is the archive's own (e.g. 2025-01-10: 43, rows 45)
