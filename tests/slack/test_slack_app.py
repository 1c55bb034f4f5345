"""The Slack app end to end: signed HTTP requests in, Web API calls and response_url posts out.

The bot runs in HTTP mode (uvicorn + the ASGI app, as `digest-bot run` serves
it) on a free port; Slack is a local fake on another free port.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.render import violations
from bot.slack.client import posting_client
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_slack import FakeSlack
from tests.support.publishing import publish
from tests.support.slack_requests import FORM, JSON, slash_command_body, url_verification_body


@pytest.fixture(scope="module")
def fake(module_fake_slack: FakeSlack) -> FakeSlack:
    """The module's one fake Slack: its tests share one running bot."""
    return module_fake_slack


@pytest.fixture(scope="module")
def bot(fake: FakeSlack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    from tests.conftest import EXAMPLE_ARCHIVE

    with running_bot(fake, EXAMPLE_ARCHIVE, tmp_path_factory.mktemp("bot")) as running:
        yield running


def texts(payload: dict[str, Any]) -> str:
    """Everything a payload says, as one string (for "it mentions X" checks)."""
    return json.dumps(payload, ensure_ascii=False)


def assert_safe(payload: dict[str, Any], allowed: tuple[str, ...] = ()) -> None:
    """Within Block Kit limits and free of mentions not explicitly allowed."""
    message = {"text": payload.get("text", ""), "blocks": payload.get("blocks", [])}
    assert violations(message) == []
    raw = texts(payload)
    for token in ("<!channel", "<!here", "<!everyone", "<!subteam", "<@"):
        count = raw.count(token) - sum(raw.count(a) for a in allowed if a.startswith(token))
        assert count == 0, f"{token} in {raw[:300]}"


# --- /papers -------------------------------------------------------------------------


def test_the_command_is_acknowledged_before_any_work(bot: RunningBot, monkeypatch: pytest.MonkeyPatch) -> None:
    """Slack gets its 200 while the answer is still being worked out, however long that takes."""
    release = threading.Event()
    answer = bot.bot.lookup.answer

    def slow_answer(text: str | None) -> dict[str, Any]:
        release.wait(timeout=30)
        return answer(text)

    monkeypatch.setattr(bot.bot.lookup, "answer", slow_answer)
    status, url = bot.command("federated lerning")
    assert status == 200 and not release.is_set()
    assert bot.fake.responses(url) == []  # acknowledged, nothing answered yet
    release.set()
    [reply] = bot.answer(url)
    assert reply["response_type"] == "ephemeral" and "Federated" in texts(reply)


def test_search_is_answered_ephemerally(bot: RunningBot) -> None:
    status, url = bot.command("federated lerning")
    assert status == 200
    [answer] = bot.answer(url)
    assert answer["response_type"] == "ephemeral"
    assert "Communication-Efficient Learning" in texts(answer) or "Federated" in texts(answer)
    assert_safe(answer)
    actions = [e for b in answer["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert any(e["action_id"].startswith("results_more") for e in actions)


def test_more_results_replaces_the_previous_answer(bot: RunningBot) -> None:
    _, url = bot.command("privacy")
    [first] = bot.answer(url)
    more = next(
        e for b in first["blocks"] if b["type"] == "actions" for e in b["elements"]
        if e["action_id"].startswith("results_more")
    )
    status, page_url = bot.click(more["action_id"], more["value"])
    assert status == 200
    [second] = bot.answer(page_url)
    assert second["replace_original"] is True
    first_ids = {e["value"] for b in first["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"].startswith("paper_share")}
    second_ids = {e["value"] for b in second["blocks"] if b["type"] == "actions" for e in b["elements"] if e["action_id"].startswith("paper_share")}
    assert second_ids and first_ids.isdisjoint(second_ids)


def test_share_posts_the_card_for_everyone_with_who_shared(bot: RunningBot) -> None:
    status, url = bot.click("paper_share:1-1602.05629", "1602.05629", user_id="U0ALICE")
    assert status == 200
    [shared] = bot.answer(url)
    assert shared["response_type"] == "in_channel" and shared["replace_original"] is False
    assert "<@U0ALICE>" in texts(shared) and "1602.05629" in texts(shared)
    assert_safe(shared, allowed=("<@U0ALICE>",))


def test_pdf_button_is_acknowledged(bot: RunningBot) -> None:
    status, _ = bot.click("paper_pdf:1-1602.05629", "1602.05629")
    assert status == 200


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "/papers"),  # usage
        ("help", "topic:"),
        ("topics", "差分プライバシー"),
        ("topic federated", "連合学習"),
        ("topic 差分", "差分プライバシー"),
        ("topic quantum", "No topic matches"),
        ("author McMahan", "McMahan"),
        ("cat cs.CR", "cs.CR"),
        ("week 2025-01-12", "2025-01-10"),
        ("week last", "There is no digest"),
        ("week someday", "is not a week"),
        ("id https://arxiv.org/abs/1607.00133v2", "Deep Learning with Differential Privacy"),
        ("id 9999.99999", "No paper 9999.99999"),
        ("id nonsense", "is not an arXiv id"),
        ("hot", "Most discussed"),
        ("private payload release", "payload"),  # Bolt alone reads a form holding "payload" as empty
    ],
)
def test_every_form_of_the_command(bot: RunningBot, text: str, expected: str) -> None:
    status, url = bot.command(text)
    assert status == 200
    [answer] = bot.answer(url)
    assert answer["response_type"] == "ephemeral"
    assert expected in texts(answer) or expected in texts(answer).replace("–", "-")
    assert_safe(answer)


