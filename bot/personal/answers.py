"""Answers to one person's own commands: follow, following, unfollow, saved, bibtex, forget me, Home.

Like `bot.lookup`, nothing here talks to Slack: the listeners in
`bot.slack.personal` call these methods from their work queues and deliver
what they return. Reads (searches, lists, the Home tab) and writes (follow,
save, forget) are separate methods, so the Slack app runs each on its own
queue. Every method takes the person's user id and touches only their rows.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.engagement import discussion
from bot.lookup import Lookup
from bot.model import Paper
from bot.personal import follows, privacy, records
from bot.render.bibtex import bibtex
from bot.render.blocks import Message
from bot.render.home import NEW_SHOWN, SAVED_SHOWN, HomeData, TopicWeek, home_view
from bot.render.personal import (
    bibtex_text,
    follow_nothing,
    follow_saved,
    following_list,
    forget_done,
    notice,
    saved_list,
)

log = logging.getLogger(__name__)

#: The Home tab's "new for you": at most this many weeks back, at least the newest week.
HOME_NEW_WEEKS = 4


@dataclass(frozen=True, slots=True)
class FollowPlan:
    """What `/papers follow …` comes to after the check: a follow to save, or an answer now."""

    query: str | None = None
    recent: int = 0
    dropped_dates: bool = False
    answer: Message | None = None


class PersonalLookup:
    """One person's answers, over the same store, search and clock as `Lookup`."""

    def __init__(self, lookup: Lookup) -> None:
        self.lookup = lookup
        self.engine = lookup.engine
        self.catalog = lookup.catalog
        self.lang = lookup.lang

    def _search(self) -> Any:
        return self.lookup.search_index.engine()

    def _now(self) -> dt.datetime:
        return self.lookup.now()

    # ---- follows ---------------------------------------------------------------

    def plan_follow(self, user_id: str, text: str) -> FollowPlan:
        """Check a follow against the archive (a read): saved only if it matches something."""
        made = follows.follow_query(text)
        if made is None:
            return FollowPlan(answer=notice("follow_usage", lang=self.lang))
        if records.count_follows(self.engine, user_id) >= records.MAX_FOLLOWS:
            return FollowPlan(answer=notice("follow_too_many", lang=self.lang, n=records.MAX_FOLLOWS))
        key = records.query_key(made.text)
        if any(records.query_key(f.query) == key for f in records.user_follows(self.engine, user_id)):
            return FollowPlan(answer=notice("follow_exists", lang=self.lang, query=made.text))
        checked = follows.check(self._search(), made, today=self.lookup.today())
        if checked.total == 0:
            return FollowPlan(answer=follow_nothing(made.text, checked.suggestions, lang=self.lang))
        return FollowPlan(made.text, checked.recent, made.dropped_dates)

    def follow_anyway(self, user_id: str, text: str) -> FollowPlan:
        """"Follow anyway": saved without the archive check (an author yet to publish)."""
        made = follows.follow_query(text)
        if made is None:
            return FollowPlan(answer=notice("follow_usage", lang=self.lang))
        return FollowPlan(made.text, 0, made.dropped_dates)

    def save_follow(self, user_id: str, plan: FollowPlan) -> Message:
        """Write the planned follow (a write)."""
        if plan.answer is not None or plan.query is None:
            return plan.answer or notice("follow_usage", lang=self.lang)
        if records.count_follows(self.engine, user_id) >= records.MAX_FOLLOWS:
            return notice("follow_too_many", lang=self.lang, n=records.MAX_FOLLOWS)
        if records.add_follow(self.engine, user_id, plan.query, now=self._now()) is None:
            return notice("follow_exists", lang=self.lang, query=plan.query)
        return follow_saved(plan.query, recent=plan.recent, weeks=follows.RECENT_WEEKS, dropped_dates=plan.dropped_dates, lang=self.lang)

    def following(self, user_id: str) -> Message:
        """`/papers following`: each follow with how much it matched lately."""
        search, today = self._search(), self.lookup.today()
        rows = [
            (f.id, f.query, follows.recent_matches(search, f.query, today=today))
            for f in records.user_follows(self.engine, user_id)
        ]
        muted = records.person(self.engine, user_id).dm_muted
        return following_list(rows, muted=muted, weeks=follows.RECENT_WEEKS, lang=self.lang)

    def unfollow(self, user_id: str, text: str) -> Message:
        """`/papers unfollow N|QUERY` (a write): by its number in `following`, or its text."""
        mine = records.user_follows(self.engine, user_id)
        arg = text.strip()
        target = None
        if arg.isdigit() and 1 <= int(arg) <= len(mine):
            target = mine[int(arg) - 1]
        else:
            made = follows.follow_query(arg)
            key = records.query_key(made.text) if made else None
            target = next((f for f in mine if records.query_key(f.query) == key or f.query.casefold() == arg.casefold()), None)
        if target is None or not records.remove_follow(self.engine, user_id, target.id):
            return notice("unfollow_unknown", lang=self.lang, text=arg or "…")
        return notice("unfollow_done", lang=self.lang, query=target.query)

    def unfollow_id(self, user_id: str, follow_id: int) -> Message:
        """The Unfollow button (a write): then the list as it is now."""
        records.remove_follow(self.engine, user_id, follow_id)
        return self.following(user_id)

    def set_dms(self, user_id: str, on: bool) -> Message:
        records.set_dm_muted(self.engine, user_id, not on, now=self._now())
        return notice("dms_on" if on else "dms_off", lang=self.lang)

    # ---- saved papers ------------------------------------------------------------

    def save(self, user_id: str, arxiv_id: str) -> Message:
        """The Save button (a write)."""
        paper = self.catalog.paper(arxiv_id)
        if paper is None:
            return notice("save_unknown", lang=self.lang)
        if records.count_saved(self.engine, user_id) >= records.MAX_SAVED:
            return notice("saved_full", lang=self.lang, n=records.MAX_SAVED)
        done = records.save_paper(self.engine, user_id, arxiv_id, now=self._now())
        return notice("saved_done" if done else "saved_already", lang=self.lang, title=paper.title or arxiv_id)

    def unsave(self, user_id: str, arxiv_id: str) -> Message:
        paper = self.catalog.paper(arxiv_id)
        if not records.unsave_paper(self.engine, user_id, arxiv_id):
            return notice("unsaved_missing", lang=self.lang)
        return notice("unsaved_done", lang=self.lang, title=(paper.title if paper else "") or arxiv_id)

    def saved(self, user_id: str, offset: int = 0) -> Message:
        """`/papers saved`: a page of the reading list, newest first."""
        page_size = self.lookup.page_size
        rows = records.saved(self.engine, user_id, limit=page_size, offset=offset)
        papers = self.catalog.papers([r.arxiv_id for r in rows])
        threads = discussion.threads_for(self.engine, [p.arxiv_id for p in papers]) if papers else {}
        total = records.count_saved(self.engine, user_id)
        return saved_list(papers, total=total, offset=offset, threads=threads, page_size=page_size, lang=self.lang)

    def bibtex(self, user_id: str) -> tuple[str, int]:
        """The reading list as BibTeX (newest first) and how many papers it holds."""
        rows = records.saved(self.engine, user_id)
        papers = self.catalog.papers([r.arxiv_id for r in rows])
        return bibtex(papers), len(papers)

    def bibtex_as_text(self, text: str, count: int) -> Message:
        return bibtex_text(text, count, lang=self.lang)

    # ---- privacy -----------------------------------------------------------------

    def forget(self, user_id: str, arg: str) -> Message:
        """`/papers forget me` (a write): everything about the person, deleted."""
        if arg.strip().casefold() not in ("me", "私", "わたし"):
            return notice("forget_usage", lang=self.lang)
        counts = privacy.forget_user(self.engine, user_id)
        log.info("forgot user %s at their request: %s", user_id, counts)
        return forget_done(counts, lang=self.lang)

    # ---- the Home tab ------------------------------------------------------------

    def home(self, user_id: str) -> dict[str, Any]:
        """The person's Home tab (reads only; `home_seen` records the visit after)."""
        return home_view(self.home_data(user_id), lang=self.lang)

    def home_data(self, user_id: str) -> HomeData:
        me = records.person(self.engine, user_id)
        mine = records.user_follows(self.engine, user_id)
        weeks = self.catalog.week_spans()  # (first day, last day), newest first: no counting
        week = weeks[0][0] if weeks else None
        topics: list[TopicWeek] = []
        followed = {f.query for f in mine}
        if week is not None:
            for digest in self.catalog.digests(week=week):
                if digest.topic.aggregate:
                    continue
                head, count = self.catalog.digest_head(digest.topic.slug, week, 3)
                topics.append(TopicWeek(digest.topic, count, tuple(head), f"topic:{digest.topic.slug}" in followed))
        new, new_total = self._new_for(mine, me.home_seen_at, weeks)
        saved_rows = records.saved(self.engine, user_id, limit=SAVED_SHOWN)
        saved_papers = self.catalog.papers([r.arxiv_id for r in saved_rows])
        saved_total = records.count_saved(self.engine, user_id)
        hot_items = discussion.hot(self.engine, discussion.window_start("month", self._now()), limit=5)
        hot_papers = {p.arxiv_id: p for p in self.catalog.papers([h.arxiv_id for h in hot_items])}
        hot = tuple((hot_papers[h.arxiv_id], h.thread) for h in hot_items if h.arxiv_id in hot_papers)
        shown_ids = [p.arxiv_id for p in (*new, *saved_papers)]
        threads = discussion.threads_for(self.engine, shown_ids) if shown_ids else {}
        saved_ids = records.saved_among(self.engine, user_id, [p.arxiv_id for p in new]) | {p.arxiv_id for p in saved_papers}
        return HomeData(
            user_id=user_id,
            week=week,
            topics=tuple(topics),
            follows=tuple((f.id, f.query) for f in mine),
            new=tuple(new),
            new_total=new_total,
            saved=tuple(saved_papers),
            saved_total=saved_total,
            saved_ids=frozenset(saved_ids),
            hot=hot,
            threads=threads,
            dm_muted=me.dm_muted,
        )

    def _new_for(
        self, mine: Sequence[records.Follow], seen: dt.datetime | None, weeks: Sequence[tuple[dt.date, dt.date]]
    ) -> tuple[list[Paper], int]:
        """Papers matching the follows in the weeks since the last visit (at least the newest)."""
        if not mine or not weeks:
            return [], 0
        newest = weeks[0][0]
        floor = newest - dt.timedelta(weeks=HOME_NEW_WEEKS - 1)
        since = newest if seen is None else max(min(seen.date(), newest), floor)
        since_week = next((start for start, end in weeks if start <= since <= end), since)
        search = self._search()
        found: dict[str, tuple[float, Paper]] = {}
        total = 0
        for follow in mine:
            response = follows.since_matches(search, follow.query, since_week, limit=NEW_SHOWN)
            total += response.total
            for hit in response.hits:
                if hit.paper.arxiv_id not in found or found[hit.paper.arxiv_id][0] < hit.score:
                    found[hit.paper.arxiv_id] = (hit.score, hit.paper)
        ranked = sorted(found.values(), key=lambda sp: (-sp[0], sp[1].arxiv_id))
        return [p for _, p in ranked], max(total, len(found))

