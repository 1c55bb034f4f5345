"""Asking the archive in Slack, over signed HTTP against the running bot and the fake Slack:
mentions and DMs that ask get the archive's answer in their thread (keywords still get search
results), a question in a paper's thread is answered about that paper, `/papers ask` answers
only the asker and its share button posts for everyone, a Slack retry is answered once, and
with a language model (FakeLlm) the answer replaces a "Searching the archive…" message.

The example archive's newest week (2025-01-17) is posted to C0SD first, so its papers have
threads for the answers' sources to link to.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.render import violations
from bot.render.actions import ANSWER_SHARE
from bot.slack.client import posting_client
from tests.conftest import EXAMPLE_ARCHIVE, schema_problems
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_llm import FakeLlm
from tests.support.fake_slack import Call, FakeSlack
from tests.support.publishing import publish
from tests.support.slack_requests import JSON, event_body

NOW = dt.datetime(2025, 1, 24, 12, 0, tzinfo=dt.UTC)
RENYI = "what is renyi differential privacy?"
SECURE = "how can we aggregate updates securely in federated learning?"
#: Rényi DP of the Sampled Gaussian Mechanism: in the posted week (a thread); Rényi DP itself is not.
SAMPLED = "1908.10530"
RDP = "1702.07476"


@pytest.fixture(scope="module")
def fake(module_fake_slack: FakeSlack) -> FakeSlack:
    return module_fake_slack


@pytest.fixture(scope="module")
def bot(fake: FakeSlack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    with running_bot(fake, EXAMPLE_ARCHIVE, tmp_path_factory.mktemp("bot")) as running:
        yield running


@pytest.fixture(scope="module")
def posted(bot: RunningBot) -> dict[str, str]:
    """The newest week posted to C0SD: arxiv id -> the paper message's ts."""
    report = publish(bot.engine, posting_client("xoxb-test", bot.fake.api_url), bot.bot.settings, NOW)
    assert report.ok and report.posted
    return {
        m["metadata"]["event_payload"]["arxiv_id"]: m["ts"]
        for m in bot.fake.messages("C0SD")
        if (m.get("metadata") or {}).get("event_payload", {}).get("kind") == "paper"
    }


def posts_after(fake: FakeSlack, before: int, count: int = 1) -> list[Call]:
    """The chat.postMessage calls after the first `before`, once `count` of them arrived."""
    calls = fake.wait_for(lambda: (c := fake.calls("chat.postMessage")[before:]) and len(c) >= count and c, 15)
    assert all(c.ok for c in calls), [c.error for c in calls]
    return calls


def mention(
    bot: RunningBot, channel: str, text: str, *, user: str, thread_ts: str | None = None, dm: bool = False
) -> dict[str, Any]:
    """A person's message, written in the fake Slack first (so the answer's thread exists),
    and the event Slack sends the bot for it: an `app_mention`, or with `dm` a `message.im`."""
    ts = bot.fake.add_message(channel, text, user=user, thread_ts=thread_ts)
    event: dict[str, Any] = {"type": "app_mention", "channel": channel, "user": user, "text": text, "ts": ts}
    if dm:
        event.update(type="message", channel_type="im")
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def blocks_of(call: Call | dict[str, Any]) -> str:
    params = call.params if isinstance(call, Call) else call
    return json.dumps(params.get("blocks", []), ensure_ascii=False)


def sources_of(blocks: str) -> list[tuple[str, str]]:
    """(link, arXiv id) of each numbered source line, in order."""
    data = json.loads(blocks)
    text = next(b["text"]["text"] for b in data if b.get("block_id") == "answer:sources")
    return re.findall(r"\*\[\d+\]\* <([^|>]+)\|[^>]*> · [^\n]*?arXiv:(\S+)", text)


def assert_valid(params: dict[str, Any]) -> None:
    message = {"text": params.get("text", ""), "blocks": params.get("blocks", [])}
    assert violations(message) == []
    assert schema_problems(message["blocks"]) == []


# --- mentions and direct messages ------------------------------------------------------------


def test_a_question_by_mention_is_answered_in_its_thread_with_sources_linking_to_threads(
    bot: RunningBot, posted: dict[str, str]
) -> None:
    before = len(bot.fake.calls("chat.postMessage"))
    event = mention(bot, "CGENERAL", f"<@U0BOT> {RENYI}", user="U0ASK1")
    ts = event["ts"]
    assert bot.event(event) == 200
    [call] = posts_after(bot.fake, before)
    assert call.params["channel"] == "CGENERAL" and call.params["thread_ts"] == ts
    assert_valid(call.params)
    sources = sources_of(blocks_of(call))
    assert {a for _, a in sources} >= {SAMPLED, RDP}
    links = {a: link for link, a in sources}
    # A posted paper's source is its discussion thread; one never posted is its arXiv page.
    assert links[SAMPLED].startswith("https://fake.slack.com/archives/C0SD/p" + posted[SAMPLED].replace(".", ""))
    assert links[RDP] == f"https://arxiv.org/abs/{RDP}"
    assert "[1]" in blocks_of(call) and "Answered from the papers' own summaries" in blocks_of(call)


