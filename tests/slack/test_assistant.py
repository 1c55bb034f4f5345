"""Slack's assistant panel over signed HTTP against the running bot and the fake Slack: a thread
opened gets a greeting and suggested prompts; a question in it gets a status, the archive's
answer in that thread (once: never also as a direct message, never twice for a retry) and the
question as the thread's title; the channel the person looks at travels in the answer's metadata.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from bot.slack.assistant import PROMPT_TITLE, THREAD_TITLE
from tests.conftest import EXAMPLE_ARCHIVE
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_slack import USER_ID, Call, FakeSlack
from tests.support.slack_requests import JSON, event_body

RENYI = "what is renyi differential privacy?"


@pytest.fixture(scope="module")
def fake(module_fake_slack: FakeSlack) -> FakeSlack:
    return module_fake_slack


@pytest.fixture(scope="module")
def bot(fake: FakeSlack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    with running_bot(fake, EXAMPLE_ARCHIVE, tmp_path_factory.mktemp("bot")) as running:
        yield running


def opened(bot: RunningBot, user: str = USER_ID, context_channel: str = "C0SD") -> tuple[str, str]:
    """The person opens the panel: (the DM channel, the thread's ts), once the bot has greeted."""
    event = bot.fake.start_assistant_thread(user, context_channel=context_channel)
    assert bot.event(event) == 200
    channel, ts = event["assistant_thread"]["channel_id"], event["assistant_thread"]["thread_ts"]
    bot.fake.wait_for(lambda: bot.fake.assistant_thread(channel, ts).get("prompts"), 15)
    return channel, ts


def user_message(bot: RunningBot, channel: str, thread_ts: str, text: str, user: str = USER_ID) -> dict[str, Any]:
    """A person's message in the assistant thread (written in the fake first), as Slack's event."""
    ts = bot.fake.add_message(channel, text, user=user, thread_ts=thread_ts)
    return {"type": "message", "channel": channel, "channel_type": "im", "user": user, "text": text, "ts": ts,
            "thread_ts": thread_ts, "event_ts": ts}


def bot_posts(bot: RunningBot, channel: str, thread_ts: str) -> list[Call]:
    return [
        c for c in bot.fake.calls("chat.postMessage")
        if c.params.get("channel") == channel and c.params.get("thread_ts") == thread_ts
    ]


def test_a_new_thread_gets_a_greeting_and_suggested_prompts(bot: RunningBot) -> None:
    channel, ts = opened(bot)
    assert bot.workers.join()
    thread = bot.fake.assistant_thread(channel, ts)
    prompts = thread["prompts"]
    newest = bot.bot.catalog.weeks()[0].week_start
    digests = [d for d in bot.bot.catalog.digests(week=newest, with_papers=True) if not d.topic.aggregate]
    biggest = sorted(digests, key=lambda d: (-len(d.papers), d.topic.slug))[:2]
    assert [p["message"] for p in prompts[:2]] == [f"What is new this week in {d.topic.name_en}?" for d in biggest]
    assert len(prompts) == 4 and all(0 < len(p["title"]) <= PROMPT_TITLE and p["message"] for p in prompts)
    assert thread["prompts_title"] == "Try asking"
    [greeting] = bot_posts(bot, channel, ts)
    assert greeting.ok and "Ask me about the papers" in greeting.params["text"]


def test_a_question_gets_a_status_the_answer_in_its_thread_and_a_title_once(bot: RunningBot) -> None:
    channel, ts = opened(bot)
    assert bot.workers.join()
    greeted = len(bot_posts(bot, channel, ts))
    event = user_message(bot, channel, ts, RENYI)
    assert bot.event(event, event_id="Ev-assistant-1") == 200
    # Slack's retry of the same event (it did not see the 200 in time) is answered once.
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    status, _, _ = bot.send(event_body(event, event_id="Ev-assistant-1"), JSON, headers=retry)
    assert status == 200
    bot.fake.wait_for(lambda: bot.fake.assistant_thread(channel, ts).get("title"), 15)
    assert bot.workers.join()
    [status_call] = [c for c in bot.fake.calls("assistant.threads.setStatus") if c.params["thread_ts"] == ts]
    assert status_call.ok and status_call.params["status"] == "is searching the archive…"
    answers = bot_posts(bot, channel, ts)[greeted:]
    assert len(answers) == 1 and answers[0].ok  # not also answered as a direct message
    blocks = json.dumps(answers[0].params["blocks"], ensure_ascii=False)
    assert "1908.10530" in blocks and "1702.07476" in blocks and "answer:sources" in blocks
    # The channel the person was looking at when the thread opened, as bolt keeps it.
    assert answers[0].params["metadata"]["event_payload"]["channel_id"] == "C0SD"
    assert bot.fake.assistant_thread(channel, ts)["title"] == RENYI
    assert not [c for c in bot.fake.calls("chat.postMessage") if c.params.get("channel") == channel
                and c.params.get("thread_ts") == event["ts"]]


def test_a_changed_context_is_kept_and_a_long_question_titled_short(bot: RunningBot) -> None:
    channel, ts = opened(bot, context_channel="C0SD")
    changed = {
        "type": "assistant_thread_context_changed",
        "assistant_thread": {"user_id": USER_ID, "channel_id": channel, "thread_ts": ts,
                             "context": {"channel_id": "C0FL", "team_id": "T0TEAM", "enterprise_id": None}},
        "event_ts": ts,
    }
    assert bot.event(changed) == 200
    question = "how can we aggregate client updates securely in federated learning " + "without a trusted server " * 6 + "?"
    before = len(bot_posts(bot, channel, ts))
    assert bot.event(user_message(bot, channel, ts, question)) == 200
    title = bot.fake.wait_for(lambda: bot.fake.assistant_thread(channel, ts).get("title"), 15)
    assert len(title) <= THREAD_TITLE and title.endswith("…")
    [answer] = bot_posts(bot, channel, ts)[before:]
    assert answer.params["metadata"]["event_payload"]["channel_id"] == "C0FL"
    assert "1611.04482" in json.dumps(answer.params["blocks"])


def test_messages_from_bots_in_an_assistant_thread_are_not_answered(bot: RunningBot) -> None:
    channel, ts = opened(bot)
    assert bot.workers.join()
    before = len(bot.fake.calls("chat.postMessage"))
    own = {**user_message(bot, channel, ts, RENYI, user="U0BOT"), "bot_id": "B0BOT"}
    assert bot.event(own) == 200
    itself = user_message(bot, channel, ts, RENYI, user="U0BOT")
    assert bot.event(itself) == 200
    assert bot.workers.join()
    assert len(bot.fake.calls("chat.postMessage")) == before


def test_a_malformed_assistant_thread_is_refused_before_any_listener(bot: RunningBot) -> None:
    event = {"type": "assistant_thread_started", "assistant_thread": {"channel_id": "D0USER", "thread_ts": "Infinity"}}
    assert bot.event(event) == 400


@pytest.fixture
def bot_ja(fake_slack: FakeSlack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    with running_bot(fake_slack, EXAMPLE_ARCHIVE, tmp_path_factory.mktemp("bot-ja"), DIGEST_LANG="ja") as running:
        yield running


def test_prompts_follow_the_bots_language(bot_ja: RunningBot) -> None:
    channel, ts = opened(bot_ja)
    prompts = bot_ja.fake.assistant_thread(channel, ts)["prompts"]
    assert prompts[0]["message"].startswith("今週の") and prompts[-1]["message"].endswith("？")
    assert bot_ja.fake.assistant_thread(channel, ts)["prompts_title"] == "質問の例"
