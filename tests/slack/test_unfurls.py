"""arXiv link unfurls end to end: `link_shared` in over signed HTTP, `chat.unfurl` out to the fake Slack.

The bot runs in HTTP mode as `digest-bot run` serves it; the week of the
example archive is posted first, so papers have threads to link back to.
Renders are also checked as pure functions (Block Kit schema and limits).
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.model import Paper, ThreadInfo, TopicRef
from bot.render import unsafe_markup, violations
from bot.render.unfurls import paper_unfurl
from bot.slack.client import posting_client
from bot.slack.unfurls import MAX_UNFURLS, arxiv_links, target_of
from tests.conftest import EXAMPLE_ARCHIVE, schema_problems
from tests.support.archive_writer import write_digest, write_topic_page
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_slack import FakeSlack
from tests.support.publishing import publish
from tests.support.slack_requests import link_shared_event

NOW = dt.datetime(2025, 1, 24, 12, 0, tzinfo=dt.UTC)
KNOWN = "2102.06387"  # in the example archive's newest week (dp and fl)
UNKNOWN = "2501.99999"
MENTIONS = ("<!channel", "<!here", "<!everyone", "<!subteam", "<@")


@pytest.fixture(scope="module")
def fake(module_fake_slack: FakeSlack) -> FakeSlack:
    """The module's one fake Slack: its tests share one running bot."""
    module_fake_slack.add_channel("C0OTHER", "random")
    return module_fake_slack


