"""The weekly DM pass: one DM per person and week with the right papers, exactly once through crashes."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.config import load_settings
from bot.personal import follows, records
from bot.render import violations
from bot.search import LiveSearch, SearchEngine
from bot.slack.client import posting_client
from bot.store import Catalog, sync_archive
from bot.store import dms as dm_store
from bot.weekly.dms import DM_EVENT, dm_weeks, send_weekly_dms
from bot.weekly.job import JobReport, run_weekly
from tests.conftest import schema_problems
from tests.support.fake_slack import BOT_TOKEN, BOT_USER_ID, USER_ID, Call, FakeSlack

pytestmark = pytest.mark.backends("sqlite", "postgresql")

NOW = dt.datetime(2025, 1, 24, 9, tzinfo=dt.UTC)
WEEK = dt.date(2025, 1, 17)
BOB, CAROL, DAVE = "U0BOB", "U0CAROL", "U0DAVE"


#: Whom the fake Slack knows: read by the `fake_slack` fixture (tests/conftest.py).
FAKE_SLACK_OPTIONS = {
    "users": {USER_ID: "alice", BOB: "bob", CAROL: "carol", DAVE: "dave", BOT_USER_ID: "digest-bot"}
}


@pytest.fixture
def posted(posted_week: Engine) -> Engine:
    """The newest week (2025-01-17: dp and fl) posted to C0SD (`posted_week`, tests/conftest.py)."""
    return posted_week


def follow(engine: Engine, user: str, *queries: str) -> None:
    """`user` follows each query (made as `/papers follow` makes it), at NOW."""
    for query in queries:
        made = follows.follow_query(query)
        assert made is not None
        records.add_follow(engine, user, made.text, now=NOW)


def dm_pass(engine: Engine, fake: FakeSlack, search: SearchEngine, **options: Any) -> Any:
    client = posting_client(BOT_TOKEN, fake.api_url)
    return send_weekly_dms(engine, client, search, now=NOW, min_interval=0, sleep=lambda s: None, **options)


def dm_ids(message: dict[str, Any]) -> list[str]:
    raw = json.dumps(message["blocks"])
    ids = []
    for part in raw.split("https://arxiv.org/abs/")[1:]:
        ids.append(part.split("|", 1)[0])
    return ids


def test_a_follow_and_a_posted_week_bring_exactly_one_dm_with_the_right_papers(
    posted: Engine, fake: FakeSlack, search: SearchEngine
) -> None:
    follow(posted, USER_ID, "differential privacy", "topic:fl")
    follow(posted, BOB, "zzqx quantum chromodynamics")  # matches nothing: no DM
    follow(posted, CAROL, "federated learning")
    records.set_dm_muted(posted, CAROL, True, now=NOW)  # muted: no DM

    assert dm_weeks(posted, NOW) == [WEEK]
    report = dm_pass(posted, fake, search)

    assert (report.ok, report.sent, report.nothing) == (True, 1, 1)
    [dm] = fake.dms(USER_ID)
    assert fake.dms(BOB) == [] and fake.dms(CAROL) == []
    assert dm["metadata"]["event_type"] == DM_EVENT
    assert violations({"text": dm["text"], "blocks": dm["blocks"]}) == []
    assert schema_problems(dm["blocks"]) == []
    privacy = [h.paper.arxiv_id for h in follows.week_matches(search, "differential privacy", WEEK, limit=5).hits]
    fl = [h.paper.arxiv_id for h in follows.week_matches(search, "topic:fl", WEEK, limit=10).hits]
    expected = list(dict.fromkeys([*privacy, *[a for a in fl if a not in privacy][:5]]))
    assert privacy and fl and dm_ids(dm) == expected  # best first, grouped by follow, each once
    week_papers = {p.arxiv_id for d in Catalog(posted).digests(week=WEEK, with_papers=True) for p in d.papers}
    assert set(expected) <= week_papers
    # Each paper links to its thread in the channel.
    permalinks = [m for m in json.dumps(dm["blocks"]).split("<") if "fake.slack.com/archives/C0SD" in m]
    assert len(permalinks) == len(expected)
    [row] = dm_store.user_rows(posted, USER_ID)
    assert (row.state, row.ts, list(row.papers)) == ("posted", dm["ts"], expected)

    again = dm_pass(posted, fake, search)  # the next pass (another sync, a restart)
    assert (again.sent, again.updated, again.weeks) == (0, 0, [])
    assert len(fake.dms(USER_ID)) == 1


def test_a_crash_between_the_dm_and_its_record_sends_no_second_dm(
    posted: Engine, fake: FakeSlack, search: SearchEngine
) -> None:
    follow(posted, USER_ID, "differential privacy")
    follow(posted, BOB, "federated learning")

    def crash(point: str, row: dm_store.DmRow | None) -> None:
        if point == "after_slack":
            raise SystemExit("killed after Slack took the DM, before the ts was recorded")

    with pytest.raises(SystemExit):
        dm_pass(posted, fake, search, checkpoint=crash)
    sent_before = {user: len(fake.dms(user)) for user in (USER_ID, BOB)}
    assert sum(sent_before.values()) == 1
    assert [r.state for u in (USER_ID, BOB) for r in dm_store.user_rows(posted, u)] == ["pending"]

    report = dm_pass(posted, fake, search, holder="a-restarted-bot")
    assert report.ok and report.adopted == 1 and report.sent == 1
    assert [len(fake.dms(u)) for u in (USER_ID, BOB)] == [1, 1]
    assert all(r.state == "posted" for u in (USER_ID, BOB) for r in dm_store.user_rows(posted, u))


def test_no_answer_from_slack_is_looked_up_before_any_retry(posted: Engine, fake: FakeSlack, search: SearchEngine) -> None:
    follow(posted, USER_ID, "differential privacy")
    fake.drop_connection("chat.postMessage", after_accept=True)  # Slack took it; the bot never heard
    report = dm_pass(posted, fake, search)
    assert (report.ok, report.sent, report.adopted) == (True, 0, 1)
    assert len(fake.dms(USER_ID)) == 1
    assert len(fake.calls("chat.postMessage")) == 1 + 9  # the week's 9 channel posts, then the DM once


def test_refusals_are_per_person_and_a_refused_token_stops(posted: Engine, fake: FakeSlack, search: SearchEngine) -> None:
    follow(posted, USER_ID, "differential privacy")
    follow(posted, DAVE, "differential privacy")
    fake.users.pop(DAVE)  # left the workspace: conversations.open says user_not_found
    report = dm_pass(posted, fake, search)
    assert report.sent == 1 and report.failed == [{"user": DAVE, "week": "2025-01-17", "error": "user_not_found"}]

    follow(posted, BOB, "federated learning")
    fake.tokens.clear()
    stopped = dm_pass(posted, fake, search)
    assert stopped.error is not None and "invalid_auth" in stopped.error and fake.dms(BOB) == []


def test_new_matches_in_a_dmed_week_update_the_same_dm(posted: Engine, fake: FakeSlack, search: SearchEngine) -> None:
    follow(posted, USER_ID, "topic:fl")
    first = dm_pass(posted, fake, search)
    [dm] = fake.dms(USER_ID)
    assert first.sent == 1
    follow(posted, USER_ID, "differential privacy")  # a new follow: the pass looks at the week again
    second = dm_pass(posted, fake, search)
    [updated] = fake.dms(USER_ID)  # never a second DM for the week
    assert (second.sent, second.updated) == (0, 1) and updated["ts"] == dm["ts"]
    privacy = {h.paper.arxiv_id for h in follows.week_matches(search, "differential privacy", WEEK, limit=5).hits}
    assert privacy - set(dm_ids(dm)) and privacy <= set(dm_ids(updated))


def test_rate_limits_are_waited_out_and_the_pass_is_paced(posted: Engine, fake: FakeSlack, search: SearchEngine) -> None:
    for user in (USER_ID, BOB, CAROL):
        follow(posted, user, "differential privacy")
    fake.rate_limit("chat.postMessage", every=2, retry_after=1)
    slept: list[float] = []
    clock = [0.0]

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    client = posting_client(BOT_TOKEN, fake.api_url)
    client.retry_handlers.clear()  # the 429 reaches the pass, which waits with the injected sleep
    report = send_weekly_dms(posted, client, search, now=NOW, sleep=sleep, monotonic=lambda: clock[0], min_interval=0.5)
    assert report.sent == 3 and [len(fake.dms(u)) for u in (USER_ID, BOB, CAROL)] == [1, 1, 1]
    assert 1.0 in slept  # Retry-After
    posts = [c for c in fake.calls("chat.postMessage") if c.params["channel"].startswith("D")]
    assert len([c for c in posts if c.status == 429]) >= 1
    assert all(s > 0 for s in slept)


def test_calls_are_dms_to_the_person(posted: Engine, fake: FakeSlack, search: SearchEngine) -> None:
    follow(posted, USER_ID, "differential privacy")
    dm_pass(posted, fake, search)
    opened: list[Call] = fake.calls("conversations.open")
    assert [c.params["users"] for c in opened] == [USER_ID]
    dm_pass(posted, fake, search, weeks=[WEEK])
    assert len(fake.calls("conversations.open")) == 1  # the DM channel is kept


def weekly_job(engine: Engine, example_archive: Path, fake: FakeSlack, tmp_path: Path) -> Callable[[dt.datetime], JobReport]:
    """The scheduler's weekly job with its DM pass, on the example archive synced into `engine`,
    USER_ID following differential privacy; call it with the time it runs at."""
    sync_archive(engine, example_archive)
    follow(engine, USER_ID, "differential privacy")
    settings = load_settings(None, DIGEST_CHANNEL="C0SD")
    client = posting_client(BOT_TOKEN, fake.api_url)
    live = LiveSearch(Catalog(engine), index_dir=tmp_path / "index", min_interval=0)

    def dms(now: dt.datetime) -> Any:
        return send_weekly_dms(engine, client, live.engine(), now=now, min_interval=0, sleep=lambda s: None)

    return lambda now: run_weekly(engine, example_archive, client, now, settings, dms, sleep=lambda s: None)


def test_the_weekly_job_sends_the_dms_after_posting(engine: Engine, example_archive: Path, fake: FakeSlack, tmp_path: Path) -> None:
    """The scheduler's job: sync, post the week, then the DMs (follows made before the week was posted)."""
    job = weekly_job(engine, example_archive, fake, tmp_path)
    report = job(NOW)
    assert report.ok and report.publish is not None and report.publish.posted == 9
    assert report.dms is not None and report.dms.sent == 1 and len(fake.dms(USER_ID)) == 1
    assert report.as_dict()["dms"]["sent"] == 1
    again = job(NOW + dt.timedelta(hours=1))
    assert again.dms is not None and again.dms.sent == 0 and len(fake.dms(USER_ID)) == 1


