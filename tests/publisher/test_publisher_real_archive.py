"""The real archive's newest week of every topic, posted to the fake Slack.

The fake validates every message against the Block Kit schema and Slack's
limits (a rejected message stops the channel), so a clean report is the proof;
each message is also checked again with `violations()` and `validate_blocks()`.
Skips cleanly without the real archive.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.config import Settings, load_settings
from bot.model import AGGREGATE_SLUG
from bot.publisher import EVENT_TYPE, Selection
from bot.render.limits import violations
from bot.slack.client import posting_client
from bot.store import Catalog, sync_archive
from tests.conftest import BLOCK_KIT_SCHEMA
from tests.support.block_kit import validate_blocks
from tests.support.fake_slack import BOT_TOKEN, FakeSlack
from tests.support.publishing import publish

pytestmark = pytest.mark.real_archive

SCHEMA = BLOCK_KIT_SCHEMA


@pytest.fixture
def real_engine(engine: Engine, real_archive: Path) -> Engine:
    """A private store of the real archive: the publisher writes its post records."""
    sync_archive(engine, real_archive)
    return engine


def newest_weeks(engine: Engine) -> dict[str, dt.date]:
    """Each topic's newest digest week (topics end at different weeks)."""
    return {
        s.topic.slug: s.last_week
        for s in Catalog(engine).topics()
        if s.topic.slug != AGGREGATE_SLUG and s.last_week is not None
    }


def after_newest(engine: Engine) -> dt.datetime:
    last_end = max(d.week_end for d in Catalog(engine).digests())
    return dt.datetime.combine(last_end + dt.timedelta(days=1), dt.time(9), tzinfo=dt.UTC)


@pytest.fixture
def fake_slack_options(real_engine: Engine) -> dict[str, Any]:
    channels = {f"C0{slug.upper()}": slug for slug in newest_weeks(real_engine)} | {
        "C0ALL": "all-papers"
    }
    return {"channels": channels}


def check_channel(fake: FakeSlack, channel: str) -> list[dict[str, object]]:
    messages = fake.messages(channel)
    for message in messages:
        assert violations({"text": message["text"], "blocks": message["blocks"]}) == [], message[
            "text"
        ]
        assert (
            validate_blocks(message["blocks"], schema_path=SCHEMA if SCHEMA.is_file() else None)
            == []
        )
        assert message["metadata"]["event_type"] == EVENT_TYPE
    return [m["metadata"]["event_payload"] for m in messages]


def post_each_topics_newest_week(engine: Engine, client: WebClient, settings: Settings) -> None:
    """Every topic's newest digest, asked for by week: topics end at different weeks,
    and a first start on its own posts only the archive's newest week."""
    for slug, week in newest_weeks(engine).items():
        report = publish(engine, client, settings, after_newest(engine), selection=Selection(week=week, topic=slug))
        assert report.ok, report.errors


def test_every_topics_newest_week_in_its_own_channel(real_engine: Engine, fake: FakeSlack) -> None:
    weeks = newest_weeks(real_engine)
    settings = load_settings(None, DIGEST_CHANNELS=",".join(f"{s}=C0{s.upper()}" for s in weeks))
    client = posting_client(BOT_TOKEN, fake.api_url)

    post_each_topics_newest_week(real_engine, client, settings)

    catalog = Catalog(real_engine)
    for slug, week in weeks.items():
        digest = catalog.digest(slug, week)
        assert digest is not None
        payloads = check_channel(fake, f"C0{slug.upper()}")
        assert [p.get("arxiv_id") for p in payloads] == [None, *(p.arxiv_id for p in digest.papers)]
        assert {p["week"] for p in payloads} == {week.isoformat()}


def test_every_topics_newest_week_in_one_channel_posts_each_paper_once(
    real_engine: Engine, fake: FakeSlack
) -> None:
    weeks = newest_weeks(real_engine)
    settings = load_settings(None, DIGEST_CHANNEL="C0ALL")
    client = posting_client(BOT_TOKEN, fake.api_url)

    post_each_topics_newest_week(real_engine, client, settings)

    payloads = check_channel(fake, "C0ALL")
    papers = [p["arxiv_id"] for p in payloads if p["kind"] == "paper"]
    assert len(papers) == len(set(papers))
    catalog = Catalog(real_engine)
    wanted = {p.arxiv_id for slug, week in weeks.items() for p in catalog.digest(slug, week).papers}  # type: ignore[union-attr]
    assert set(papers) == wanted
    assert sum(p["kind"] == "header" for p in payloads) == len(weeks)
    # A second run has nothing to do.
    assert (
        publish(real_engine, client, settings, after_newest(real_engine)).posted
        == 0
    )


def test_a_first_start_on_the_real_archive_posts_its_newest_week_only(
    real_engine: Engine, fake: FakeSlack
) -> None:
    """Topics that stopped weeks before the newest week (mpc, pets) post nothing old."""
    newest = max(newest_weeks(real_engine).values())
    in_newest = sorted(slug for slug, week in newest_weeks(real_engine).items() if week == newest)
    assert len(in_newest) < len(newest_weeks(real_engine))  # the real archive has stale topics
    settings = load_settings(None, DIGEST_CHANNEL="C0ALL")
    client = posting_client(BOT_TOKEN, fake.api_url)

    report = publish(real_engine, client, settings, after_newest(real_engine))

    assert report.ok, report.errors
    assert report.channels["C0ALL"].digests == [f"{slug} {newest}" for slug in in_newest]
    assert {p["week"] for p in check_channel(fake, "C0ALL")} == {newest.isoformat()}
