"""Papers per topic per week: the numbers behind the trends chart and the weekly recap.

Read from the store (`Catalog`) and returned as a value, so that the chart
(`bot.charts.trends`), the text version (`bot.render.trends`), the recap and
`digest-bot trends` all show the same numbers.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bot.model import AGGREGATE_SLUG, Topic
from bot.store import Catalog

#: Weeks a chart shows: about a quarter.
WEEKS = 12


@dataclass(frozen=True, slots=True)
class Trends:
    """Counts per topic (rows) and digest week (columns, oldest first); `current` is highlighted.

    A paper in two topics is counted in each topic's row, so the rows of a
    week may add up to more than its papers: `totals` holds each week's
    distinct papers (the count `weeks` and `/papers week` give), and
    `week_total` reads it. `this_week` says `current` is the calendar's week
    (the clock's today falls in it); otherwise it is named by its date.
    """

    weeks: tuple[dt.date, ...]
    topics: tuple[Topic, ...]
    counts: dict[str, tuple[int, ...]]
    current: dt.date | None
    totals: tuple[int, ...] = ()
    this_week: bool = False

    @property
    def empty(self) -> bool:
        return not self.weeks or not any(any(row) for row in self.counts.values())

    def total(self, slug: str) -> int:
        return sum(self.counts.get(slug, ()))

    def row_sum(self, index: int) -> int:
        """What the topic rows add up to in week `index` (a paper in two topics twice)."""
        return sum(row[index] for row in self.counts.values())

    def week_total(self, index: int) -> int:
        """The week's papers, each once (the rows' sum when no totals were read)."""
        return self.totals[index] if self.totals else self.row_sum(index)

    @property
    def overlaps(self) -> bool:
        """Whether some week's topic rows add up to more than its papers (say so beside them)."""
        return any(self.row_sum(i) > self.week_total(i) for i in range(len(self.weeks)))

    def current_index(self) -> int | None:
        return self.weeks.index(self.current) if self.current in self.weeks else None


def find_topic(catalog: Catalog, text: str) -> Topic | None:
    """A topic by slug, Japanese or English name (case and spacing ignored); None if none is."""
    wanted = " ".join(text.split()).casefold()
    for stats in catalog.topics():
        topic = stats.topic
        if wanted in (topic.slug.casefold(), topic.name_ja.casefold(), topic.name_en.casefold(), topic.label.casefold()):
            return topic
    return None


def trends(
    catalog: Catalog,
    *,
    weeks: int = WEEKS,
    until: dt.date | None = None,
    topic: str | None = None,
    slugs: Sequence[str] | None = None,
    today: dt.date | None = None,
) -> Trends:
    """The last `weeks` digest weeks up to the week holding `until` (default: the newest).

    `topic` (a slug) keeps that topic only; `slugs` keeps those (a channel's
    topics; holding `all` keeps every topic, as the `all` digest holds them).
    Topics are ordered by papers over the whole span, most first, so the
    legend reads like a ranking. A week where a topic had no digest counts 0.
    The week totals count each paper once, over the topics kept. `today` (the
    clock's date in the digest time zone) decides whether the highlighted
    week is "this week"; without it, it never is.
    """
    spans = catalog.week_spans()  # newest first
    if until is not None:
        spans = [s for s in spans if s[0] <= until]
    chosen = sorted(start for start, _ in spans[:weeks])
    if not chosen:
        return Trends((), (), {}, None)
    wanted: set[str] | None = {topic} if topic is not None else None
    if slugs is not None and AGGREGATE_SLUG not in slugs:
        wanted = set(slugs) if wanted is None else wanted & set(slugs)
    names = {s.topic.slug: s.topic for s in catalog.topics()}
    counts: dict[str, list[int]] = {}
    position = {week: i for i, week in enumerate(chosen)}
    for slug, week, papers in catalog.digest_counts(chosen[0], chosen[-1]):
        if wanted is not None and slug not in wanted:
            continue
        if week in position:
            counts.setdefault(slug, [0] * len(chosen))[position[week]] += papers
    order = sorted(counts, key=lambda slug: (-sum(counts[slug]), slug))
    distinct = catalog.week_paper_counts(chosen[0], chosen[-1], slugs=None if wanted is None else sorted(wanted))
    current_end = next(end for start, end in spans if start == chosen[-1])
    return Trends(
        weeks=tuple(chosen),
        topics=tuple(names.get(slug) or Topic(slug, slug, slug) for slug in order),
        counts={slug: tuple(counts[slug]) for slug in order},
        current=chosen[-1],
        totals=tuple(distinct.get(week, 0) for week in chosen),
        this_week=today is not None and chosen[-1] <= today <= current_end,
    )
