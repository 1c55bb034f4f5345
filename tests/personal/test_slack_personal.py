"""The personal layer end to end: signed HTTP in, Web API calls and response_url posts out.

Follows and the weekly DM, saved papers and their BibTeX, reactions as votes,
the Home tab and `/papers forget me`, driven like Slack drives the bot (the
bot in HTTP mode on a free port, Slack a local fake on another).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bibtexparser
import pytest

from bot.config import load_settings
from bot.engagement import votes
from bot.personal import records
from bot.render import violations
from bot.slack.client import posting_client
from bot.store import posts as store
from bot.weekly.dms import send_weekly_dms
from bot.weekly.job import run_weekly
from tests.conftest import EXAMPLE_ARCHIVE, schema_problems
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fake_slack import BOT_TOKEN, BOT_USER_ID, USER_ID, FakeSlack
from tests.support.publishing import publish
from tests.support.slack_requests import (
    FORM,
    app_home_opened_event,
    block_actions_body,
    reaction_event,
)

NOW = dt.datetime(2025, 1, 24, 9, tzinfo=dt.UTC)
WEEK = dt.date(2025, 1, 17)
PEOPLE = {USER_ID: "alice", "U0BOB": "bob", "U0CAROL": "carol", "U0DAN": "dan", "U0EVE": "eve", BOT_USER_ID: "digest-bot"}


#: Whom the fake Slack knows: read by the `fake_slack` fixture (tests/conftest.py).
FAKE_SLACK_OPTIONS = {"users": PEOPLE}


def texts(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False)


def assert_safe(payload: dict[str, Any]) -> None:
    assert violations({"text": payload.get("text", ""), "blocks": payload.get("blocks", [])}) == []
    assert schema_problems(payload.get("blocks", [])) == []
    raw = texts(payload)
    for token in ("<!channel", "<!here", "<!everyone", "<!subteam", "<@"):
        assert token not in raw, raw[:300]


def buttons(payload: dict[str, Any]) -> list[dict[str, Any]]:
    found = [e for b in payload.get("blocks", []) if b.get("type") == "actions" for e in b["elements"]]
    return found + [b["accessory"] for b in payload.get("blocks", []) if "accessory" in b]


def post_week(bot: RunningBot) -> None:
    settings = load_settings(None, DIGEST_CHANNEL="C0SD")
    assert publish(bot.engine, posting_client(BOT_TOKEN, bot.fake.api_url), settings, NOW).ok


def paper_ts(bot: RunningBot, arxiv_id: str) -> str:
    row = store.posts_by_key(bot.engine, "C0SD", [store.paper_key(arxiv_id)])[store.paper_key(arxiv_id)]
    assert row.ts is not None
    return row.ts


@pytest.fixture(scope="module")
def fake(module_fake_slack: FakeSlack) -> FakeSlack:
    """The module's one fake Slack: its tests share one running bot."""
    return module_fake_slack


@pytest.fixture(scope="module")
def bot(fake: FakeSlack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningBot]:
    with running_bot(fake, EXAMPLE_ARCHIVE, tmp_path_factory.mktemp("bot"), now=lambda: NOW) as running:
        post_week(running)
        yield running


def ask(bot: RunningBot, text: str, user: str = USER_ID) -> dict[str, Any]:
    status, url = bot.command(text, user_id=user)
    assert status == 200
    [answer] = bot.answer(url)
    assert answer["response_type"] == "ephemeral"
    assert_safe(answer)
    return answer


# --- reactions as votes --------------------------------------------------------------


