"""Thread discussion: which paper a thread is about, and how much it is discussed.

The Slack app's event listeners call `record_reply` for every message event;
cards and `/papers hot` read `threads_for` and `hot`. No message text is
kept: one row per human reply (its ts, thread, user and time), so counting is
idempotent per reply and Slack's event retries never count a reply twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from sqlalchemy import Engine, and_, distinct, func, insert, select
from sqlalchemy.exc import IntegrityError

from bot.engagement.threads import paper_for_thread
from bot.engagement.votes import top_voted, votes_for
from bot.model import Discussed, Paper, ThreadInfo
from bot.store.posts import posts
from bot.store.replies import thread_replies
from bot.store.schema import utc

#: Message subtypes that are a person speaking in a thread. Edits
#: (`message_changed`), deletions, joins and bot messages are not replies.
COUNTED_SUBTYPES = frozenset({None, "", "thread_broadcast", "file_share", "me_message"})
#: `/papers hot week|month`: how far back replies count.
PERIODS: dict[str, dt.timedelta] = {"week": dt.timedelta(days=7), "month": dt.timedelta(days=30)}

_CHUNK = 500


def may_be_reply(
    *,
    thread_ts: str | None,
    user: str | None,
    ts: str,
    bot_user_id: str | None,
    subtype: str | None = None,
    bot_id: str | None = None,
) -> bool:
    """Whether a message event could be a person's reply in a thread (no store read).

    The Slack app asks this before queueing a store write, so that the many
    events that are not replies cost nothing.
    """
    if not thread_ts or thread_ts == ts or subtype not in COUNTED_SUBTYPES:
        return False
    if not isinstance(user, str) or not _is_time(ts) or not _is_time(thread_ts):
        return False  # not shaped like Slack's: nothing to count (and nothing to raise in a worker)
    return bool(user) and user != bot_user_id and not bot_id


def _is_time(ts: object) -> bool:
    if not isinstance(ts, str):
        return False
    try:
        ts_datetime(ts)
    except ValueError:
        return False
    return True


def record_reply(
    engine: Engine,
    *,
    channel: str,
    thread_ts: str | None,
    user: str | None,
    ts: str,
    bot_user_id: str | None,
    subtype: str | None = None,
    bot_id: str | None = None,
) -> bool:
    """Count one reply in a paper's thread; False when it is not one (or already counted).

    Ignored: top-level messages and thread parents, the bot's own and other
    bots' messages, edits/deletions/joins (by subtype), threads that are not a
    paper's. Idempotent per (channel, ts).
    """
    if not may_be_reply(thread_ts=thread_ts, user=user, ts=ts, bot_user_id=bot_user_id, subtype=subtype, bot_id=bot_id):
        return False
    assert thread_ts is not None
    arxiv_id = paper_for_thread(engine, channel, thread_ts)
    if arxiv_id is None:
        return False
    row = {
        "channel": channel,
        "ts": ts,
        "thread_ts": thread_ts,
        "arxiv_id": arxiv_id,
        "user_id": user,
        "replied_at": ts_datetime(ts),
    }
    try:
        with engine.begin() as conn:
            conn.execute(insert(thread_replies).values(row))
    except IntegrityError:
        return False  # Slack delivered this event again
    return True


def ts_datetime(ts: str) -> dt.datetime:
    """A Slack ts ("1700000000.000100") as an aware UTC datetime; ValueError for one that
    is not a time ("Infinity", "1e400", a year past 9999)."""
    try:
        return dt.datetime.fromtimestamp(float(ts), dt.UTC)
    except (OverflowError, OSError) as err:
        raise ValueError(f"not a Slack timestamp: {ts[:40]!r}") from err


def thread_for(engine: Engine, arxiv_id: str, *, channel: str | None = None) -> ThreadInfo | None:
    """The paper's discussion thread (in `channel` if it has one there), or None."""
    return threads_for(engine, [arxiv_id], channel=channel).get(arxiv_id)


