"""The weekly recap: content, exactly once per channel and week (reruns, crashes, a lost store,
replicas), and its chart in its thread."""

from __future__ import annotations

import datetime as dt
import json
import struct
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.charts.trends import HEIGHT, WIDTH
from bot.engagement import discussion
from bot.publisher.recap import RECAP_SLUG, chart_filename, due_week, post_recaps
from bot.render import unsafe_markup, violations
from bot.render.recap import recap_message
from bot.slack.client import posting_client
from bot.store import Catalog, open_engine, sync_archive
from bot.store import posts as store
from bot.weekly.recap import Recap, TopicCounts, build_recap
from bot.weekly.trends import Trends
from tests.conftest import schema_problems
from tests.publisher.test_publisher import NEWEST, NOW, Crash, crash_at, publish, settings
from tests.support.clock import FakeClock
from tests.support.fake_slack import BOT_TOKEN, FakeSlack

pytestmark = pytest.mark.backends("sqlite", "postgresql")

DISCUSSED = "2102.06387"


@pytest.fixture
def posted(posted_week: Engine) -> Engine:
    """The example archive's newest week posted to C0SD, and replies in one paper's thread during the week."""
    engine = posted_week
    [row] = [r for r in store.posts_by_key(engine, "C0SD", [store.paper_key(DISCUSSED)]).values()]
    in_week = dt.datetime(2025, 1, 20, 10, 0, tzinfo=dt.UTC).timestamp()
    for n, user in enumerate(["U0ALICE", "U0BOB", "U0ALICE"]):
        assert discussion.record_reply(engine, channel="C0SD", thread_ts=row.ts, user=user,
                                       ts=f"{in_week + n:.6f}", bot_user_id="U0BOT")
    late = dt.datetime(2025, 1, 24, 8, 0, tzinfo=dt.UTC).timestamp()  # after the week: not counted
    assert discussion.record_reply(engine, channel="C0SD", thread_ts=row.ts, user="U0CAROL",
                                   ts=f"{late:.6f}", bot_user_id="U0BOT")
    return engine


def recap_now(engine: Engine, fake: FakeSlack, **options: Any) -> Any:
    clock = FakeClock()
    return post_recaps(engine, posting_client(BOT_TOKEN, fake.api_url), settings=settings(), now=NOW,
                       sleep=clock.sleep, monotonic=clock.monotonic, **options)


def recaps(fake: FakeSlack, channel: str = "C0SD") -> list[dict[str, Any]]:
    return [m for m in fake.messages(channel)
            if (m.get("metadata") or {}).get("event_payload", {}).get("kind") == "recap"]


def test_the_recap_follows_the_weeks_digests_once(posted: Engine, fake: FakeSlack) -> None:
    report = recap_now(posted, fake)
    assert report.ok and report.posted == 1 and report.channels[0].week == NEWEST
    [message] = recaps(fake)
    payload = message["metadata"]["event_payload"]
    assert payload["slug"] == RECAP_SLUG and payload["week"] == NEWEST.isoformat()
    raw = json.dumps(message["blocks"], ensure_ascii=False)
    assert "Weekly recap: 2025-01-17 – 2025-01-23" in raw
    assert "差分プライバシー" in raw and "連合学習" in raw  # per topic
    assert "Distributed Discrete Gaussian" in raw and "3 replies" in raw  # the week's replies, not the late one
    permalink = store.posts_by_key(posted, "C0SD", [store.paper_key(DISCUSSED)])[store.paper_key(DISCUSSED)].permalink
    assert permalink and permalink in raw  # linked to its thread
    assert message.get("thread_ts", message["ts"]) == message["ts"]  # top level: the chart is in its thread
    assert_chart_in_thread(fake, message)
    assert report.channels[0].chart == "uploaded"
    before = len(fake.calls())
    again = recap_now(posted, fake)
    assert again.posted == 0 and again.channels[0].chart == "already" and len(recaps(fake)) == 1
    assert len(fake.files("C0SD")) == 1
    assert not any(c.method in ("chat.postMessage", "files.getUploadURLExternal") for c in fake.calls()[before:])


def assert_chart_in_thread(fake: FakeSlack, recap: dict[str, Any]) -> None:
    """One chart, a PNG of the chart's size, in the recap's thread."""
    [file] = fake.files("C0SD")
    assert file.completed and file.channel == "C0SD" and file.thread_ts == recap["ts"]
    assert file.filename == chart_filename("C0SD", NEWEST)
    png = file.content or b""
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24]) == (WIDTH, HEIGHT)
    replies = [m for m in fake.messages("C0SD") if m.get("thread_ts") == recap["ts"] and m["ts"] != recap["ts"]]
    assert [f["name"] for m in replies for f in m.get("files", [])] == [file.filename]