def test_votes_are_counted_once_per_person_and_shown_on_cards(bot: RunningBot) -> None:
    fake, arxiv_id = bot.fake, "2109.12298"
    ts = paper_ts(bot, arxiv_id)
    first = fake.react("C0SD", ts, "U0BOB", "eyes")
    assert bot.event(first) == 200
    assert bot.event(first) == 200  # Slack delivers it again (a retry): the same vote
    assert bot.event(fake.react("C0SD", ts, "U0BOB", "fire")) == 200  # the same person again
    assert bot.event(fake.react("C0SD", ts, "U0CAROL", "tada")) == 200
    assert bot.event(fake.react("C0SD", ts, BOT_USER_ID, "robot_face")) == 200  # the bot's own: not a vote
    human = fake.add_message("C0SD", "a person's message", user="U0DAN")
    assert bot.event(fake.react("C0SD", human, "U0EVE", "eyes")) == 200  # not a paper post
    assert bot.event(reaction_event("eyes", channel="C0SD", ts=ts, user="U0EVE", item_user="U0DAN")) == 200
    assert bot.workers.join()
    assert votes.votes_for(bot.engine, [arxiv_id]) == {arxiv_id: 2}

    assert bot.event(fake.react("C0SD", ts, "U0CAROL", "tada", added=False)) == 200
    assert bot.workers.join()
    assert votes.votes_for(bot.engine, [arxiv_id]) == {arxiv_id: 1}
    card = ask(bot, f"id {arxiv_id}")
    assert "👍 1 vote" in texts(card)
    voted = ask(bot, "hot votes")
    assert "Most voted" in texts(voted) and arxiv_id in texts(voted)
    assert arxiv_id in texts(ask(bot, "hot"))  # hot ranks replies and votes together


def test_a_full_write_queue_asks_slack_to_deliver_the_reaction_again(bot: RunningBot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot.workers.writes, "submit", lambda job, what="": False)
    event = reaction_event("eyes", channel="C0SD", ts=paper_ts(bot, "2109.12298"), user="U0EVE")
    assert bot.event(event) == 503


# --- follows -------------------------------------------------------------------------


def test_follow_following_unfollow_and_the_privacy_of_follows(bot: RunningBot) -> None:
    user = "U0DAN"
    done = ask(bot, "follow differential privacy", user)
    assert "Following" in texts(done) and "differential privacy" in texts(done)
    assert "already" in texts(ask(bot, "follow Differential  Privacy", user))
    nothing = ask(bot, "follow zzqxv", user)
    assert "not saved" in texts(nothing)
    anyway = next(b for b in buttons(nothing) if b["action_id"] == "follow:anyway")
    _, url = bot.click(anyway["action_id"], anyway["value"], user_id=user)
    [saved] = bot.answer(url)
    assert "Following" in texts(saved) and "zzqxv" in texts(saved)
    assert "Unfollowed" in texts(ask(bot, "unfollow zzqxv", user))
    ask(bot, "follow author:McMahan week:2025-01-17", user)  # dates are left out of a follow

    listed = ask(bot, "following", user)
    assert "differential privacy" in texts(listed) and "author:McMahan" in texts(listed)
    assert "week:" not in texts(listed)
    assert "Your follows (0)" in texts(ask(bot, "following", "U0EVE"))  # another person sees nothing of it
    unfollow = next(b for b in buttons(listed) if b["action_id"].startswith("unfollow:"))
    status, url = bot.click(unfollow["action_id"], unfollow["value"], user_id="U0EVE")  # not Eve's to remove
    assert status == 200 and bot.workers.join()
    assert len(records.user_follows(bot.engine, user)) == 2
    status, url = bot.click(unfollow["action_id"], unfollow["value"], user_id=user)
    [replaced] = bot.answer(url)
    assert replaced["replace_original"] is True and "Your follows (1)" in texts(replaced)
    assert "Unfollowed" in texts(ask(bot, "unfollow 1", user))
    assert "do not follow" in texts(ask(bot, "unfollow nothing-like-it", user))

    assert "muted" in texts(ask(bot, "follow off", user))
    assert records.person(bot.engine, user).dm_muted
    assert "on" in texts(ask(bot, "follow on", user)) and not records.person(bot.engine, user).dm_muted
    assert "follow QUERY" in texts(ask(bot, "follow", user))