HOSTILE = [
    "",
    "x" * 10_000,
    "     ",
    "<!channel> urgent",
    "<!here|here> <!everyone>",
    "<@U123> <@U123|bob> <#C123|general> <!subteam^S123>",
    "&lt;script&gt; &amp;",
    "🔐🧪 federated 🚀",
    "خصوصية تفاضلية",  # Arabic, right to left
    "\u202eevil\u202c privacy",  # a right-to-left override
    "nul\x00byte \x07bell \x1b[31mred",
    '"unbalanced quote privacy',
    "topic:",
    "frobnicate:xyz privacy",
    "since:2099-99-99 until:yesterday",
    "week:notadate",
    "*bold* _it_ ~strike~ `code` ```block```",
    "a" * 3000 + " <!channel>",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_command_text_gets_a_helpful_safe_answer(bot: RunningBot, text: str) -> None:
    status, url = bot.command(text)
    assert status == 200
    [answer] = bot.answer(url)
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].strip()
    assert_safe(answer)


# --- signatures ----------------------------------------------------------------------


def test_requests_not_signed_by_slack_are_refused(bot: RunningBot) -> None:
    url = bot.fake.new_response_url()
    body = slash_command_body("privacy", response_url=url)
    assert bot.send(body, FORM, secret="")[0] == 401  # unsigned
    assert bot.send(body, FORM, secret="not-the-secret")[0] == 401
    assert bot.send(body, FORM, timestamp=int(time.time()) - 10 * 60)[0] == 401  # stale
    tampered = bot.send(body, FORM, headers={"X-Slack-Signature": "v0=" + "0" * 64})
    assert tampered[0] == 401
    time.sleep(0.3)
    assert bot.fake.responses(url) == []  # no effect


MALFORMED: list[tuple[str, bytes, str, dict[str, str] | None]] = [
    ("bad JSON", b'{"type": "event_callback", "event": ', JSON, None),
    ("a JSON array", b'[1, 2, 3]', JSON, None),
    ("payload=garbage", b"payload=garbage", FORM, None),
    ("payload that is not an object", b"payload=%5B1%5D", FORM, None),
    ("non-numeric timestamp", b"command=%2Fpapers&text=x", FORM, {"X-Slack-Request-Timestamp": "soon"}),
    ("no signature at all", b"command=%2Fpapers&text=x", FORM, {}),
    ("not UTF-8", b"\xff\xfe\x00payload", FORM, {"X-Slack-Signature": "v0=" + "0" * 64}),
    ("an absurd Content-Length", b"x", FORM, {"Content-Length": "99999999999"}),
]


