"""A follow's text as the person meant it: stored plain, escaped once, its `*` and backticks harmless.

Slack sends `AT&T privacy` as `AT&amp;T privacy`. It was stored so, and shown
escaped again (`AT&amp;T` on screen), on the Home tab a third time; the
following list wrapped the query in two pairs of backticks; a `*` in a
followed query ended the weekly DM's bold early. Driven as Slack drives the
bot (signed HTTP, a local fake Slack) and through the weekly DM pass.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, select, update

from bot.config import load_settings
from bot.personal import follows, records
from bot.render.actions import parse_follow_value
from bot.render.personal import follow_nothing
from bot.render.weekly_dm import FollowGroup, weekly_dm
from bot.search import LiveSearch
from bot.slack.client import posting_client
from bot.store import Catalog, migrate, sync_archive
from bot.store.personal import follows as follows_table
from bot.weekly.dms import send_weekly_dms
from tests.conftest import EXAMPLE_ARCHIVE
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_slack import BOT_TOKEN, BOT_USER_ID, USER_ID, FakeSlack
from tests.support.publishing import publish
from tests.support.slack_requests import app_home_opened_event

NOW = dt.datetime(2025, 1, 24, 9, tzinfo=dt.UTC)
WEEK = dt.date(2025, 1, 17)
PEOPLE = {USER_ID: "alice", "U0BOB": "bob", BOT_USER_ID: "digest-bot"}


#: Whom the fake Slack knows: read by the `fake_slack` fixture (tests/conftest.py).
FAKE_SLACK_OPTIONS = {"users": PEOPLE}


def texts(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False)


def mrkdwn(payload: dict[str, Any]) -> list[str]:
    """Every mrkdwn text of a message or view (sections, their fields, contexts)."""
    found: list[str] = []
    for block in payload.get("blocks", []):
        for obj in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]:
            if isinstance(obj, dict) and obj.get("type") == "mrkdwn":
                found.append(obj["text"])
    return found


@pytest.fixture(scope="module")
def fake(module_fake_slack: FakeSlack) -> FakeSlack:
    """The module's one fake Slack: its tests share one running bot."""
    return module_fake_slack


@pytest.fixture(scope="module")
def bot(fake: FakeSlack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    with running_bot(fake, EXAMPLE_ARCHIVE, tmp_path_factory.mktemp("bot"), now=lambda: NOW) as running:
        yield running


def ask(bot: RunningBot, text: str, user: str = USER_ID) -> dict[str, Any]:
    status, url = bot.command(text, user_id=user)
    assert status == 200
    [answer] = bot.answer(url)
    return answer


def test_an_ampersand_is_stored_plain_and_shown_escaped_once(bot: RunningBot) -> None:
    user = "U0BOB"
    # What Slack sends for "/papers follow AT&T privacy": its text escaped once.
    nothing = ask(bot, "follow AT&amp;T privacy", user)
    assert "AT&amp;T privacy" in " ".join(mrkdwn(nothing)) and "&amp;amp;" not in texts(nothing)
    anyway = next(
        e for b in nothing["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"] == "follow:anyway"
    )
    _, url = bot.click(anyway["action_id"], anyway["value"], user_id=user)
    [saved] = bot.answer(url)
    assert "AT&amp;T privacy" in " ".join(mrkdwn(saved)) and "&amp;amp;" not in texts(saved)

    assert [f.query for f in records.user_follows(bot.engine, user)] == ["AT&T privacy"]  # stored plain

    listed = ask(bot, "following", user)
    [line] = [t for t in mrkdwn(listed) if "AT&" in t]
    assert "`AT&amp;T privacy`" in line and "``" not in line  # escaped once, one pair of backticks

    assert bot.event(app_home_opened_event(user)) == 200
    home = bot.fake.wait_for(lambda: bot.fake.home(user))
    assert "AT&amp;T privacy" in texts(home) and "&amp;amp;" not in texts(home)

    assert "Unfollowed" in texts(ask(bot, "unfollow AT&amp;T privacy", user))  # found by what Slack sends
    assert records.user_follows(bot.engine, user) == []


def test_a_followed_query_reads_back_the_same_query() -> None:
    for typed in ("AT&amp;T privacy", 'author:"Smith &amp; Co" fl', "R&amp;amp;D", "differential privacy"):
        made = follows.follow_query(typed)
        assert made is not None
        assert follows.parse_follow(made.text) == made.query
        [anyway] = [e for b in follow_nothing(made.text, ())["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert follows.follow_query(parse_follow_value(anyway["value"]) or "") == made  # "Follow anyway" follows just that


def test_a_star_in_a_followed_query_keeps_the_dm_bold(engine: Engine, example_archive: Path, tmp_path: Path) -> None:
    sync_archive(engine, example_archive)
    with FakeSlack(users=PEOPLE) as fake:
        settings = load_settings(None, DIGEST_CHANNEL="C0SD")
        client = posting_client(BOT_TOKEN, fake.api_url)
        assert publish(engine, client, settings, NOW).ok
        search = LiveSearch(Catalog(engine), index_dir=tmp_path / "index").engine()
        made = follows.follow_query("privacy*")
        assert made is not None and made.text == "privacy*"
        records.add_follow(engine, USER_ID, made.text, now=NOW)
        assert send_weekly_dms(engine, client, search, now=NOW, min_interval=0, sleep=lambda s: None).sent == 1
        [dm] = fake.dms(USER_ID)
    [heading] = [line for t in mrkdwn(dm) for line in t.split("\n") if line.startswith("🔔")]
    assert heading.count("*") == 2 and heading.startswith("🔔 *") and heading.endswith("*")  # one bold span
    assert "privacy∗" in heading


def test_backticks_and_stars_of_a_query_stay_inside_their_spans() -> None:
    paper = next(p for d in example_catalog().digests(week=WEEK, with_papers=True) for p in d.papers)
    rendered = weekly_dm(WEEK, [FollowGroup("a*b `x` privacy", (paper,), 9)])
    assert rendered is not None
    lines = [line for t in mrkdwn(rendered[0]) for line in t.split("\n")]
    [heading] = [line for line in lines if line.startswith("🔔")]
    assert heading.count("*") == 2 and "`" not in heading
    [more] = [line for line in lines if line.startswith("…and")]
    assert more.count("`") == 2 and "a*b ʼxʼ privacy" in more  # the command as typed, in one code span


def example_catalog() -> Catalog:
    """The example archive in an in-memory store."""
    from bot.store import open_engine

    engine = open_engine("sqlite://")
    sync_archive(engine, EXAMPLE_ARCHIVE)
    return Catalog(engine)


@pytest.mark.backends("sqlite", "postgresql")
def test_follows_stored_escaped_before_are_made_plain_by_the_migration(engine: Engine) -> None:
    with engine.begin() as conn:
        command.downgrade(migrate.config(conn), "0003")
    with engine.begin() as conn:
        conn.execute(follows_table.insert().values(
            user_id="U0OLD", query="AT&amp;T privacy", query_key=records.query_key("AT&amp;T privacy"), created_at=NOW,
        ))
    migrate.upgrade(engine)
    [follow] = records.user_follows(engine, "U0OLD")
    assert follow.query == "AT&T privacy"
    with engine.connect() as conn:
        key = conn.execute(select(follows_table.c.query_key)).scalar_one()
    assert key == records.query_key("AT&T privacy")  # following it again is "already followed"
    assert records.add_follow(engine, "U0OLD", follows.follow_query("AT&amp;T privacy").text, now=NOW) is None  # type: ignore[union-attr]
    with engine.begin() as conn:
        conn.execute(update(follows_table).values(created_at=NOW))
