"""A query's filters (`topic:` `author:` `cat:` `week:` `since:` `until:`) as exact tantivy
queries. Names are typo-tolerant, and a notice says how one was read; a filter that
can match nothing says so and suggests the closest values instead."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import tantivy
from rapidfuzz import fuzz, process

from bot.search.authors import names_with, similar_names
from bot.search.context import QueryContext
from bot.search.normalize import fold, tokens
from bot.search.query import Query


@dataclass(frozen=True, slots=True)
class Filters:
    """A query's filters read against one state of the index."""

    queries: tuple[tantivy.Query, ...]
    impossible: bool  # some filter can match nothing: the query answers nothing
    notices: tuple[str, ...]
    suggestions: tuple[str, ...]


def read_filters(ctx: QueryContext, q: Query) -> Filters:
    """Every filter of `q`, in the order the query language lists them."""
    reading = _Reading(ctx)
    schema = ctx.schema
    queries: list[tantivy.Query] = []
    impossible = False
    for text in q.topics:
        slug = reading.topic(text)
        if slug is None:
            impossible = True
        else:
            queries.append(tantivy.Query.term_query(schema, "topic", slug))
    for texts, read, field in ((q.authors, reading.author, "author"), (q.categories, reading.category, "cat")):
        for text in texts:
            found = read(text)  # every name (category) the typed one may stand for
            if not found:
                impossible = True
            else:
                queries.append(tantivy.Query.term_set_query(schema, field, sorted(found)))
    if q.week is not None:
        start = week_of(ctx.state.weeks, q.week)
        if start is None:
            reading.notices.append(f"no digest week contains {q.week}")
            impossible = True
        else:
            queries.append(tantivy.Query.term_query(schema, "week", start.isoformat()))
    if q.since is not None or q.until is not None:
        queries.append(tantivy.Query.range_query(
            schema, "day", tantivy.FieldType.Integer,
            q.since.toordinal() if q.since else None, q.until.toordinal() if q.until else None,
        ))
    return Filters(tuple(queries), impossible, tuple(reading.notices), tuple(reading.suggestions))


def week_of(weeks: Sequence[dt.date], day: dt.date) -> dt.date | None:
    """The start of the digest week holding `day`: the latest start at most six days before it."""
    starts = [w for w in weeks if w <= day and (day - w).days < 7]
    return max(starts) if starts else None


class _Reading:
    """The filter values read so far, and what was said about them."""

    def __init__(self, ctx: QueryContext) -> None:
        self.ctx = ctx
        self.notices: list[str] = []
        self.suggestions: list[str] = []

    def topic(self, text: str) -> str | None:
        topics = self.ctx.topics
        topic, close = topics.resolve(text)
        if topic is None:
            self.notices.append(f"no topic is called `{text}`")
            if close:
                self.suggestions += [f"topic:{label.rsplit('[', 1)[-1].rstrip(']')}" for label in close]
            else:
                self.suggestions += [f"topic:{t.slug}" for t in topics.nearest(text, 2)]
            return None
        if fold(text) not in (topic.slug, fold(topic.name_ja), fold(topic.name_en)):
            self.notices.append(f"topic `{text}` read as {topic.label}")
        return topic.slug

    def author(self, text: str) -> set[str]:
        """Names (as written) holding every word of `text`: exact words, else completions,
        else one typo in a long word, said so. A surname the archive lacks matches nothing."""
        state = self.ctx.state
        words = tokens(fold(text))
        read: list[str] = []
        names = names_with(state, words, typos=True, read_as=read)
        if not names:
            self.notices.append(f"no author in the archive is called `{text}`")
            self.suggestions += [f'author:"{name}"' for name in similar_names(state, words)]
            return set()
        if read:
            self.notices.append(f"author `{text}` read as {', '.join(read)}")
        return names

    def category(self, text: str) -> set[str]:
        cats = self.ctx.state.categories
        key = fold(text.strip())
        if key in cats:
            return {key}
        found = {c for c in cats if c.startswith(key)}
        if found:
            return found
        self.notices.append(f"no category `{text}` in the archive")
        close = process.extract(key, list(cats), scorer=fuzz.ratio, limit=3, score_cutoff=50)
        self.suggestions += [f"cat:{cat}" for cat, _score, _i in close]
        return set()