def test_a_question_by_direct_message_is_answered(bot: RunningBot, posted: dict[str, str]) -> None:
    bot.fake.add_channel("D0ASK2")
    before = len(bot.fake.calls("chat.postMessage"))
    dm = mention(bot, "D0ASK2", SECURE, user="U0ASK2", dm=True)
    ts = dm["ts"]
    assert bot.event(dm) == 200
    [call] = posts_after(bot.fake, before)
    assert call.params["channel"] == "D0ASK2" and call.params["thread_ts"] == ts
    assert {"1611.04482", "2102.06387"} <= {a for _, a in sources_of(blocks_of(call))}


def test_keywords_by_mention_are_still_searched(bot: RunningBot) -> None:
    before = len(bot.fake.calls("chat.postMessage"))
    event = mention(bot, "CGENERAL", "<@U0BOT> secure aggregation", user="U0ASK3")
    assert bot.event(event) == 200
    [call] = posts_after(bot.fake, before)
    blocks = blocks_of(call)
    assert "1611.04482" in blocks and "answer:sources" not in blocks  # search results, not an answer


@pytest.mark.parametrize("question", ["what does it compute for the sampled mechanism?", "what does this paper compute?"])
def test_a_question_in_a_papers_thread_is_answered_about_that_paper(
    bot: RunningBot, posted: dict[str, str], question: str
) -> None:
    thread = posted[SAMPLED]
    before = len(bot.fake.calls("chat.postMessage"))
    event = mention(bot, "C0SD", f"<@U0BOT> {question}", user="U0ASK4", thread_ts=thread)
    assert bot.event(event) == 200
    [call] = posts_after(bot.fake, before)
    assert call.params["thread_ts"] == thread
    sources = sources_of(blocks_of(call))
    assert sources[0][1] == SAMPLED  # [1] is the thread's paper


def test_the_cards_words_in_a_papers_thread_still_get_the_card(bot: RunningBot, posted: dict[str, str]) -> None:
    thread = posted[SAMPLED]
    before = len(bot.fake.calls("chat.postMessage"))
    event = mention(bot, "C0SD", "<@U0BOT> what is the summary?", user="U0ASK5", thread_ts=thread)
    assert bot.event(event) == 200
    [call] = posts_after(bot.fake, before)
    assert SAMPLED in blocks_of(call) and "answer:sources" not in blocks_of(call)


def test_a_slack_retry_of_a_question_is_answered_once(bot: RunningBot) -> None:
    before = len(bot.fake.calls("chat.postMessage"))
    event = mention(bot, "CGENERAL", f"<@U0BOT> {RENYI}", user="U0ASK6")
    assert bot.event(event, event_id="Ev-ask-retry") == 200
    retry = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    status, _, _ = bot.send(event_body(event, event_id="Ev-ask-retry"), JSON, headers=retry)
    assert status == 200
    posts_after(bot.fake, before)
    assert bot.workers.join()
    answers = [c for c in bot.fake.calls("chat.postMessage")[before:] if c.params.get("thread_ts") == event["ts"]]
    assert len(answers) == 1


def test_questions_count_against_the_persons_limit(bot: RunningBot) -> None:
    before = len(bot.fake.calls("chat.postMessage"))
    asked = [mention(bot, "CGENERAL", f"<@U0BOT> {RENYI}", user="U0ASKFLOOD") for _ in range(8)]
    for event in asked:
        assert bot.event(event) == 200
    assert bot.workers.join(30)
    threads = {e["ts"] for e in asked}
    calls = [c for c in bot.fake.calls("chat.postMessage")[before:] if c.params["thread_ts"] in threads]
    assert len(calls) == 6 + 1 and sum("asked me a lot" in c.params["text"] for c in calls) == 1


