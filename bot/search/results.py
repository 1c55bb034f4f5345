"""What a search answers: ranked hits, and what to say when nothing matched.

Rendering (Slack cards, CLI text, JSON) works from these values only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.model import Paper


@dataclass(frozen=True, slots=True)
class Hit:
    """One paper found, how well it matched (0-100), and in which fields."""

    paper: Paper
    score: float
    matched: tuple[str, ...] = ()  # field names: "title", "title_ja", "summary", "authors", ...


@dataclass(frozen=True, slots=True)
class SearchResponse:
    """A page of hits for one query.

    `total` counts every match, not just this page. `suggestions` are "did you
    mean" alternatives (topic names, authors or words) offered when nothing or
    little matched; `notices` explain how the query was read (an unknown filter
    searched as words, a date that could not be read, ...).
    """

    query: str
    hits: tuple[Hit, ...] = ()
    total: int = 0
    offset: int = 0
    suggestions: tuple[str, ...] = ()
    notices: tuple[str, ...] = field(default=())
    #: No paper holds nearly every concept (`ranking.strict`): the hits are the closest, and
    #: `total` counts those holding half of them (answers then say none is squarely on it).
    closest: bool = False

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.hits) < self.total