@pytest.mark.parametrize(("what", "body", "content_type", "headers"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_requests_get_a_4xx_and_no_traceback(
    bot: RunningBot, caplog: pytest.LogCaptureFixture, what: str, body: bytes, content_type: str,
    headers: dict[str, str] | None,
) -> None:
    """Signed or not, bytes that are not Slack's get a 4xx and one line in the log."""
    if headers is None:
        status, _, _ = bot.send(body, content_type)  # correctly signed garbage
    elif headers == {}:
        status, _, _ = bot.send(body, content_type, secret="")
    else:
        from tests.support.slack_requests import post, sign

        try:
            signed = {**sign(bot.secret, body), **headers}
        except UnicodeDecodeError:  # slack_sdk cannot even sign it
            signed = {"X-Slack-Request-Timestamp": str(int(time.time())), **headers}
        try:
            status, _, _ = post(bot.events_url, body, signed, content_type)
        except OSError:  # the client itself may refuse a lying Content-Length
            status = 400
    assert 400 <= status < 500, (what, status)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info], what


def test_a_request_whose_body_stops_halfway_times_out(bot: RunningBot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.slack.http.READ_TIMEOUT", 0.5)
    host, port = bot.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n\r\n{\"type\":"
        )
        started = time.monotonic()
        answer = sock.recv(1024)
        assert answer.startswith(b"HTTP/1.1 408") and time.monotonic() - started < 4


def test_a_connection_that_never_finishes_its_headers_is_closed(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bot.slack.http.READ_TIMEOUT", 0.5)
    host, port = bot.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        started = time.monotonic()
        assert sock.recv(1024) == b""  # closed by the bot, not by our 5 s timeout
        assert time.monotonic() - started < 4
    # A kept-alive connection that starts a second request and stalls is closed too.
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHo")
        started = time.monotonic()
        while sock.recv(4096):
            pass
        assert time.monotonic() - started < 4


def test_url_verification_and_health(bot: RunningBot) -> None:
    status, _, body = bot.send(url_verification_body("challenge-123"), JSON)
    assert status == 200 and b"challenge-123" in body
    status, _, text = _get(f"{bot.url}/healthz")
    assert status == 200 and json.loads(text)["status"] == "ok"


def _get(url: str) -> tuple[int, dict[str, str], str]:
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, dict(response.headers), response.read().decode()


# --- threads, mentions, direct messages ----------------------------------------------


@pytest.fixture(scope="module")
def posted(bot: RunningBot) -> dict[str, str]:
    """The example archive's newest week posted to C0SD: arxiv id -> message ts."""
    client = posting_client("xoxb-test", bot.fake.api_url)
    report = publish(bot.engine, client, bot.bot.settings, _now())
    assert report.ok and report.posted
    metas = [m for m in bot.fake.messages("C0SD") if (m.get("metadata") or {}).get("event_payload", {}).get("kind") == "paper"]
    return {m["metadata"]["event_payload"]["arxiv_id"]: m["ts"] for m in metas}


def _now():
    import datetime as dt

    return dt.datetime(2025, 1, 24, 12, 0, tzinfo=dt.UTC)


def test_replies_in_a_paper_thread_are_counted_and_shown(bot: RunningBot, posted: dict[str, str]) -> None:
    arxiv_id, ts = next(iter(posted.items()))
    for n, user in enumerate(["U0ALICE", "U0BOB", "U0ALICE"], start=1):
        event = {"type": "message", "channel": "C0SD", "channel_type": "channel", "user": user,
                 "text": "interesting!", "ts": f"{float(ts) + n:.6f}", "thread_ts": ts}
        assert bot.event(event) == 200
    from bot.engagement.discussion import thread_for

    bot.fake.wait_for(lambda: (t := thread_for(bot.engine, arxiv_id)) and t.reply_count == 3)
    info = thread_for(bot.engine, arxiv_id)
    assert info is not None and info.participants == 2
    _, url = bot.command(f"id {arxiv_id}")
    [answer] = bot.answer(url)
    assert "3 replies" in texts(answer) and info.permalink and info.permalink in texts(answer)
    _, url = bot.command("hot")
    [hot] = bot.answer(url)
    assert arxiv_id in texts(hot) and "2 people" in texts(hot)


def test_mention_in_a_paper_thread_answers_about_that_paper(bot: RunningBot, posted: dict[str, str]) -> None:
    arxiv_id, ts = next(iter(posted.items()))
    before = len(bot.fake.calls("chat.postMessage"))
    event = {"type": "app_mention", "channel": "C0SD", "user": "U0ALICE", "text": "<@U0BOT> summary please",
             "ts": f"{float(ts) + 50:.6f}", "thread_ts": ts}
    assert bot.event(event, event_id="Ev-mention-1") == 200
    call = bot.fake.wait_for(lambda: bot.fake.calls("chat.postMessage")[-1] if bot.fake.calls("chat.postMessage")[before:] else None)
    assert call.params["thread_ts"] == ts and arxiv_id in json.dumps(call.params["blocks"])
    # Slack delivering the same event again does not answer twice.
    assert bot.event(event, event_id="Ev-mention-1") == 200
    time.sleep(0.5)
    assert len(bot.fake.calls("chat.postMessage")) == before + 1


def test_related_papers_asked_in_a_paper_thread(bot: RunningBot, posted: dict[str, str]) -> None:
    arxiv_id, ts = next(iter(posted.items()))
    expected = [h.paper.arxiv_id for h in bot.bot.search.engine().related(arxiv_id, limit=5).hits]
    assert expected and arxiv_id not in expected
    before = len(bot.fake.calls("chat.postMessage"))
    event = {"type": "app_mention", "channel": "C0SD", "user": "U0ALICE", "text": "<@U0BOT> related papers?",
             "ts": f"{float(ts) + 60:.6f}", "thread_ts": ts}
    assert bot.event(event, event_id="Ev-related-1") == 200
    call = bot.fake.wait_for(lambda: bot.fake.calls("chat.postMessage")[-1] if bot.fake.calls("chat.postMessage")[before:] else None)
    blocks = json.dumps(call.params["blocks"])
    assert call.params["thread_ts"] == ts
    assert expected[0] in blocks and f"arxiv.org/abs/{arxiv_id}" not in blocks


def test_mention_elsewhere_and_direct_messages_are_searches_in_thread(bot: RunningBot) -> None:
    before = len(bot.fake.calls("chat.postMessage"))
    mention = {"type": "app_mention", "channel": "CGENERAL", "user": "U0BOB", "text": "<@U0BOT> secure aggregation",
               "ts": "1737000000.000100"}
    bot.event(mention)
    dm = {"type": "message", "channel": "D0BOB", "channel_type": "im", "user": "U0BOB", "text": "renyi privacy",
          "ts": "1737000001.000100"}
    bot.fake.add_channel("D0BOB")
    bot.event(dm)
    calls = bot.fake.wait_for(lambda: len(bot.fake.calls("chat.postMessage")) >= before + 2 and bot.fake.calls("chat.postMessage")[before:])
    by_channel = {c.params["channel"]: c.params for c in calls}
    assert by_channel["CGENERAL"]["thread_ts"] == "1737000000.000100"
    assert "1611.04482" in json.dumps(by_channel["CGENERAL"]["blocks"])  # Practical Secure Aggregation
    assert by_channel["D0BOB"]["thread_ts"] == "1737000001.000100"
    assert "1908.10530" in json.dumps(by_channel["D0BOB"]["blocks"])  # Rényi DP of the Sampled Gaussian
    # The bot's own messages and other bots' are never answered.
    own = {**dm, "user": "U0BOT", "ts": "1737000002.000100"}
    other = {**dm, "bot_id": "B0OTHER", "ts": "1737000003.000100"}
    bot.event(own)
    bot.event(other)
    time.sleep(0.5)
    assert len(bot.fake.calls("chat.postMessage")) == before + 2


def test_mentions_and_direct_messages_from_bots_are_never_answered(bot: RunningBot) -> None:
    """Two bots answering each other would never stop: the bot itself included."""
    before = len(bot.fake.calls("chat.postMessage"))
    bot.fake.add_channel("D0LOOP")
    base = {"type": "app_mention", "channel": "CGENERAL", "text": "<@U0BOT> privacy"}
    mentions: list[dict[str, Any]] = [
        {**base, "user": "U0OTHERBOT", "bot_id": "B0OTHER", "ts": "1737000100.000100"},
        {**base, "user": "U0BOT", "ts": "1737000101.000100"},  # its own message mentioning itself
        {**base, "subtype": "bot_message", "bot_id": "B0OTHER", "ts": "1737000102.000100"},
        {**base, "user": "U0WORKFLOW", "bot_profile": {"id": "B0WF"}, "ts": "1737000103.000100"},
        {**base, "ts": "1737000104.000100"},  # no user at all
    ]
    dm = {"type": "message", "channel": "D0LOOP", "channel_type": "im", "text": "privacy"}
    dms: list[dict[str, Any]] = [
        {**dm, "user": "U0OTHERBOT", "bot_profile": {"id": "B0OTHER"}, "ts": "1737000105.000100"},
        {**dm, "user": "U0BOT", "ts": "1737000106.000100"},
    ]
    for event in mentions + dms:
        assert bot.event(event) == 200
    assert bot.workers.join()
    assert len(bot.fake.calls("chat.postMessage")) == before


def test_one_users_flood_of_mentions_is_limited_with_one_polite_notice(bot: RunningBot) -> None:
    before = len(bot.fake.calls("chat.postMessage"))
    for n in range(12):
        mention = {"type": "app_mention", "channel": "CGENERAL", "user": "U0FLOOD", "text": f"<@U0BOT> privacy {n}",
                   "ts": f"1737000200.{n:06d}"}
        assert bot.event(mention) == 200
    other = {"type": "app_mention", "channel": "CGENERAL", "user": "U0CALM", "text": "<@U0BOT> federated",
             "ts": "1737000300.000100"}
    assert bot.event(other) == 200
    assert bot.workers.join()
    calls = bot.fake.calls("chat.postMessage")[before:]
    to_flood = [c for c in calls if c.params["thread_ts"].startswith("1737000200.")]
    notices = [c for c in to_flood if "asked me a lot" in c.params["text"]]
    assert len(to_flood) == 6 + 1 and len(notices) == 1  # six answers, one notice, then quiet
    assert "<@" not in json.dumps(notices[0].params["blocks"])
    assert any(c.params["thread_ts"] == "1737000300.000100" for c in calls)  # others are still answered