@pytest.mark.parametrize("point", ["chart_after_intent", "chart_after_upload"])
def test_an_interrupted_chart_upload_is_not_duplicated(posted: Engine, fake: FakeSlack, point: str) -> None:
    with pytest.raises(Crash):
        recap_now(posted, fake, checkpoint=crash_at(point, 0))
    assert len(recaps(fake)) == 1
    later = post_recaps(posted, posting_client(BOT_TOKEN, fake.api_url), settings=settings(),
                        now=NOW + dt.timedelta(minutes=11), sleep=lambda s: None)
    assert later.ok and later.posted == 0
    assert later.channels[0].chart == ("uploaded" if point == "chart_after_intent" else "found")
    assert_chart_in_thread(fake, recaps(fake)[0])
    [row] = store.digest_rows(posted, "C0SD", RECAP_SLUG, NEWEST, state="posted")[1:]
    assert row.kind == "chart" and row.ts == fake.files("C0SD")[0].id


def test_no_recap_before_the_weeks_digests_are_posted(engine: Engine, example_archive: Path, fake: FakeSlack) -> None:
    sync_archive(engine, example_archive)
    report = recap_now(engine, fake)
    assert report.posted == 0 and "not all posted" in (report.channels[0].reason or "")
    assert recaps(fake) == []
    late = NOW + dt.timedelta(days=30)
    week, reason = due_week(engine, Catalog(engine), "C0SD", ["dp", "fl"], late, settings())
    assert week is None and "days old" in reason  # a week long gone gets no recap


@pytest.mark.parametrize("point", ["after_intent", "after_slack", "after_record"])
def test_a_crash_at_any_point_still_posts_the_recap_exactly_once(posted: Engine, fake: FakeSlack, point: str) -> None:
    with pytest.raises(Crash):
        recap_now(posted, fake, checkpoint=crash_at(point, 0))
    # the lease of the dead run expires (or its process is gone): a later run takes over
    later = post_recaps(posted, posting_client(BOT_TOKEN, fake.api_url), settings=settings(),
                        now=NOW + dt.timedelta(minutes=11), sleep=lambda s: None)
    assert later.ok and len(recaps(fake)) == 1
    assert (later.channels[0].posted or later.channels[0].adopted) == (point != "after_record")
    [row] = store.digest_rows(posted, "C0SD", RECAP_SLUG, NEWEST, state="posted")[:1]
    assert row.ts == recaps(fake)[0]["ts"]


