"""Papers per topic per week: the numbers behind the trends chart and the weekly recap.

Read from the store (`Catalog`) and returned as a value, so that the chart
(`bot.charts.trends`), the text version (`bot.render.trends`), the recap and
`digest-bot trends` all show the same numbers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.model import Topic
from bot.store import Catalog

#: Weeks a chart shows: about a quarter.
WEEKS = 12


@dataclass(frozen=True, slots=True)
class Trends:
    """Counts per topic (rows) and digest week (columns, oldest first); `current` is highlighted."""

    weeks: tuple[dt.date, ...]
    topics: tuple[Topic, ...]
    counts: dict[str, tuple[int, ...]]
    current: dt.date | None

    @property
    def empty(self) -> bool:
        return not self.weeks or not any(any(row) for row in self.counts.values())

    def total(self, slug: str) -> int:
        return sum(self.counts.get(slug, ()))

    def week_total(self, index: int) -> int:
        return sum(row[index] for row in self.counts.values())

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
    catalog: Catalog, *, weeks: int = WEEKS, until: dt.date | None = None, topic: str | None = None
) -> Trends:
    """The last `weeks` digest weeks up to the week holding `until` (default: the newest).

    `topic` (a slug) keeps that topic only. Topics are ordered by papers over
    the whole span, most first, so the legend reads like a ranking. A week
    where a topic had no digest counts 0.
    """
    spans = catalog.week_spans()  # newest first
    if until is not None:
        spans = [s for s in spans if s[0] <= until]
    chosen = sorted(start for start, _ in spans[:weeks])
    if not chosen:
        return Trends((), (), {}, None)
    names = {s.topic.slug: s.topic for s in catalog.topics()}
    counts: dict[str, list[int]] = {}
    position = {week: i for i, week in enumerate(chosen)}
    for slug, week, papers in catalog.digest_counts(chosen[0], chosen[-1]):
        if topic is not None and slug != topic:
            continue
        if week in position:
            counts.setdefault(slug, [0] * len(chosen))[position[week]] += papers
    order = sorted(counts, key=lambda slug: (-sum(counts[slug]), slug))
    return Trends(
        weeks=tuple(chosen),
        topics=tuple(names.get(slug) or Topic(slug, slug, slug) for slug in order),
        counts={slug: tuple(counts[slug]) for slug in order},
        current=chosen[-1],
    )