def test_a_follow_then_a_week_posted_brings_exactly_one_dm(tmp_path: Path) -> None:
    """The whole path: a person follows over Slack, the weekly job posts the week, one DM arrives."""
    with FakeSlack(users=PEOPLE) as fake, running_bot(fake, EXAMPLE_ARCHIVE, tmp_path, now=lambda: NOW) as fresh:
        ask(fresh, "follow differential privacy", "U0BOB")
        ask(fresh, "follow federated learning", "U0CAROL")
        ask(fresh, "follow zzqxv quantum gravity", "U0DAN")  # not saved: matches nothing
        settings = load_settings(None, DIGEST_CHANNEL="C0SD")
        client = posting_client(BOT_TOKEN, fake.api_url)

        def dms(now: dt.datetime) -> Any:
            return send_weekly_dms(fresh.engine, client, fresh.bot.search.engine(), now=now, min_interval=0, sleep=lambda s: None)

        report = run_weekly(fresh.engine, EXAMPLE_ARCHIVE, client, NOW, settings, dms, sleep=lambda s: None)
        assert report.ok and report.dms is not None and report.dms.sent == 2
        again = run_weekly(fresh.engine, EXAMPLE_ARCHIVE, client, NOW + dt.timedelta(hours=2), settings, dms, sleep=lambda s: None)
        assert again.dms is not None and again.dms.sent == 0
        [bob], [carol] = fake.dms("U0BOB"), fake.dms("U0CAROL")
        assert fake.dms("U0DAN") == []
        assert "differential privacy" in texts(bob) and "federated learning" in texts(carol)
        assert "fake.slack.com/archives/C0SD" in texts(bob)  # linked to the threads


# --- saved papers and BibTeX -------------------------------------------------------------


def test_save_from_a_card_list_remove_and_bibtex_read_back(bot: RunningBot) -> None:
    user = "U0CAROL"
    results = ask(bot, "differential privacy", user)
    saves = [b for b in buttons(results) if b["action_id"].startswith("paper_save:")]
    assert len(saves) >= 2
    for button in saves[:2]:
        _, url = bot.click(button["action_id"], button["value"], user_id=user)
        [answer] = bot.answer(url)
        assert answer["replace_original"] is False and "Saved" in texts(answer)  # the results stay
    # Save on a weekly post in the channel: answered to the clicker alone.
    post = next(m for m in bot.fake.messages("C0SD") if "paper_save" in texts(m.get("blocks", [])))
    save = next(b for b in buttons(post) if b["action_id"].startswith("paper_save:"))
    _status, url = bot.click(save["action_id"], save["value"], user_id=user, message_ts=post["ts"], message=post)
    [answer] = bot.answer(url)
    assert answer["response_type"] == "ephemeral" and "Saved" in texts(answer)
    saved_ids = [s["value"] for s in saves[:2]] + [save["value"]]
    listed = ask(bot, "saved", user)
    assert all(a in texts(listed) for a in set(saved_ids))
    assert "Your saved papers (0)" in texts(ask(bot, "saved", "U0EVE"))  # theirs alone

    dm_files_before = len(bot.fake.files())
    uploaded = ask(bot, "saved bibtex", user)
    assert "direct messages" in texts(uploaded)
    [bib] = bot.fake.files()[dm_files_before:]
    assert bib.channel == bot.fake.dm_channel(user) and bib.filename.endswith(".bib")
    library = bibtexparser.parse_string(bib.text)
    assert not library.failed_blocks
    entries = {e.key: {f.key: f.value for f in e.fields} for e in library.entries}
    assert set(entries) == set(saved_ids)
    paper = bot.bot.catalog.paper(saved_ids[0])
    assert paper is not None
    fields = entries[saved_ids[0]]
    assert fields["eprint"] == paper.arxiv_id and fields["archivePrefix"] == "arXiv"
    assert fields["url"] == f"https://arxiv.org/abs/{paper.arxiv_id}" and fields["year"].isdigit()
    assert fields["primaryClass"] == paper.categories[0]
    assert fields["author"].split(" and ")[0] == paper.authors[0]

    remove = next(b for b in buttons(listed) if b["action_id"].startswith("paper_unsave:"))
    _, url = bot.click(remove["action_id"], remove["value"], user_id=user)
    [answer] = bot.answer(url)
    assert "Removed" in texts(answer)
    assert records.count_saved(bot.engine, user) == len(set(saved_ids)) - 1