def test_a_lost_store_adopts_the_recap_already_in_the_channel(posted: Engine, fake: FakeSlack,
                                                               example_archive: Path, tmp_path: Path) -> None:
    assert recap_now(posted, fake).posted == 1
    fresh = open_engine(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    try:
        sync_archive(fresh, example_archive)
        publish(fresh, fake, FakeClock())  # adopts the week's messages
        report = recap_now(fresh, fake)
        assert report.posted == 0 and report.channels[0].adopted and len(recaps(fake)) == 1
        assert report.channels[0].chart == "found" and len(fake.files("C0SD")) == 1  # its chart is not uploaded again
    finally:
        fresh.dispose()


def test_the_recap_render_holds_the_limits_with_hostile_text() -> None:
    from bot.model import Discussed, Paper, ThreadInfo, Topic

    hostile = "<!channel> <@U0BOSS> *x* & <https://evil.example|y>"
    topics = tuple(TopicCounts(Topic(f"t{i}", "名" * 200 + hostile, hostile), 10_000, 5) for i in range(40))
    paper = Paper("2501.00001", "http://arxiv.org/abs/2501.00001", "T" * 3000 + hostile, "長" * 3000)
    thread = ThreadInfo("C1", "1.2", "https://x|<!here>", 7)
    ranked = tuple(Discussed(paper, thread, replies=7, participants=3, votes=7) for _ in range(5))
    recap = Recap("C1", NEWEST, NEWEST + dt.timedelta(days=6), topics, ranked, ranked,
                  Trends((), (), {}, None))
    for lang in ("en", "ja"):
        message = recap_message(recap, lang=lang)
        assert violations(message) == [] and schema_problems(message["blocks"]) == []
        assert unsafe_markup(message) == []
    empty = recap_message(Recap("C1", NEWEST, NEWEST, (), (), (), Trends((), (), {}, None)))
    assert "No votes that week" in json.dumps(empty) and violations(empty) == []


def test_votes_are_listed_when_there_are_some(posted: Engine) -> None:
    recap = build_recap(posted, Catalog(posted), channel="C0SD", week_start=NEWEST, slugs=["dp", "fl"],
                        tz=settings().tz, votes=lambda engine, since, until: [(DISCUSSED, 4), ("0000.00000", 9)])
    assert recap is not None and [(r.paper.arxiv_id, r.votes) for r in recap.voted] == [(DISCUSSED, 4)]
    assert "4 votes" in json.dumps(recap_message(recap))
    assert recap.discussed[0].replies == 3 and recap.discussed[0].participants == 2
    assert {tw.topic.slug: tw.replies for tw in recap.topics} == {"dp": 3, "fl": 3}  # the paper is in both
    assert recap.trends.current == NEWEST


def test_chart_file_names_name_channel_and_week() -> None:
    assert chart_filename("C0SD", NEWEST) == "digest-bot-trends-C0SD-2025-01-17.png"


def test_reactions_on_paper_messages_are_the_recaps_votes(posted: Engine, fake: FakeSlack) -> None:
    from bot.engagement.votes import record_reaction

    row = store.posts_by_key(posted, "C0SD", [store.paper_key("1908.10530")])[store.paper_key("1908.10530")]
    in_week = dt.datetime(2025, 1, 21, 9, 0, tzinfo=dt.UTC).timestamp()
    for n, user in enumerate(["U0ALICE", "U0BOB"]):
        assert record_reaction(posted, channel="C0SD", ts=str(row.ts), user=user, reaction="+1", added=True,
                               bot_user_id="U0BOT", item_user="U0BOT", event_ts=f"{in_week + n:.6f}")
    assert recap_now(posted, fake).posted == 1
    raw = json.dumps(recaps(fake)[0]["blocks"], ensure_ascii=False)
    voted = raw.split("Most voted", 1)[1]
    assert "Rényi Differential Privacy" in voted and "2 votes" in voted


def test_the_weekly_job_posts_the_recap_after_the_digests_unless_it_has_its_own_schedule(
    engine: Engine, example_archive: Path, fake: FakeSlack
) -> None:
    from bot.runtime.scheduler import RECAP_JOB_ID
    from bot.runtime.service import assemble, background_jobs
    from bot.weekly.job import run_recap_job, run_weekly

    client = posting_client(BOT_TOKEN, fake.api_url)
    own = settings(DIGEST_RECAP_SCHEDULE="0 17 * * FRI", DIGEST_ARCHIVE=str(example_archive))
    report = run_weekly(engine, example_archive, client, NOW, own, sleep=lambda s: None)
    assert report.ok and report.publish and report.publish.posted and report.recap is None and recaps(fake) == []
    scheduler = background_jobs(assemble(own, engine), example_archive)
    job = scheduler.get_job(RECAP_JOB_ID)
    assert job is not None and "fri" in str(job.trigger) and "17" in str(job.trigger)
    assert run_recap_job(engine, client, NOW, own, sleep=lambda s: None).recap.posted == 1  # type: ignore[union-attr]
    assert len(recaps(fake)) == 1

    fake.reset()
    fresh = settings(DIGEST_CHANNEL="C0FL", DIGEST_ARCHIVE=str(example_archive))
    report = run_weekly(engine, example_archive, client, NOW, fresh, sleep=lambda s: None)
    assert report.ok and report.recap is not None and report.recap.posted == 1
    assert len(recaps(fake, "C0FL")) == 1 and fake.files("C0FL")
    assert background_jobs(assemble(fresh, engine), example_archive).get_job(RECAP_JOB_ID) is None
    off = settings(DIGEST_RECAP_SCHEDULE="off")
    assert run_weekly(engine, example_archive, client, NOW, off, sleep=lambda s: None).recap is None


def test_a_bad_recap_schedule_is_one_clear_line() -> None:
    from bot.config import ConfigError, load_settings

    with pytest.raises(ConfigError, match="DIGEST_RECAP_SCHEDULE: 'every friday' is not empty"):
        load_settings(None, DIGEST_RECAP_SCHEDULE="every friday")
    assert load_settings(None, DIGEST_RECAP_SCHEDULE=" OFF ").recap_schedule == "off"
