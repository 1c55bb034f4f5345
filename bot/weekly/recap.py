"""The weekly recap's content: what a channel discussed and voted on in a digest week, per topic.

A recap covers one digest week W of one channel: the papers its digests of W
held (per topic), the replies people wrote in paper threads during W's days
(per topic of the paper), the most discussed and the most voted papers of
those days, and the trends chart's numbers (`bot.weekly.trends`). It is posted right
after W's digests are (at the start of the next week), so "last week" is W.
Reads the store only; rendering is `bot.render.recap`, posting
`bot.publisher.recap`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, distinct, func, select

from bot.engagement import discussion
from bot.engagement.votes import top_voted
from bot.model import Discussed, Topic
from bot.store import Catalog
from bot.store.replies import thread_replies
from bot.store.schema import paper_topics, utc
from bot.weekly.trends import Trends, trends

log = logging.getLogger(__name__)

#: Papers listed as most discussed, and as most voted.
TOP = 5

VotesSource = Callable[[Engine, dt.datetime, dt.datetime | None], Sequence[tuple[str, int]]]


@dataclass(frozen=True, slots=True)
class TopicCounts:
    """One topic in the recap's week, as numbers: papers its digest held, replies its papers got.

    (The Home tab's `TopicWeek` is a different thing: a topic's digest with its first papers.)
    """

    topic: Topic
    papers: int
    replies: int


@dataclass(frozen=True, slots=True)
class Recap:
    channel: str
    week_start: dt.date
    week_end: dt.date
    topics: tuple[TopicCounts, ...]
    discussed: tuple[Discussed, ...]
    voted: tuple[Discussed, ...]
    trends: Trends
    week_papers: int | None = None
    week_replies: int | None = None

    @property
    def papers(self) -> int:
        """The week's papers in the channel's digests, each once (a paper in two topics is one)."""
        return self.week_papers if self.week_papers is not None else sum(t.papers for t in self.topics)

    @property
    def replies(self) -> int:
        """The week's replies in the channel's paper threads, each once."""
        return self.week_replies if self.week_replies is not None else sum(t.replies for t in self.topics)

    @property
    def overlaps(self) -> bool:
        """Whether the per-topic lines add up to more than the week (a paper in two topics)."""
        return sum(t.papers for t in self.topics) > self.papers or sum(t.replies for t in self.topics) > self.replies


def window(week_start: dt.date, week_end: dt.date, tz: ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """The week's days in the digest time zone, as [start, end) in UTC."""
    start = dt.datetime.combine(week_start, dt.time(), tz).astimezone(dt.UTC)
    end = dt.datetime.combine(week_end + dt.timedelta(days=1), dt.time(), tz).astimezone(dt.UTC)
    return start, end


def replies_per_topic(engine: Engine, channel: str, since: dt.datetime, until: dt.datetime) -> dict[str, int]:
    """slug -> replies written in `channel` in [since, until) in threads of that topic's papers."""
    query = (
        select(paper_topics.c.slug, func.count(distinct(thread_replies.c.ts)))
        .select_from(thread_replies)
        .join(paper_topics, paper_topics.c.arxiv_id == thread_replies.c.arxiv_id)
        .where(
            thread_replies.c.channel == channel,
            thread_replies.c.replied_at >= utc(since),
            thread_replies.c.replied_at < utc(until),
        )
        .group_by(paper_topics.c.slug)
    )
    with engine.connect() as conn:
        return {slug: int(n) for slug, n in conn.execute(query)}


def replies_total(engine: Engine, channel: str, since: dt.datetime, until: dt.datetime) -> int:
    """Replies written in `channel` in [since, until) in paper threads, each once whatever its paper's topics."""
    query = select(func.count(distinct(thread_replies.c.ts))).where(
        thread_replies.c.channel == channel,
        thread_replies.c.replied_at >= utc(since),
        thread_replies.c.replied_at < utc(until),
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


def default_votes(channel: str | None = None) -> VotesSource:
    """`bot.engagement.votes.top_voted` (reactions as votes) on `channel`'s messages."""

    def source(engine: Engine, since: dt.datetime, until: dt.datetime | None) -> Sequence[tuple[str, int]]:
        return list(top_voted(engine, since, until, limit=TOP, channel=channel))

    return source


def build_recap(
    engine: Engine,
    catalog: Catalog,
    *,
    channel: str,
    week_start: dt.date,
    slugs: Sequence[str],
    tz: ZoneInfo,
    votes: VotesSource | None = None,
    today: dt.date | None = None,
) -> Recap | None:
    """The recap of `channel` for the digest week starting `week_start`; None if the store has no such week.

    The week's papers and replies are counted once each; the per-topic lines
    count a paper in two topics in both (the message says so). A channel
    given the `all` topic holds every paper of the week: its line is the
    `all` digest's, its chart every topic's. `today` is the clock's date, for
    the chart's "this week".
    """
    digests = [d for d in catalog.digests(week=week_start) if d.topic.slug in slugs]
    if not digests:
        return None
    week_end = max(d.week_end for d in digests)
    since, until = window(week_start, week_end, tz)
    counts = {
        slug: n
        for slug, week, n in catalog.digest_counts(week_start, week_start, include_aggregate=True)
        if week == week_start
    }
    replies = replies_per_topic(engine, channel, since, until)
    total_replies = replies_total(engine, channel, since, until)
    week_papers = catalog.week_paper_counts(week_start, week_start, slugs=slugs).get(week_start, 0)
    topics = tuple(
        sorted(
            (
                TopicCounts(
                    d.topic,
                    counts.get(d.topic.slug, 0),
                    total_replies if d.topic.aggregate else replies.get(d.topic.slug, 0),
                )
                for d in digests
            ),
            key=lambda tw: (-tw.papers, -tw.replies, tw.topic.slug),
        )
    )
    hot = discussion.hot(engine, since, limit=TOP, channel=channel, until=until)
    voted_ids: Sequence[tuple[str, int]] = ()
    source = votes if votes is not None else default_votes(channel)
    try:
        voted_ids = [(a, n) for a, n in source(engine, since, until) if n > 0][:TOP]
    except Exception:  # votes are a part of the recap, never a reason for none
        log.exception("could not read the week's votes for the recap of %s", channel)
    ids = [h.arxiv_id for h in hot] + [a for a, _ in voted_ids]
    papers = {p.arxiv_id: p for p in catalog.papers(list(dict.fromkeys(ids)))}
    threads = discussion.threads_for(engine, [a for a, _ in voted_ids], channel=channel)
    discussed = tuple(
        Discussed(papers[h.arxiv_id], h.thread, h.replies, h.participants) for h in hot if h.arxiv_id in papers
    )
    voted = tuple(Discussed(papers[a], threads.get(a), votes=n) for a, n in voted_ids if a in papers)
    chart = trends(catalog, until=week_start, slugs=slugs, today=today)  # a channel's topics; `all`: every one
    return Recap(channel, week_start, week_end, topics, discussed, voted, chart, week_papers, total_replies)