# --- /papers ask -----------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["ask", "質問"])
def test_papers_ask_answers_only_the_asker_with_a_share_button(bot: RunningBot, posted: dict[str, str], word: str) -> None:
    status, url = bot.command(f"{word} {RENYI}", user_id="U0ASK7")
    assert status == 200
    [answer] = bot.answer(url, timeout=15)
    assert answer.get("response_type") == "ephemeral"
    assert_valid(answer)
    assert {SAMPLED, RDP} <= {a for _, a in sources_of(blocks_of(answer))}
    buttons = [e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"].split(":")[0] for b in buttons] == [ANSWER_SHARE]
    assert json.loads(buttons[0]["value"])["q"] == RENYI


def test_the_share_button_posts_the_answer_in_channel_saying_who_shared(bot: RunningBot) -> None:
    _, url = bot.command(f"ask {RENYI}", user_id="U0ASK8")
    [answer] = bot.answer(url, timeout=15)
    button = next(e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"])
    status, click_url = bot.click(button["action_id"], button["value"], user_id="U0SHARER")
    assert status == 200
    [shared] = bot.answer(click_url, timeout=15)
    assert shared["response_type"] == "in_channel" and shared["replace_original"] is False
    assert_valid(shared)
    assert shared["blocks"][0]["block_id"] == "answer:shared" and "<@U0SHARER>" in blocks_of(shared)
    assert {SAMPLED, RDP} <= {a for _, a in sources_of(blocks_of(shared))}
    assert "answer:actions" not in blocks_of(shared)  # shared once: no second button


def test_a_share_value_not_made_by_the_bot_is_refused_politely(bot: RunningBot) -> None:
    status, url = bot.click(f"{ANSWER_SHARE}:0", "<!channel> not json", user_id="U0ASK9")
    assert status == 200
    [reply] = bot.answer(url)
    assert reply["response_type"] == "ephemeral" and "<!channel>" not in json.dumps(reply)


def test_papers_ask_without_a_question_explains_asking(bot: RunningBot) -> None:
    _, url = bot.command("ask", user_id="U0ASK10")
    [reply] = bot.answer(url)
    text = blocks_of(reply)
    assert "/papers ask" in text and "mention" in text and "thread" in text
    _, url = bot.command("help", user_id="U0ASK10")
    [help_] = bot.answer(url)
    assert "/papers ask" in blocks_of(help_)


# --- a language model writes the answer ------------------------------------------------------


@pytest.fixture(scope="module")
def llm() -> Iterator[FakeLlm]:
    with FakeLlm() as fake:
        yield fake


@pytest.fixture(scope="module")
def model_bot(llm: FakeLlm, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    with FakeSlack() as fake:
        tmp: Path = tmp_path_factory.mktemp("model-bot")
        settings: dict[str, Any] = {  # running_bot's **overrides (a reply never misses the timeout)
            "DIGEST_LLM_URL": llm.url, "DIGEST_LLM_MODEL": "fake-model", "DIGEST_LLM_TIMEOUT": "5",
        }
        with running_bot(fake, EXAMPLE_ARCHIVE, tmp, **settings) as running:
            report = publish(running.engine, posting_client("xoxb-test", fake.api_url), running.bot.settings, NOW)
            assert report.ok
            yield running


def ask_model_bot(bot: RunningBot) -> tuple[Call, dict[str, Any]]:
    """Mention the model bot with RENYI; (the progress post, the message as it ends up)."""
    before = len(bot.fake.calls("chat.postMessage"))
    updates = len(bot.fake.calls("chat.update"))
    event = mention(bot, "CGENERAL", f"<@U0BOT> {RENYI}", user="U0MODEL")
    assert bot.event(event) == 200
    [progress] = posts_after(bot.fake, before)
    bot.fake.wait_for(lambda: len(bot.fake.calls("chat.update")) > updates, 15)
    assert bot.workers.join()
    final = next(m for m in bot.fake.messages("CGENERAL") if m["ts"] == progress.response["ts"])
    return progress, final


def test_the_model_gets_the_sources_and_its_answer_replaces_the_progress_message(
    model_bot: RunningBot, llm: FakeLlm
) -> None:
    llm.reply("Rényi DP is a relaxation of DP based on the Rényi divergence [1], computed for sampling [2]. "
              "A made-up claim [9]. <!channel> look!")
    asked = len(llm.requests)
    progress, final = ask_model_bot(model_bot)
    thread = progress.params["thread_ts"]
    assert "Searching the archive" in progress.params["text"]
    request = llm.requests[asked]
    prompt = json.dumps(request.body["messages"], ensure_ascii=False)
    assert request.body["model"] == "fake-model" and SAMPLED in prompt and RDP in prompt
    blocks = json.dumps(final["blocks"], ensure_ascii=False)
    assert "Rényi divergence" in blocks and "Written by fake-model" in blocks
    assert "[9]" not in blocks and "<!channel>" not in blocks and "<!channel>" not in final["text"]
    assert_valid(final)
    # Answered once: the progress message became the answer, no second post.
    assert len([c for c in model_bot.fake.calls("chat.postMessage") if c.params.get("thread_ts") == thread]) == 1


@pytest.mark.parametrize("failure", ["hang", "fail"])
def test_a_model_that_hangs_or_fails_leaves_the_built_in_answer_with_its_note(
    model_bot: RunningBot, llm: FakeLlm, failure: str
) -> None:
    llm.hang() if failure == "hang" else llm.fail(500)
    try:
        _, final = ask_model_bot(model_bot)
    finally:
        llm.reply("No answer set [1].")
    blocks = json.dumps(final["blocks"], ensure_ascii=False)
    assert "The language model did not answer; this is the built-in answer." in blocks
    assert "Answered from the papers' own summaries" in blocks and SAMPLED in blocks


def test_a_progress_message_that_cannot_be_updated_is_followed_by_a_new_post(model_bot: RunningBot, llm: FakeLlm) -> None:
    llm.reply("Rényi DP relaxes DP with the Rényi divergence [1].")
    model_bot.fake.fail("chat.update", "cant_update_message")
    before = len(model_bot.fake.calls("chat.postMessage"))
    event = mention(model_bot, "CGENERAL", f"<@U0BOT> {RENYI}", user="U0MUPD")
    ts = event["ts"]
    assert model_bot.event(event) == 200
    progress, answer = posts_after(model_bot.fake, before, 2)
    assert "Searching the archive" in progress.params["text"]
    assert answer.params["thread_ts"] == ts and "Rényi divergence" in blocks_of(answer)
