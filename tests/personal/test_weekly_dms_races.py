"""The weekly DM pass against what people do while it runs: forget me, unfollow, mute.

A pass takes minutes (one DM every `DM_INTERVAL`). Whoever says "forget me"
between two people's DMs gets no DM and leaves no row; one whose DM is on its
way when they say it is answered only once it went out, and its row goes too.
Unfollowing and muting mid-pass count likewise. The forget arrives through the
pass's injected pacing (`sleep`) or its checkpoints; a DM "on its way" is held
in the fake Slack for `HELD_FOR` seconds, time enough for a forget that did
not wait for it to answer. The last test says "forget me" as a person does,
`/papers forget me` over signed HTTP to the running bot.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from bot.personal import follows, records
from bot.personal.privacy import FORGOTTEN, forget_user
from bot.search import SearchEngine
from bot.slack.client import posting_client
from bot.store import dms as dm_store
from bot.weekly.dms import send_weekly_dms
from tests.personal.test_weekly_dms import follow
from tests.support.bot_server import running_bot
from tests.support.fake_slack import BOT_TOKEN, BOT_USER_ID, FakeSlack

pytestmark = pytest.mark.backends("sqlite", "postgresql")

NOW = dt.datetime(2025, 1, 24, 9, tzinfo=dt.UTC)
WEEK = dt.date(2025, 1, 17)
# The pass goes through people in the order of their ids.
ANN, BEN, CAT = "U0A1", "U0B2", "U0C3"
#: How long Slack holds a DM while "forget me" arrives: time enough for the forget to
#: answer, were it not waiting for that DM (it never answers early: this bounds the test only).
HELD_FOR = 1.0


#: Whom the fake Slack knows: read by the `fake_slack` fixture (tests/conftest.py).
FAKE_SLACK_OPTIONS = {"users": {ANN: "ann", BEN: "ben", CAT: "cat", BOT_USER_ID: "digest-bot"}}


@pytest.fixture
def posted(posted_week: Engine) -> Engine:
    """The newest week (2025-01-17: dp and fl) posted to C0SD (`posted_week`, tests/conftest.py)."""
    return posted_week


def rows_about(engine: Engine, user: str) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            name: int(conn.execute(select(func.count()).select_from(table).where(table.c.user_id == user)).scalar_one())
            for name, table in FORGOTTEN
        }


def paced_pass(engine: Engine, fake: FakeSlack, search: SearchEngine, between: Any, **options: Any) -> Any:
    """A pass at the real pace, on a clock that moves only when the pass waits; `between()`
    runs in each wait, i.e. between one person's DM and the next."""
    clock = [0.0]

    def sleep(seconds: float) -> None:
        between()
        clock[0] += seconds

    client = posting_client(BOT_TOKEN, fake.api_url)
    return send_weekly_dms(engine, client, search, now=NOW, sleep=sleep, monotonic=lambda: clock[0], min_interval=0.5, **options)


def test_forget_me_between_two_dms_of_a_pass_is_final(posted: Engine, fake: FakeSlack, search: SearchEngine) -> None:
    for user in (ANN, BEN, CAT):
        follow(posted, user, "differential privacy")
    answers: list[dict[str, int]] = []

    def ben_says_forget_me() -> None:
        if len(fake.dms(ANN)) == 1 and not answers:  # Ann's DM went out, Ben's is next
            answers.append(forget_user(posted, BEN))

    report = paced_pass(posted, fake, search, ben_says_forget_me)

    assert answers and answers[0]["follows"] == 1  # he was told the bot keeps nothing about him
    assert fake.dms(BEN) == []  # and got no DM built from the follows he deleted
    assert rows_about(posted, BEN) == dict.fromkeys(rows_about(posted, BEN), 0)  # nor a row naming him
    assert [len(fake.dms(u)) for u in (ANN, CAT)] == [1, 1] and report.ok and report.sent == 2


def test_unfollow_and_mute_between_two_dms_count_at_once(posted: Engine, fake: FakeSlack, search: SearchEngine) -> None:
    follow(posted, ANN, "differential privacy")
    follow(posted, BEN, "differential privacy", "topic:fl")
    follow(posted, CAT, "differential privacy")
    done: list[str] = []

    def ben_unfollows_and_cat_mutes() -> None:
        if len(fake.dms(ANN)) == 1 and not done:
            [privacy, _fl] = records.user_follows(posted, BEN)
            assert records.remove_follow(posted, BEN, privacy.id)
            records.set_dm_muted(posted, CAT, True, now=NOW)
            done.append("yes")

    report = paced_pass(posted, fake, search, ben_unfollows_and_cat_mutes)

    assert done and report.ok and report.sent == 2
    assert fake.dms(CAT) == [] and dm_store.user_rows(posted, CAT) == []
    [row] = dm_store.user_rows(posted, BEN)
    fl = {h.paper.arxiv_id for h in follows.week_matches(search, "topic:fl", WEEK, limit=10).hits}
    privacy_only = {h.paper.arxiv_id for h in follows.week_matches(search, "differential privacy", WEEK, limit=5).hits} - fl
    assert privacy_only and set(row.papers) <= fl  # only what the follow he kept found
    assert "differential privacy" not in str(fake.dms(BEN)[0]["blocks"])