def test_bibtex_comes_as_text_when_the_upload_fails(bot: RunningBot) -> None:
    user = "U0EVE"
    records.save_paper(bot.engine, user, "2109.12298", now=NOW)
    bot.fake.fail("files.completeUploadExternal", "not_allowed_token_type")
    answer = ask(bot, "saved bibtex", user)
    assert "could not be uploaded" in texts(answer)
    raw = "".join(b["text"]["text"] for b in answer["blocks"] if b["type"] == "section" and "```" in b["text"]["text"])
    text = raw.replace("```", "").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    library = bibtexparser.parse_string(text)
    assert [e.key for e in library.entries] == ["2109.12298"]
    assert "no saved papers" in texts(ask(bot, "saved bibtex", "U0NOBODY"))


# --- the Home tab -------------------------------------------------------------------------


def test_the_home_tab_is_published_on_open_and_refreshed_after_a_click(bot: RunningBot) -> None:
    user = "U0BOB"
    ask(bot, "follow federated learning", user)
    assert bot.event(app_home_opened_event(user)) == 200
    home = bot.fake.wait_for(lambda: bot.fake.home(user))
    assert home["type"] == "home" and len(home["blocks"]) <= 100
    assert_safe({"text": "home", "blocks": home["blocks"]})
    shown = texts(home)
    assert "This week" in shown and "New for you" in shown and "federated learning" in shown
    assert bot.workers.join() and records.person(bot.engine, user).home_seen_at is not None
    save = next(b for b in buttons(home) if b["action_id"].startswith("paper_save:"))
    body = block_actions_body(save["action_id"], save["value"], response_url="", user_id=user, view=home)
    status, _, _ = bot.send(body, FORM)  # a click in the Home tab: no response_url, the tab is refreshed
    assert status == 200
    bot.fake.wait_for(lambda: len(bot.fake.views(user)) >= 2)
    assert save["value"] in {s.arxiv_id for s in records.saved(bot.engine, user)}
    refreshed = bot.fake.home(user)
    assert refreshed is not None and any(b["action_id"].startswith("paper_unsave:") for b in buttons(refreshed))
    assert bot.event(app_home_opened_event(user, tab="messages")) == 200  # the Messages tab: no view
    assert bot.workers.join() and len(bot.fake.views(user)) == 2


# --- forget me ------------------------------------------------------------------------------


def test_forget_me_deletes_everything_about_the_person_and_says_so(bot: RunningBot) -> None:
    user = "U0DAN"
    ask(bot, "follow privacy", user)
    records.save_paper(bot.engine, user, "2109.12298", now=NOW)
    assert bot.event(bot.fake.react("C0SD", paper_ts(bot, "2109.12298"), user, "eyes")) == 200
    assert bot.workers.join()
    done = ask(bot, "forget me", user)
    assert "keeps nothing about you" in texts(done)
    assert records.user_follows(bot.engine, user) == [] and records.count_saved(bot.engine, user) == 0
    assert "forget me" in texts(ask(bot, "forget", user))  # without "me": what it would do


HOSTILE = [
    "<!channel> privacy",
    "<@U123> <#C123|general> <!subteam^S123> federated",
    "`tick` *bold* ~strike~ ```block``` privacy",
    "x" * 3000,
    "\u202eevil\u202c privacy",
    "author:\"<!here>\"",
    "topic:<!everyone>",
    "nul\x00byte privacy",
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_follows_get_safe_answers(bot: RunningBot, text: str) -> None:
    user = "U0EVE"
    for command in (f"follow {text}", "following", f"unfollow {text}", f"saved {text}"):
        answer = ask(bot, command, user)  # ask() checks limits, schema and mentions
        assert answer["text"].strip()
    for follow in records.user_follows(bot.engine, user):
        records.remove_follow(bot.engine, user, follow.id)


def test_personal_commands_in_a_dm_point_to_the_slash_command(bot: RunningBot) -> None:
    """A question in a DM is answered in that thread, which is not private enough for a reading list."""
    bot.fake.add_channel("D0ASK")
    ts = bot.fake.add_message("D0ASK", "following", user="U0EVE")
    event = {"type": "message", "channel": "D0ASK", "channel_type": "im", "user": "U0EVE", "text": "following", "ts": ts}
    assert bot.event(event) == 200
    reply = bot.fake.wait_for(lambda: [m for m in bot.fake.messages("D0ASK") if m.get("user") == BOT_USER_ID])
    assert "/papers following" in texts(reply[0])