@pytest.fixture(scope="module")
def bot(fake: FakeSlack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    with running_bot(fake, EXAMPLE_ARCHIVE, tmp_path_factory.mktemp("bot")) as running:
        client = posting_client("xoxb-test", fake.api_url)
        report = publish(running.engine, client, running.bot.settings, NOW)
        assert report.ok and report.posted
        yield running


def thread_of(fake: FakeSlack, arxiv_id: str) -> dict[str, Any]:
    return next(
        m for m in fake.messages("C0SD") if (m.get("metadata") or {}).get("event_payload", {}).get("arxiv_id") == arxiv_id
    )


def paste(bot: RunningBot, channel: str, text: str, urls: list[str], **options: Any) -> tuple[int, str]:
    """A person posts `text` in `channel`; Slack sends link_shared for its arXiv links."""
    ts = bot.fake.add_message(channel, text)
    status = bot.event(link_shared_event(urls, channel=channel, message_ts=ts), **options)
    return status, ts


def wait_unfurled(bot: RunningBot, channel: str, ts: str) -> dict[str, Any]:
    return bot.fake.wait_for(lambda: bot.fake.unfurls(channel, ts))


def settle(bot: RunningBot) -> None:
    assert bot.workers.join(10)


def assert_safe_unfurl(unfurl: dict[str, Any]) -> None:
    message = {"text": "unfurl", "blocks": unfurl["blocks"]}
    assert violations(message) == []
    assert schema_problems(unfurl["blocks"]) == []
    assert unsafe_markup(message) == []
    raw = json.dumps(unfurl, ensure_ascii=False)
    assert not any(token in raw for token in MENTIONS), raw[:300]


def test_a_link_pasted_in_another_channel_unfurls_with_its_thread(bot: RunningBot) -> None:
    thread = thread_of(bot.fake, KNOWN)
    for n, user in enumerate(["U0ALICE", "U0BOB"], start=1):
        reply = {"type": "message", "channel": "C0SD", "channel_type": "channel", "user": user,
                 "text": "nice", "ts": f"{float(thread['ts']) + n:.6f}", "thread_ts": thread["ts"]}
        assert bot.event(reply) == 200
    settle(bot)
    url = f"https://arxiv.org/abs/{KNOWN}v2"
    status, ts = paste(bot, "C0OTHER", f"have you seen <{url}>?", [url])
    assert status == 200
    unfurls = wait_unfurled(bot, "C0OTHER", ts)
    assert list(unfurls) == [url]
    raw = json.dumps(unfurls[url], ensure_ascii=False)
    assert "Distributed Discrete Gaussian" in raw and "セキュア集約" in raw  # both titles
    assert "2 replies — join the discussion" in raw
    permalink = next(
        (c.response["permalink"] for c in bot.fake.calls("chat.getPermalink") if c.params.get("message_ts") == thread["ts"]),
        None,
    )
    assert permalink and permalink in raw  # the way back to the paper's thread
    assert "差分プライバシー" in raw and "2025-01-17" in raw  # topics and week
    assert_safe_unfurl(unfurls[url])


def test_every_form_of_arxiv_link_unfurls_and_each_link_of_a_message(bot: RunningBot) -> None:
    urls = [
        f"https://arxiv.org/pdf/{KNOWN}v1",
        "http://arxiv.org/abs/1908.10530",
        "https://arxiv.org/html/2109.12298v3",
        f"https://arxiv.org/abs/{UNKNOWN}",
    ]
    status, ts = paste(bot, "C0OTHER", " ".join(f"<{u}>" for u in urls), urls)
    assert status == 200
    unfurls = bot.fake.wait_for(lambda: len(bot.fake.unfurls("C0OTHER", ts)) == 3 and bot.fake.unfurls("C0OTHER", ts))
    assert set(unfurls) == set(urls[:3])  # the unknown paper is left to Slack's own preview
    [_call] = [c for c in bot.fake.calls("chat.unfurl") if c.params.get("ts") == ts]  # one call for all of them


def test_a_link_to_a_paper_the_archive_lacks_is_not_unfurled(bot: RunningBot) -> None:
    before = len(bot.fake.calls("chat.unfurl"))
    url = f"https://arxiv.org/abs/{UNKNOWN}"
    status, ts = paste(bot, "C0OTHER", f"<{url}>", [url])
    assert status == 200
    settle(bot)
    assert bot.fake.unfurls("C0OTHER", ts) == {}
    assert len(bot.fake.calls("chat.unfurl")) == before  # not even called


def test_a_link_in_the_composer_and_in_a_direct_message(bot: RunningBot) -> None:
    url = f"https://arxiv.org/abs/{KNOWN}"
    event = link_shared_event([url], channel="COMPOSER", message_ts="1700000000.000100", source="composer",
                              unfurl_id="U123-composer")
    assert bot.event(event) == 200
    unfurls = bot.fake.wait_for(lambda: bot.fake.composer_unfurls("U123-composer"))
    assert list(unfurls) == [url]
    bot.fake.add_channel("D0ALICE", "alice-dm")
    status, ts = paste(bot, "D0ALICE", f"<{url}>", [url])
    assert status == 200 and list(wait_unfurled(bot, "D0ALICE", ts)) == [url]


def test_slack_delivering_the_event_again_unfurls_once(bot: RunningBot) -> None:
    url = f"https://arxiv.org/abs/{KNOWN}"
    ts = bot.fake.add_message("C0OTHER", f"<{url}>")
    event = link_shared_event([url], channel="C0OTHER", message_ts=ts)
    assert bot.event(event, event_id="Ev-unfurl-again") == 200
    wait_unfurled(bot, "C0OTHER", ts)
    assert bot.event(event, event_id="Ev-unfurl-again") == 200
    settle(bot)
    assert len([c for c in bot.fake.calls("chat.unfurl") if c.params.get("ts") == ts]) == 1


def test_a_full_answers_queue_asks_slack_to_deliver_again(bot: RunningBot, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"https://arxiv.org/abs/{KNOWN}"
    ts = bot.fake.add_message("C0OTHER", f"<{url}>")
    event = link_shared_event([url], channel="C0OTHER", message_ts=ts)
    monkeypatch.setattr(bot.workers.answers, "submit", lambda job, what="": False)
    assert bot.event(event, event_id="Ev-unfurl-busy") == 503  # not lost: Slack retries a non-2xx
    monkeypatch.undo()
    assert bot.event(event, event_id="Ev-unfurl-busy") == 200  # the retry is handled
    wait_unfurled(bot, "C0OTHER", ts)


def test_an_unfurl_answers_fast_however_slow_the_answer(bot: RunningBot, monkeypatch: pytest.MonkeyPatch) -> None:
    """The event is acknowledged before the look-up runs."""
    import threading

    from bot.slack import unfurls as module

    release = threading.Event()
    real = module.unfurls_for

    def slow(*args: Any, **kwargs: Any) -> Any:
        release.wait(10)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, "unfurls_for", slow)
    url = f"https://arxiv.org/abs/{KNOWN}"
    started = time.monotonic()
    status, ts = paste(bot, "C0OTHER", f"<{url}>", [url])
    assert status == 200 and time.monotonic() - started < 2 and not release.is_set()
    release.set()
    wait_unfurled(bot, "C0OTHER", ts)


# --- hostile archive text -------------------------------------------------------------

HOSTILE = "<!channel> <!here|here> <@U0BOSS> <#C0SD> <!subteam^S1|team> *bold* & <https://evil.example|click>"


@pytest.fixture(scope="module")
def hostile_bot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    root = tmp_path_factory.mktemp("hostile-archive")
    write_topic_page(root, "ev", f"悪意 {HOSTILE}", f"Evil {HOSTILE}")
    write_topic_page(root, "all", "全て", "All")
    week = dt.date(2025, 1, 17)
    ref = TopicRef("ev", f"悪意 {HOSTILE}")
    paper = Paper(
        arxiv_id="2501.00001",
        url="http://arxiv.org/abs/2501.00001",
        title=f"{HOSTILE} Attack",
        title_ja=f"攻撃 {HOSTILE}",
        authors=("<@U0BOSS>",),
        summary=(f"one {HOSTILE}", f"two {HOSTILE}", "three"),
        topics=(ref,),
        categories=("cs.CR",),
        posted_at=dt.datetime(2025, 1, 18, 9, 0),
    )
    write_digest(root, "ev", ref.name, week, [paper])
    write_digest(root, "all", "全て", week, [paper])
    with FakeSlack() as server, running_bot(server, root, tmp_path_factory.mktemp("hostile")) as running:
        yield running


def test_hostile_archive_text_never_leaks_a_mention_through_an_unfurl(hostile_bot: RunningBot) -> None:
    url = "https://arxiv.org/abs/2501.00001"
    ts = hostile_bot.fake.add_message("C0SD", f"<{url}>")
    assert hostile_bot.event(link_shared_event([url], channel="C0SD", message_ts=ts)) == 200
    unfurls = wait_unfurled(hostile_bot, "C0SD", ts)
    assert_safe_unfurl(unfurls[url])
    raw = json.dumps(unfurls[url], ensure_ascii=False)
    assert "&lt;!channel&gt;" in raw and "Attack" in raw  # shown as text, escaped


# --- pure parts -------------------------------------------------------------------------


def test_event_links_are_read_defensively() -> None:
    links = [{"url": f"https://arxiv.org/abs/{KNOWN}"}, {"url": f"https://arxiv.org/pdf/{KNOWN}v3"},
             {"url": "https://example.org/abs/1234.56789"}, {"url": 42}, "garbage", {"nourl": 1},
             {"url": "https://arxiv.org/abs/" + "9" * 5000}]
    assert arxiv_links(links) == [(f"https://arxiv.org/abs/{KNOWN}", KNOWN)]  # one per paper
    assert arxiv_links("not a list") == [] and arxiv_links(None) == []
    many = [{"url": f"https://arxiv.org/abs/2501.{n:05d}"} for n in range(20)]
    assert len(arxiv_links(many)) == MAX_UNFURLS
    assert target_of({"channel": "C1", "message_ts": "1.2"}).as_kwargs() == {"channel": "C1", "ts": "1.2"}  # type: ignore[union-attr]
    assert target_of({"channel": "COMPOSER", "message_ts": "1.2", "source": "composer", "unfurl_id": "u"}).as_kwargs() == {  # type: ignore[union-attr]
        "unfurl_id": "u", "source": "composer"}
    assert target_of({"links": []}) is None


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_unfurl_render_holds_the_limits_whatever_the_paper(lang: str) -> None:
    huge = Paper(
        arxiv_id="2501.00002",
        url="http://arxiv.org/abs/2501.00002",
        title="T" * 5000 + HOSTILE,
        title_ja="長" * 5000,
        summary=tuple("要点" * 2000 for _ in range(40)),
        topics=tuple(TopicRef(f"t{i}", "名" * 300 + HOSTILE) for i in range(30)),
    )
    threads = [None, ThreadInfo("C1", "1.2", "https://fake.slack.com/archives/C1/p12", 0),
               ThreadInfo("C1", "1.2", "https://x|<!channel>", 5), ThreadInfo("C1", "1.2", None, 1)]
    for thread in threads:
        unfurl = paper_unfurl(huge, lang=lang, thread=thread)
        assert_safe_unfurl(unfurl)
    joined = json.dumps(paper_unfurl(huge, lang=lang, thread=threads[1]), ensure_ascii=False)
    assert ("Start the discussion" if lang == "en" else "議論を始める") in joined
