"""The value types every other module speaks: topics, papers, digests.

They are frozen so that a parsed archive can be shared between the store, the
search index and the renderers without anyone mutating it behind the others'
backs. Nothing here knows about files, databases or Slack.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

#: The slug of the site's "every paper of the week" collection. Its digests are
#: indexed (they are a real part of the archive) but it is not a topic of its own.
AGGREGATE_SLUG = "all"


@dataclass(frozen=True, slots=True)
class TopicRef:
    """A topic as an entry names it: `[合成データ](../../sd)`."""

    slug: str
    name: str


@dataclass(frozen=True, slots=True)
class Topic:
    """A topic collection of the site, with the names people call it by."""

    slug: str
    name_ja: str
    name_en: str

    @property
    def aggregate(self) -> bool:
        """True for `all`, which repeats every paper of every topic."""
        return self.slug == AGGREGATE_SLUG

    @property
    def label(self) -> str:
        """`合成データ (Synthetic Data)`, or one name when both are the same."""
        if self.name_en and self.name_en != self.name_ja:
            return f"{self.name_ja} ({self.name_en})"
        return self.name_ja or self.slug


@dataclass(frozen=True, slots=True)
class DigestRef:
    """Where a paper stands: one topic's digest of one week."""

    slug: str
    week_start: dt.date


@dataclass(frozen=True, slots=True)
class Paper:
    """One paper as the archive describes it.

    `digests` is empty for an entry fresh from one file; the archive loader and
    the store fill it with every digest the paper stands in.
    """

    arxiv_id: str
    url: str
    title: str
    title_ja: str = ""
    authors: tuple[str, ...] = ()
    summary: tuple[str, ...] = ()
    remark: str = ""
    comment: str = ""
    topics: tuple[TopicRef, ...] = ()
    categories: tuple[str, ...] = ()
    posted_at: dt.datetime | None = None
    digests: tuple[DigestRef, ...] = ()

    @property
    def abs_url(self) -> str:
        """The canonical arXiv abstract page (https, no version)."""
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.arxiv_id}"

    @property
    def week_start(self) -> dt.date | None:
        """The first week the paper was digested in, if known."""
        return min((d.week_start for d in self.digests), default=None)

    @property
    def topic_slugs(self) -> tuple[str, ...]:
        return tuple(t.slug for t in self.topics)


@dataclass(frozen=True, slots=True)
class Digest:
    """One topic's digest of one week: a file `_<slug>/YYYY-MM-DD.md`."""

    topic: Topic
    week_start: dt.date
    week_end: dt.date
    title: str
    source_path: str
    url: str | None = None
    papers: tuple[Paper, ...] = field(default=())

    @property
    def ref(self) -> DigestRef:
        return DigestRef(self.topic.slug, self.week_start)


@dataclass(frozen=True, slots=True)
class ThreadInfo:
    """A paper's discussion thread in Slack, as the store knows it (no message text)."""

    channel: str
    ts: str
    permalink: str | None = None
    reply_count: int = 0
    participants: int = 0
    last_reply_at: dt.datetime | None = None
    #: Distinct people with a reaction standing on the paper's messages (`bot.engagement.votes`).
    votes: int = 0


@dataclass(frozen=True, slots=True)
class Discussed:
    """A paper and how much it was discussed and voted for in a window.

    One type for `/papers hot`, the Home tab's hot threads and the weekly recap's
    two lists: replies in its thread during the window and the people who wrote
    them, votes added in the window, and the whole thread (None when the paper
    has no thread the reader can open: a recap's voted paper posted elsewhere).
    """

    paper: Paper
    thread: ThreadInfo | None
    replies: int = 0
    participants: int = 0
    votes: int = 0