def threads_for(
    engine: Engine, arxiv_ids: Sequence[str], *, channel: str | None = None
) -> dict[str, ThreadInfo]:
    """arXiv id -> its thread, for a page of search results in one query per 500 ids.

    A paper posted in several channels has several threads: the one in
    `channel` wins, else the most discussed, else the first posted.
    """
    best: dict[str, tuple[tuple[bool, int, float], ThreadInfo]] = {}
    with engine.connect() as conn:
        for i in range(0, len(arxiv_ids), _CHUNK):
            chunk = list(arxiv_ids[i : i + _CHUNK])
            counts = (
                select(
                    thread_replies.c.channel,
                    thread_replies.c.thread_ts,
                    func.count().label("replies"),
                    func.count(distinct(thread_replies.c.user_id)).label("participants"),
                    func.max(thread_replies.c.replied_at).label("last_reply_at"),
                )
                .where(thread_replies.c.arxiv_id.in_(chunk))
                .group_by(thread_replies.c.channel, thread_replies.c.thread_ts)
                .subquery()
            )
            query = (
                select(
                    posts.c.arxiv_id,
                    posts.c.channel,
                    posts.c.ts,
                    posts.c.permalink,
                    posts.c.posted_at,
                    counts.c.replies,
                    counts.c.participants,
                    counts.c.last_reply_at,
                )
                .select_from(posts)
                .join(
                    counts,
                    and_(counts.c.channel == posts.c.channel, counts.c.thread_ts == posts.c.ts),
                    isouter=True,
                )
                .where(
                    posts.c.kind == "paper", posts.c.state == "posted", posts.c.arxiv_id.in_(chunk)
                )
            )
            for row in conn.execute(query):
                info = ThreadInfo(
                    channel=row.channel,
                    ts=row.ts,
                    permalink=row.permalink,
                    reply_count=row.replies or 0,
                    participants=row.participants or 0,
                    last_reply_at=utc(row.last_reply_at) if row.last_reply_at else None,
                )
                rank = (row.channel == channel, info.reply_count, -float(row.ts))
                current = best.get(row.arxiv_id)
                if current is None or rank > current[0]:
                    best[row.arxiv_id] = (rank, info)
    found = {arxiv_id: info for arxiv_id, (_, info) in best.items()}
    if found:
        voters = votes_for(engine, list(found))
        found = {a: replace(info, votes=voters.get(a, 0)) for a, info in found.items()}
    return found


@dataclass(frozen=True, slots=True)
class HotActivity:
    """A paper's activity in the window, known by id (the catalog not read yet): replies
    and people in its thread, votes added, and its whole thread. `with_paper` makes the
    `Discussed` every reader shows."""

    arxiv_id: str
    replies: int
    participants: int
    thread: ThreadInfo
    votes: int = 0

    @property
    def score(self) -> int:
        """What `/papers hot` ranks by: a reply and a vote count alike."""
        return self.replies + self.votes

    def with_paper(self, paper: Paper) -> Discussed:
        """The same counts with the paper they are about."""
        return Discussed(paper, self.thread, self.replies, self.participants, self.votes)


def window_start(period: Literal["week", "month"], now: dt.datetime) -> dt.datetime:
    """Where `/papers hot week|month` starts counting replies."""
    return now - PERIODS[period]


#: Candidates read per kind (replies, votes) before they are ranked together.
_HOT_CANDIDATES = 200


def hot(
    engine: Engine,
    since: dt.datetime,
    limit: int = 10,
    *,
    channel: str | None = None,
    until: dt.datetime | None = None,
) -> list[HotActivity]:
    """The papers most discussed and voted for in [since, until): replies and votes added
    in the window count alike, then most people in the thread, then the latest activity.

    `channel` counts only that channel's replies and the votes on its messages.
    """
    replies = func.count().label("replies")
    participants = func.count(distinct(thread_replies.c.user_id)).label("participants")
    last = func.max(thread_replies.c.replied_at).label("last")
    query = (
        select(thread_replies.c.arxiv_id, replies, participants, last)
        .where(thread_replies.c.replied_at >= utc(since))
        .group_by(thread_replies.c.arxiv_id)
        .order_by(replies.desc(), participants.desc(), last.desc(), thread_replies.c.arxiv_id)
        .limit(max(limit, _HOT_CANDIDATES))
    )
    if channel is not None:
        query = query.where(thread_replies.c.channel == channel)
    if until is not None:
        query = query.where(thread_replies.c.replied_at < utc(until))
    with engine.connect() as conn:
        rows = {r.arxiv_id: r for r in conn.execute(query)}
    voted = dict(top_voted(engine, since, until, limit=max(limit, _HOT_CANDIDATES), channel=channel))
    ids = list(dict.fromkeys([*rows, *voted]))
    threads = threads_for(engine, ids, channel=channel)
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    items = [
        HotActivity(
            arxiv_id,
            rows[arxiv_id].replies if arxiv_id in rows else 0,
            rows[arxiv_id].participants if arxiv_id in rows else 0,
            threads[arxiv_id],
            voted.get(arxiv_id, 0),
        )
        for arxiv_id in ids
        if arxiv_id in threads
    ]

    def rank(item: HotActivity) -> tuple[int, int, float, str]:
        latest = utc(rows[item.arxiv_id].last) if item.arxiv_id in rows else epoch
        return (-item.score, -item.participants, -latest.timestamp(), item.arxiv_id)

    return sorted(items, key=rank)[:limit]
