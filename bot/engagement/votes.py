"""Reactions as votes: who reacted on the bot's paper messages, counted per paper.

The Slack app calls `record_reaction` for every `reaction_added` and
`reaction_removed` event; cards, `/papers hot`, the Home tab and the weekly
recap read `votes_for` and `top_voted`. A vote is a person, not an emoji: a
paper's votes are the distinct people with at least one reaction standing on
one of its messages (any emoji but a thumbs-down). Only the bot's own paper
messages in a channel count, never the bot's own reactions.

Idempotent like thread replies: one row per (message, person, emoji), so an
event Slack delivers twice changes nothing, and a removal keeps its row
(inactive) with the Slack time of the newest event applied, so an older add
delivered late cannot bring a removed reaction back.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation

from sqlalchemy import Engine, distinct, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.engagement.threads import paper_for_thread
from bot.store.personal import reactions
from bot.store.schema import utc

log = logging.getLogger(__name__)

#: Reactions that are not a vote for reading the paper.
NOT_VOTES = frozenset({"-1", "thumbsdown"})
#: Slack's emoji names are short; anything longer is cut (it stays one emoji).
MAX_REACTION = 100
_CHUNK = 500


def is_vote(reaction: str) -> bool:
    """Whether an emoji counts as a vote (skin tones are the same emoji)."""
    return reaction.split("::", 1)[0] not in NOT_VOTES


#: The latest event time believed, ahead of this machine's clock: a day. An event
#: time far in the future would make every later event look older and be ignored.
_AHEAD_US = 86_400 * 1_000_000


def _event_us(event_ts: str | None) -> int | None:
    """A Slack event time ("1700000000.000100") in microseconds; now when absent;
    None when it is not a time at all ("Infinity", "1e400", "nan", years ahead)."""
    now = time.time_ns() // 1_000
    if not event_ts:
        return now
    try:
        value = Decimal(str(event_ts))
        us = int(value * 1_000_000) if value.is_finite() else None
    except (InvalidOperation, ValueError, OverflowError):
        us = None
    if us is None or us <= 0:
        return now if us is not None else None
    return us if us <= now + _AHEAD_US else None


def record_reaction(
    engine: Engine,
    *,
    channel: str,
    ts: str,
    user: str | None,
    reaction: str | None,
    added: bool,
    bot_user_id: str | None,
    item_user: str | None = None,
    event_ts: str | None = None,
) -> bool:
    """Apply one reaction event; True when it changed what is recorded (a reaction
    now stands or no longer does: the paper's votes may or may not have moved).

    Ignored (False): the bot's own reactions, reactions on messages that are
    not the bot's paper posts (`item_user`, the message's author, rules most
    out without a store read), thumbs-downs, an event already applied or older
    than the one applied. `event_ts` is the event's own time (Slack's
    `event_ts`), which orders an add and a removal delivered out of order.
    """
    if not user or not channel or not ts or not reaction or (bot_user_id is not None and user == bot_user_id):
        return False
    if item_user is not None and bot_user_id is not None and item_user != bot_user_id:
        return False
    if not is_vote(reaction):
        return False
    arxiv_id = paper_for_thread(engine, channel, ts)
    if arxiv_id is None:
        return False
    us = _event_us(event_ts)
    if us is None:
        log.info("ignored a reaction on %s in %s: its event_ts %r is not a Slack time", ts, channel, str(event_ts)[:40])
        return False
    at = dt.datetime.fromtimestamp(us / 1_000_000, dt.UTC)
    key = {"channel": channel, "ts": ts, "user_id": user, "reaction": reaction[:MAX_REACTION]}
    for _ in range(2):  # a second try when another process inserted the same row first
        try:
            with engine.begin() as conn:
                row = conn.execute(
                    select(reactions.c.active, reactions.c.event_us).where(
                        *(reactions.c[k] == v for k, v in key.items())
                    )
                ).first()
                if row is None:
                    conn.execute(
                        insert(reactions).values(
                            **key, arxiv_id=arxiv_id, active=added, reacted_at=at, event_us=us
                        )
                    )
                    return added
                if us <= row.event_us:
                    return False  # delivered again, or older than what is recorded
                values: dict[str, object] = {"active": added, "event_us": us}
                if added and not row.active:
                    values["reacted_at"] = at
                conn.execute(
                    update(reactions)
                    .where(*(reactions.c[k] == v for k, v in key.items()), reactions.c.event_us == row.event_us)
                    .values(**values)
                )
                return bool(row.active) != added
        except IntegrityError:
            continue
    return False


def votes_for(engine: Engine, arxiv_ids: Sequence[str]) -> dict[str, int]:
    """arXiv id -> distinct people voting for it now (0 for every id without votes)."""
    ids = list(dict.fromkeys(arxiv_ids))
    found = dict.fromkeys(ids, 0)
    with engine.connect() as conn:
        for i in range(0, len(ids), _CHUNK):
            query = (
                select(reactions.c.arxiv_id, func.count(distinct(reactions.c.user_id)))
                .where(reactions.c.active.is_(True), reactions.c.arxiv_id.in_(ids[i : i + _CHUNK]))
                .group_by(reactions.c.arxiv_id)
            )
            found.update((arxiv_id, int(n)) for arxiv_id, n in conn.execute(query))
    return found


def top_voted(
    engine: Engine,
    since: dt.datetime,
    until: dt.datetime | None = None,
    *,
    limit: int = 10,
    channel: str | None = None,
) -> list[tuple[str, int]]:
    """The most voted papers by votes added in [since, until): (arXiv id, people), most first.

    `channel` counts only the votes on that channel's messages (a channel's recap
    reports its own people's votes, not the whole workspace's).

    Ties go to the paper whose latest vote is newer, then by arXiv id, so the
    order is the same on every call.
    """
    voters = func.count(distinct(reactions.c.user_id)).label("voters")
    latest = func.max(reactions.c.reacted_at).label("latest")
    query = (
        select(reactions.c.arxiv_id, voters, latest)
        .where(reactions.c.active.is_(True), reactions.c.reacted_at >= utc(since))
        .group_by(reactions.c.arxiv_id)
        .order_by(voters.desc(), latest.desc(), reactions.c.arxiv_id)
        .limit(max(limit, 0))
    )
    if until is not None:
        query = query.where(reactions.c.reacted_at < utc(until))
    if channel is not None:
        query = query.where(reactions.c.channel == channel)
    with engine.connect() as conn:
        return [(row.arxiv_id, int(row.voters)) for row in conn.execute(query)]
