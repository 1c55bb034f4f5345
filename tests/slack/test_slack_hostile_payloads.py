"""Signed but hostile or misconfigured traffic, as Slack (or an attacker with the secret) sends it.

Issue 22, items 6, 15 and 16: a wrong signing secret must not stay silent; a
button value with a huge offset must not reach the search engine unbounded
(it killed the process); type-confused payloads (`actions: []`, `user` as a
string, a reaction whose `item` is a list, a numeric `channel`, an
`event_ts` of "Infinity") get a 4xx or are ignored, with one log line, never
a 500 with a traceback. Everything goes over signed HTTP to the running bot.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.render.actions import (
    parse_results_value,
    parse_saved_value,
    parse_topic_value,
    parse_week_value,
)
from bot.search.engine import SearchEngine
from tests.conftest import EXAMPLE_ARCHIVE
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_slack import USER_ID, FakeSlack
from tests.support.slack_requests import FORM, JSON, event_body, reaction_event


@pytest.fixture(scope="module")
def fake(module_fake_slack: FakeSlack) -> FakeSlack:
    """The module's one fake Slack: its tests share one running bot."""
    return module_fake_slack


@pytest.fixture(scope="module")
def bot(fake: FakeSlack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    tmp = tmp_path_factory.mktemp("bot")
    with running_bot(fake, EXAMPLE_ARCHIVE, tmp, DIGEST_INDEX_DIR=str(tmp / "index")) as running:
        yield running


def healthz(bot: RunningBot) -> dict[str, Any]:
    with urllib.request.urlopen(f"{bot.url}/healthz", timeout=5) as response:
        return json.loads(response.read())


def interaction(payload: dict[str, Any]) -> bytes:
    return urlencode({"payload": json.dumps(payload)}).encode()


# --- item 6: a wrong signing secret -------------------------------------------------------


def test_a_run_of_refused_signatures_is_one_warning_naming_the_setting_and_shows_in_healthz(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """Every /papers failed in Slack and the only trace was an INFO line per request."""
    caplog.set_level(logging.INFO, logger="bot.slack.http")
    body = b"command=%2Fpapers&text=privacy"

    def warnings() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING and r.name == "bot.slack.http"]

    for _ in range(4):
        assert bot.send(body, FORM, secret="not-the-app-secret")[0] == 401
    assert warnings() == []  # a stray request or four is not a misconfiguration
    assert "signatures" not in healthz(bot) or not healthz(bot)["signatures"].get("warning")
    for _ in range(6):
        assert bot.send(body, FORM, secret="not-the-app-secret")[0] == 401
    [warning] = warnings()  # once, not per request
    assert "SLACK_SIGNING_SECRET" in warning
    health = healthz(bot)
    assert health["status"] == "ok"  # the bot itself is fine: Slack's requests are not
    assert health["signatures"]["refused_in_a_row"] == 10
    assert "SLACK_SIGNING_SECRET" in health["signatures"]["warning"]

    status, url = bot.command("privacy")  # a good signature resets the count
    assert status == 200 and bot.answer(url)
    assert healthz(bot)["signatures"] == {"refused_in_a_row": 0, "warning": None}
    for _ in range(5):
        assert bot.send(body, FORM, secret="not-the-app-secret")[0] == 401
    assert len(warnings()) == 2  # a new run of refusals is said again


# --- item 15: offsets and sizes read from a payload are bounded -----------------------------


def test_button_values_with_offsets_beyond_any_list_are_refused_at_decoding() -> None:
    huge = 1_000_000_000
    assert parse_results_value(json.dumps({"q": "privacy", "o": huge})) is None
    assert parse_topic_value(json.dumps({"t": "fl", "o": huge})) is None
    assert parse_week_value(json.dumps({"w": "2025-01-13", "o": huge})) is None
    assert parse_saved_value(json.dumps({"o": huge})) is None
    assert parse_results_value(json.dumps({"q": "privacy", "o": 10_000})) == ("privacy", 10_000)
    assert parse_results_value(json.dumps({"q": "privacy", "o": 1e300})) is None


def test_the_search_engine_clamps_an_offset_whatever_its_caller(bot: RunningBot) -> None:
    engine: SearchEngine = bot.bot.search.engine()
    response = engine.search("privacy", limit=5, offset=10**12)
    assert response.hits == () or list(response.hits) == []


def test_a_results_more_click_with_a_billion_offset_is_answered_and_the_bot_lives(bot: RunningBot) -> None:
    """tantivy was asked for a billion hits: a 64 GB allocation, SIGABRT, the whole bot gone."""
    status, url = bot.click("results_more:5", json.dumps({"q": "privacy", "o": 1_000_000_000}))
    assert status == 200
    [answer] = bot.answer(url)
    assert answer["replace_original"] is True and "blocks" in answer
    status, url = bot.command("privacy")
    assert status == 200 and bot.answer(url)  # still serving


# --- item 16: type-confused but signed payloads ---------------------------------------------


def block_actions(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": USER_ID},
        "api_app_id": "A0FAKE",
        "team": {"id": "T0FAKE"},
        "container": {"type": "message", "is_ephemeral": True},
        "response_url": "replaced by the fake's",
        "actions": [{"type": "button", "action_id": "results_more:5", "value": "{}", "action_ts": "1.0"}],
    }
    payload.update(overrides)
    return payload


CONFUSED_INTERACTIONS = {
    "actions is empty": block_actions(actions=[]),
    "actions is a string": block_actions(actions="results_more"),
    "an action is a string": block_actions(actions=["results_more:5"]),
    "action_id is a number": block_actions(actions=[{"type": "button", "action_id": 5, "value": "{}"}]),
    "user is a string": block_actions(user=USER_ID),
    "user is a list": block_actions(user=[USER_ID]),
    "team is a string": block_actions(team="T0FAKE"),
    "container is a list": block_actions(container=[]),
    "response_url is a number": block_actions(response_url=5),
    "save value is a list": block_actions(actions=[{"type": "button", "action_id": "paper_save:1", "value": ["x"]}]),
    "view is a string": block_actions(container={"type": "view"}, view="home"),
}


@pytest.mark.parametrize("payload", CONFUSED_INTERACTIONS.values(), ids=CONFUSED_INTERACTIONS.keys())
def test_type_confused_interactions_get_no_500(
    bot: RunningBot, payload: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    if isinstance(payload.get("response_url"), str):
        payload = {**payload, "response_url": bot.fake.new_response_url()}
    status, _, _ = bot.send(interaction(payload), FORM)
    assert status < 500
    assert bot.workers.join()
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert bot.command("privacy")[0] == 200  # still serving


def event(**fields: Any) -> dict[str, Any]:
    return {"type": "reaction_added", "user": USER_ID, "reaction": "eyes", "event_ts": "1737700000.000100", **fields}


CONFUSED_EVENTS = {
    "reaction item is a list": event(item=["message", "C0SD", "1.0"]),
    "reaction item is a string": event(item="C0SD"),
    "reaction user is a dict": event(user={"id": USER_ID}, item={"type": "message", "channel": "C0SD", "ts": "1.0"}),
    "reaction channel is a number": event(item={"type": "message", "channel": 12345, "ts": "1.0"}),
    "reaction ts is a list": event(item={"type": "message", "channel": "C0SD", "ts": ["1.0"]}),
    "reaction event_ts Infinity": {
        **reaction_event("eyes", channel="C0SD", ts="1737700000.000200"),
        "event_ts": "Infinity",
    },
    "reaction event_ts 1e400": {**reaction_event("eyes", channel="C0SD", ts="1737700000.000200"), "event_ts": "1e400"},
    "reaction event_ts NaN": {**reaction_event("eyes", channel="C0SD", ts="1737700000.000200"), "event_ts": "nan"},
    "message channel is a number": {"type": "message", "channel": 12345, "user": USER_ID, "text": "hi", "ts": "1.0",
                                    "thread_ts": "0.5", "channel_type": "channel"},
    "message user is a dict": {"type": "message", "channel": "C0SD", "user": {"id": USER_ID}, "text": "hi",
                               "ts": "1.0", "thread_ts": "0.5", "channel_type": "channel"},
    "im channel is a number": {"type": "message", "channel": 12345, "user": USER_ID, "text": "privacy",
                               "ts": "2.0", "channel_type": "im"},
    "mention text is a list": {"type": "app_mention", "channel": "C0SD", "user": USER_ID, "text": ["hi"], "ts": "3.0"},
    "home user is a list": {"type": "app_home_opened", "user": [USER_ID], "tab": "home"},
    "link_shared links is a dict": {"type": "link_shared", "channel": "C0SD", "message_ts": "4.0", "links": {"url": "x"}},
    "link_shared channel is a number": {"type": "link_shared", "channel": 5, "message_ts": "4.0",
                                        "links": [{"url": "https://arxiv.org/abs/2109.12298", "domain": "arxiv.org"}]},
}


@pytest.mark.parametrize("payload", CONFUSED_EVENTS.values(), ids=CONFUSED_EVENTS.keys())
def test_type_confused_events_get_no_500_and_no_traceback(
    bot: RunningBot, payload: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    status, _, _ = bot.send(event_body(payload), JSON)
    assert status < 500
    assert bot.workers.join()
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]


def test_an_event_envelope_whose_event_is_not_an_object_is_refused(bot: RunningBot) -> None:
    body = json.dumps({"type": "event_callback", "team_id": "T0FAKE", "event": ["reaction_added"]}).encode()
    status, _, _ = bot.send(body, JSON)
    assert 400 <= status < 500


@pytest.mark.parametrize("event_ts", ["Infinity", "-Infinity", "1e400", "nan", "99999999999999.0", "abc"])
def test_a_reaction_whose_event_ts_is_not_a_time_is_ignored_in_the_writes_worker(
    tmp_path: Path, event_ts: str, caplog: pytest.LogCaptureFixture
) -> None:
    """What reaches the writes worker (Socket Mode has no HTTP door) raised OverflowError there;
    a time years ahead would have made every later event look older and be ignored."""
    from bot.engagement import votes
    from bot.store import open_engine
    from bot.store import posts as store

    engine = open_engine(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    week = dt.date(2025, 1, 17)
    row = store.create_intent(
        engine, channel="C0SD", key=store.paper_key("2501.00001"), kind="paper", slug="dp", week_start=week,
        arxiv_id="2501.00001", content_hash=None, now=dt.datetime(2025, 1, 24, tzinfo=dt.UTC),
    )
    assert row is not None
    store.mark_posted(engine, row.id, ts="1737700000.000100", now=dt.datetime(2025, 1, 24, tzinfo=dt.UTC))
    caplog.set_level(logging.INFO, logger="bot.engagement.votes")
    fields = {"channel": "C0SD", "ts": "1737700000.000100", "user": "U1", "reaction": "eyes", "bot_user_id": "U0BOT",
              "item_user": "U0BOT"}
    assert votes.record_reaction(engine, added=True, event_ts=event_ts, **fields) is False
    assert votes.votes_for(engine, ["2501.00001"]) == {"2501.00001": 0}
    assert [r.getMessage() for r in caplog.records if "event_ts" in r.getMessage()]
    assert votes.record_reaction(engine, added=True, event_ts="1737700001.000000", **fields) is True  # a real one counts
    assert votes.votes_for(engine, ["2501.00001"]) == {"2501.00001": 1}
    engine.dispose()


@pytest.mark.parametrize("ts", ["Infinity", "1e400", "nan"])
def test_a_thread_reply_whose_ts_is_not_a_time_is_not_a_reply(ts: str) -> None:
    from bot.engagement.discussion import may_be_reply

    assert not may_be_reply(thread_ts="1737700000.000100", user="U1", ts=ts, bot_user_id="U0BOT")
    assert not may_be_reply(thread_ts=ts, user="U1", ts="1737700000.000200", bot_user_id="U0BOT")
    assert may_be_reply(thread_ts="1737700000.000100", user="U1", ts="1737700000.000200", bot_user_id="U0BOT")


def test_an_unfollow_click_with_a_forty_digit_id_is_answered_without_a_traceback(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """The id went to SQLite as is: "Python int too large to convert to SQLite INTEGER" in the writes worker."""
    caplog.set_level(logging.INFO)
    status, url = bot.click("unfollow:1", "9" * 40)
    assert status == 200
    [answer] = bot.answer(url)
    assert "blocks" in answer
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


def test_socket_mode_payloads_get_the_same_shape_check(bot: RunningBot, caplog: pytest.LogCaptureFixture) -> None:
    """Socket Mode has no HTTP door: the app itself refuses what is not shaped like Slack's.

    (A few shapes make Bolt's own `BoltRequest` raise while it is built, in Bolt's
    Socket Mode adapter, before the app sees anything: those are left out here.)"""
    from slack_bolt.request import BoltRequest

    from bot.runtime.service import lookup_client, slack_app

    app = slack_app(bot.bot, lookup_client(bot.bot.settings), bot_user_id="U0BOT", workers=bot.workers)
    caplog.set_level(logging.INFO)
    dispatched = 0
    for payload in (*CONFUSED_INTERACTIONS.values(), *({"type": "event_callback", "event": e} for e in CONFUSED_EVENTS.values())):
        try:
            request = BoltRequest(body=dict(payload), mode="socket_mode")
        except (TypeError, AttributeError, KeyError, IndexError):
            continue
        response = app.dispatch(request)
        assert response.status < 500, payload
        dispatched += 1
    assert dispatched >= 20
    assert bot.workers.join()
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records][:5]
