"""What a follow is: a query the search understands, checked against the archive when saved.

A follow is about new papers, so its dates (`week:`, `since:`, `until:`) and
arXiv ids are left out; what remains is kept as the query's canonical text.
It matches a week's papers with `strict=True` (nearly every concept of the
query, the same rule as the count a search reports) plus that week's filter:
a weak match is noise in a DM. Nothing here writes to the store
(`bot.personal.records` does) or talks to Slack.

A follow's text is plain: what the person meant (`AT&T privacy`), unescaped
once where it came in (`parse_query` reads Slack's `&amp;`), stored so, and
escaped once where it is shown. The query language's canonical text keeps
`&` as `&amp;` (it parses back as Slack's text does), so a stored follow is
read back through `parse_follow`, never `parse_query` directly.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from bot.search.engine import SearchEngine
from bot.search.query import Query, parse_query
from bot.search.results import SearchResponse

#: "How many papers it matched lately": this many weeks back.
RECENT_WEEKS = 4


@dataclass(frozen=True, slots=True)
class FollowQuery:
    """A query made fit to follow: its canonical text (plain) and what was left out of it."""

    text: str
    query: Query
    dropped_dates: bool = False


@dataclass(frozen=True, slots=True)
class FollowCheck:
    """What saving a follow found: all matches in the archive and the recent ones."""

    follow: FollowQuery
    total: int
    recent: int
    suggestions: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()


def follow_query(text: str) -> FollowQuery | None:
    """The followable part of `text` (None: nothing left to follow, e.g. only dates or ids)."""
    parsed = parse_query(text)
    dated = parsed.week is not None or parsed.since is not None or parsed.until is not None
    kept = replace(parsed, week=None, since=None, until=None, arxiv_ids=(), notices=())
    if not (kept.has_text or kept.topics or kept.authors or kept.categories):
        return None
    plain = plain_text(kept.to_text())
    return FollowQuery(plain, parse_follow(plain), dropped_dates=dated)


def plain_text(canonical: str) -> str:
    """A query's canonical text (`Query.to_text`: `&` as `&amp;`) as the person typed it."""
    return canonical.replace("&amp;", "&")


def parse_follow(text: str) -> Query:
    """A stored follow (plain text) read back: the same `Query` as when it was saved."""
    return parse_query(text.replace("&", "&amp;"))


def check(engine: SearchEngine, follow: FollowQuery, *, today: dt.date) -> FollowCheck:
    """How much the follow matches now: in the whole archive and in the last weeks."""
    everything = engine.search(follow.query, limit=1, strict=True)
    recent = 0
    if everything.total:
        since = today - dt.timedelta(weeks=RECENT_WEEKS)
        recent = engine.search(replace(follow.query, since=since), limit=1, strict=True).total
    return FollowCheck(follow, everything.total, recent, everything.suggestions, everything.notices)


def recent_matches(engine: SearchEngine, query: str, *, today: dt.date, weeks: int = RECENT_WEEKS) -> int:
    """Papers the follow matched in the last `weeks` weeks (`/papers following`)."""
    parsed = parse_follow(query)
    since = today - dt.timedelta(weeks=weeks)
    return engine.search(replace(parsed, since=since), limit=1, strict=True).total


def week_matches(engine: SearchEngine, query: str, week: dt.date, *, limit: int) -> SearchResponse:
    """The papers of the week starting `week` that really match the follow, best first."""
    return engine.search(replace(parse_follow(query), week=week), limit=limit, strict=True)


def since_matches(engine: SearchEngine, query: str, since: dt.date, *, limit: int) -> SearchResponse:
    """The papers since `since` that really match the follow, best first (the Home tab)."""
    return engine.search(replace(parse_follow(query), since=since), limit=limit, strict=True)