def test_papers_indexed_into_a_posted_week_join_the_same_dm(engine: Engine, example_archive: Path, fake: FakeSlack, tmp_path: Path) -> None:
    """A paper added to the week after its DM went out: posted in the channel, then added to that DM."""
    from bot.model import Paper, TopicRef
    from tests.support.archive_writer import entry_text

    job = weekly_job(engine, example_archive, fake, tmp_path)
    first = job(NOW)
    assert first.dms is not None and first.dms.sent == 1
    [before] = fake.dms(USER_ID)
    late = Paper(
        arxiv_id="2501.17777", url="http://arxiv.org/abs/2501.17777",
        title="Differential Privacy for Late Ledgers", title_ja="遅れて届いた台帳の差分プライバシー",
        authors=("Quinn Zebulon",), summary=("差分プライバシーで台帳を守る",),
        topics=(TopicRef("dp", "差分プライバシー"),), categories=("cs.CR",), posted_at=dt.datetime(2025, 1, 20, 9, 0),
    )
    digest = example_archive / "_dp" / "2025-01-17.md"
    digest.write_text(digest.read_text(encoding="utf-8") + f"\n- - -\n\n{entry_text(late)}\n", encoding="utf-8")

    second = job(NOW + dt.timedelta(hours=3))
    assert second.publish is not None and second.publish.posted >= 1  # the new paper has its thread now
    assert second.dms is not None and (second.dms.sent, second.dms.updated) == (0, 1)
    [after] = fake.dms(USER_ID)  # the same DM, brought up to date
    assert after["ts"] == before["ts"] and "2501.17777" in dm_ids(after) and "2501.17777" not in dm_ids(before)