def test_forget_me_while_the_dm_is_on_its_way_answers_after_it_and_deletes_its_row(
    posted: Engine, fake: FakeSlack, search: SearchEngine
) -> None:
    for user in (ANN, BEN, CAT):
        follow(posted, user, "differential privacy")
    dms_when_answered: list[int] = []
    forgetting: list[threading.Thread] = []

    def forget_ben() -> None:
        forget_user(posted, BEN)
        dms_when_answered.append(len(fake.dms(BEN)))

    def checkpoint(point: str, row: dm_store.DmRow | None) -> None:
        if point == "after_intent" and row is not None and row.user_id == BEN and not forgetting:
            gate = fake.hold("chat.postMessage")  # Ben's DM, posted next, waits in Slack a while
            forgetting.append(threading.Thread(target=forget_ben))
            forgetting[0].start()  # "forget me" arrives while Ben's DM is being sent

            def release() -> None:
                forgetting[0].join(timeout=HELD_FOR)  # time enough to answer, were it not waiting
                gate.set()

            threading.Thread(target=release, daemon=True).start()

    report = paced_pass(posted, fake, search, lambda: None, checkpoint=checkpoint)
    forgetting[0].join()

    assert report.ok
    assert dms_when_answered == [1]  # told "nothing kept" only once the DM in flight was out
    assert rows_about(posted, BEN) == dict.fromkeys(rows_about(posted, BEN), 0)  # its row went with the rest
    assert [len(fake.dms(u)) for u in (ANN, CAT)] == [1, 1]


def test_forget_me_over_signed_http_mid_pass_is_final_and_waits_for_a_dm_on_its_way(
    posted: Engine, example_archive: Path, db_url: str, fake: FakeSlack, search: SearchEngine,
    tmp_path: Path,
) -> None:
    """As people meet it: `/papers forget me` sent to the running bot during the pass.

    Ben says it between Ann's DM and his: he gets no DM. Cat says it while Slack
    holds her DM: the answer comes only once the DM went out, and no row is left
    about either of them."""
    for user in (ANN, BEN, CAT):
        follow(posted, user, "differential privacy")
    said: dict[str, str] = {}
    answered_while_held: list[bool] = []

    with running_bot(fake, example_archive, tmp_path / "bot", db_url=db_url) as bot:

        def forget_me(user: str) -> str:
            status, url = bot.command("forget me", user_id=user)
            assert status == 200
            said[user] = url
            return url

        def ben_says_it_after_anns_dm() -> None:
            if len(fake.dms(ANN)) == 1 and BEN not in said:
                assert "keeps nothing about you" in json.dumps(bot.answer(forget_me(BEN)))

        def cat_says_it_while_her_dm_is_held(point: str, row: dm_store.DmRow | None) -> None:
            if point != "after_intent" or row is None or row.user_id != CAT or CAT in said:
                return
            gate = fake.hold("chat.postMessage")  # the DM's post, next, waits in Slack
            url = forget_me(CAT)

            def watch_then_release() -> None:
                try:
                    fake.wait_for(lambda: fake.responses(url), timeout=HELD_FOR)
                    answered_while_held.append(True)
                except TimeoutError:
                    answered_while_held.append(False)
                gate.set()

            threading.Thread(target=watch_then_release, daemon=True).start()

        report = paced_pass(
            posted, fake, search, ben_says_it_after_anns_dm,
            checkpoint=cat_says_it_while_her_dm_is_held,
        )
        assert report.ok and report.sent == 2
        [cat_answer] = bot.answer(said[CAT])
        assert bot.workers.join()

    assert "keeps nothing about you" in json.dumps(cat_answer)
    assert answered_while_held == [False]  # told "nothing kept" only once the DM in flight was out
    assert fake.dms(BEN) == [] and len(fake.dms(CAT)) == 1 and len(fake.dms(ANN)) == 1
    for user in (BEN, CAT):
        assert rows_about(posted, user) == dict.fromkeys(rows_about(posted, user), 0), user
