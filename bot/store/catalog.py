"""Read the indexed archive back: papers, digests, topics and weeks as values.

Everything above the store (search, rendering, Slack, the CLI) reads the
archive through this class and never through SQL of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, distinct, func, select
from sqlalchemy.engine import Connection

from bot.model import AGGREGATE_SLUG, Digest, Paper, Topic
from bot.store import locks
from bot.store.codec import paper_from
from bot.store.schema import digests, entries, papers, removed_papers, texts, topics
from bot.store.state import archive_version, get_state

_CHUNK = 500


@dataclass(frozen=True, slots=True)
class TopicStats:
    """A topic with how much of the archive it holds."""

    topic: Topic
    papers: int
    digests: int
    first_week: dt.date | None
    last_week: dt.date | None


@dataclass(frozen=True, slots=True)
class WeekStats:
    """A digest week: its range, and the topics and papers it holds."""

    week_start: dt.date
    week_end: dt.date
    papers: int
    topics: tuple[str, ...]


_PAPER_COLUMNS = (texts.c.data, papers.c.topics, papers.c.digests)


def _paper(row: Any) -> Paper:
    return paper_from(row.data, topics=row.topics, digests=row.digests)


class Catalog:
    """A read-only view of the archive data in the store."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def version(self) -> int:
        with self.engine.connect() as conn:
            return archive_version(conn)

    def archive_identity(self) -> tuple[str, str]:
        """(archive id, archive root): an index derived from the store is valid for this
        pair only. The id is new whenever the store takes up an archive folder, so a
        fresh store, or one pointed at another folder, is never mistaken for the old one."""
        with self.engine.connect() as conn:
            return get_state(conn, "archive_id") or "", get_state(conn, "archive_root") or ""

    # Papers ---------------------------------------------------------------

    def paper(self, arxiv_id: str) -> Paper | None:
        with self.engine.connect() as conn:
            row = conn.execute(self._paper_query().where(papers.c.arxiv_id == arxiv_id)).first()
        return _paper(row) if row else None

    def papers(self, arxiv_ids: Sequence[str]) -> list[Paper]:
        """The papers with these ids, in the order asked (unknown ids left out)."""
        found: dict[str, Paper] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(arxiv_ids), _CHUNK):
                query = self._paper_query().where(papers.c.arxiv_id.in_(arxiv_ids[i : i + _CHUNK]))
                for row in conn.execute(query):
                    paper = _paper(row)
                    found[paper.arxiv_id] = paper
        return [found[a] for a in arxiv_ids if a in found]

    def iter_papers(self) -> Iterator[Paper]:
        """Every paper, newest week first (for building the search index)."""
        query = self._paper_query().order_by(papers.c.week_start.desc(), papers.c.arxiv_id.desc())
        with self.engine.connect() as conn:
            for row in conn.execution_options(yield_per=2000).execute(query):
                yield _paper(row)

    def changes_since(self, version: int) -> tuple[int, list[Paper], list[str]]:
        """(current version, papers changed after `version`, ids removed after it).

        How a replica's search index catches up with syncs done anywhere: one
        primary-key SELECT when nothing moved, else the changed rows through
        the `version` index. All three reads see one snapshot, so the version
        returned is exactly the state the changes describe.
        """
        with locks.snapshot(self.engine) as conn:
            current = archive_version(conn)
            if current == version:
                return current, [], []
            changed = [_paper(r) for r in conn.execute(self._paper_query().where(papers.c.version > version))]
            removed = list(
                conn.execute(select(removed_papers.c.arxiv_id).where(removed_papers.c.version > version)).scalars()
            )
        return current, changed, removed

    def count_papers(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(papers)).scalar_one()

    @staticmethod
    def _paper_query() -> Any:
        return select(papers.c.arxiv_id, *_PAPER_COLUMNS).join(texts, texts.c.hash == papers.c.text_hash)

    # Topics ---------------------------------------------------------------

    def topics(self, *, include_aggregate: bool = False) -> list[TopicStats]:
        """Every topic with the distinct papers its digest files hold."""
        counts = (
            select(
                digests.c.slug,
                func.count(distinct(entries.c.arxiv_id)).label("papers"),
            )
            .join(entries, entries.c.digest_id == digests.c.id)
            .group_by(digests.c.slug)
        )
        weeks = select(
            digests.c.slug,
            func.count().label("digests"),
            func.min(digests.c.week_start).label("first"),
            func.max(digests.c.week_start).label("last"),
        ).group_by(digests.c.slug)
        with self.engine.connect() as conn:
            paper_counts = {r.slug: r.papers for r in conn.execute(counts)}
            week_rows = {r.slug: r for r in conn.execute(weeks)}
            rows = list(conn.execute(select(topics).order_by(topics.c.slug)))
        result = []
        for row in rows:
            if row.slug == AGGREGATE_SLUG and not include_aggregate:
                continue
            w = week_rows.get(row.slug)
            result.append(
                TopicStats(
                    Topic(row.slug, row.name_ja, row.name_en),
                    paper_counts.get(row.slug, 0),
                    w.digests if w else 0,
                    w.first if w else None,
                    w.last if w else None,
                )
            )
        return result

    def topic(self, slug: str) -> Topic | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(topics).where(topics.c.slug == slug)).first()
        return Topic(row.slug, row.name_ja, row.name_en) if row else None

    # Digests and weeks ----------------------------------------------------

    def weeks(self) -> list[WeekStats]:
        """Every digest week, newest first, with its distinct papers and topics."""
        query = (
            select(
                digests.c.week_start,
                func.max(digests.c.week_end).label("week_end"),
                func.count(distinct(entries.c.arxiv_id)).label("papers"),
            )
            .join(entries, entries.c.digest_id == digests.c.id, isouter=True)
            .group_by(digests.c.week_start)
            .order_by(digests.c.week_start.desc())
        )
        with self.engine.connect() as conn:
            slugs: dict[dt.date, list[str]] = {}
            for row in conn.execute(select(digests.c.week_start, digests.c.slug).order_by(digests.c.slug)):
                if row.slug != AGGREGATE_SLUG:
                    slugs.setdefault(row.week_start, []).append(row.slug)
            return [
                WeekStats(r.week_start, r.week_end, r.papers, tuple(slugs.get(r.week_start, ())))
                for r in conn.execute(query)
            ]

    def week_spans(self) -> list[tuple[dt.date, dt.date]]:
        """Every digest week's (first day, last day), newest first; no paper counts, so cheap."""
        query = (
            select(digests.c.week_start, func.max(digests.c.week_end))
            .group_by(digests.c.week_start)
            .order_by(digests.c.week_start.desc())
        )
        with self.engine.connect() as conn:
            return [(r[0], r[1]) for r in conn.execute(query)]

    def digest_counts(
        self, since: dt.date, until: dt.date, *, include_aggregate: bool = False
    ) -> list[tuple[str, dt.date, int]]:
        """(slug, week_start, papers) of every topic digest (and the `all` one if asked) whose
        week starts in [since, until]: the numbers behind the trends chart, one indexed query.

        A paper in two topics is in both digests: these rows may add up to more
        than the week's papers (`week_paper_counts` counts each paper once).
        """
        query = (
            select(digests.c.slug, digests.c.week_start, digests.c.paper_count)
            .where(digests.c.week_start >= since, digests.c.week_start <= until)
            .order_by(digests.c.week_start, digests.c.slug)
        )
        if not include_aggregate:
            query = query.where(digests.c.slug != AGGREGATE_SLUG)
        with self.engine.connect() as conn:
            return [(r.slug, r.week_start, int(r.paper_count)) for r in conn.execute(query)]

    def week_paper_counts(
        self, since: dt.date, until: dt.date, *, slugs: Sequence[str] | None = None
    ) -> dict[dt.date, int]:
        """week_start -> the distinct papers of the digests (of `slugs`, default every one,
        `all` included) whose week starts in [since, until].

        The one count of a week's papers, whatever shows it (`weeks`, `/papers
        week`, the recap, the trends' totals): a paper in two topics is one paper.
        `slugs` holding `all` counts the whole week, as the `all` digest does.
        """
        query = (
            select(digests.c.week_start, func.count(distinct(entries.c.arxiv_id)).label("papers"))
            .join(entries, entries.c.digest_id == digests.c.id)
            .where(digests.c.week_start >= since, digests.c.week_start <= until)
            .group_by(digests.c.week_start)
        )
        if slugs is not None and AGGREGATE_SLUG not in slugs:
            query = query.where(digests.c.slug.in_(list(slugs)))
        with self.engine.connect() as conn:
            return {r.week_start: int(r.papers) for r in conn.execute(query)}

    def digests(
        self, *, slug: str | None = None, week: dt.date | None = None, with_papers: bool = False
    ) -> list[Digest]:
        """Digests, newest week first, optionally of one topic and/or one week."""
        query = select(digests).order_by(digests.c.week_start.desc(), digests.c.slug)
        if slug is not None:
            query = query.where(digests.c.slug == slug)
        if week is not None:
            query = query.where(digests.c.week_start == week)
        with self.engine.connect() as conn:
            names = {r.slug: Topic(r.slug, r.name_ja, r.name_en) for r in conn.execute(select(topics))}
            rows = list(conn.execute(query))
            return [self._digest(conn, row, names, with_papers) for row in rows]

    def digest(self, slug: str, week: dt.date) -> Digest | None:
        """One topic's digest of the week containing `week` (any day of it)."""
        with self.engine.connect() as conn:
            names = {r.slug: Topic(r.slug, r.name_ja, r.name_en) for r in conn.execute(select(topics))}
            row = conn.execute(
                select(digests).where(
                    digests.c.slug == slug, digests.c.week_start <= week, digests.c.week_end >= week
                )
            ).first()
            return self._digest(conn, row, names, True) if row else None

    def digest_head(self, slug: str, week: dt.date, limit: int) -> tuple[list[Paper], int]:
        """The first `limit` papers of one digest, in its order, and how many it holds
        (the Home tab's "this week")."""
        query = (
            select(*_PAPER_COLUMNS)
            .select_from(entries)
            .join(digests, digests.c.id == entries.c.digest_id)
            .join(papers, papers.c.arxiv_id == entries.c.arxiv_id)
            .join(texts, texts.c.hash == papers.c.text_hash)
            .where(digests.c.slug == slug, digests.c.week_start == week)
            .order_by(entries.c.position)
            .limit(max(limit, 0))
        )
        count = select(digests.c.paper_count).where(digests.c.slug == slug, digests.c.week_start == week)
        with self.engine.connect() as conn:
            return [_paper(r) for r in conn.execute(query)], int(conn.execute(count).scalar() or 0)

    def _digest(self, conn: Connection, row: Any, names: dict[str, Topic], with_papers: bool) -> Digest:
        topic = names.get(row.slug) or Topic(row.slug, row.slug, row.slug)
        found: tuple[Paper, ...] = ()
        if with_papers:
            query = (
                select(entries.c.position, *_PAPER_COLUMNS)
                .select_from(entries)
                .join(papers, papers.c.arxiv_id == entries.c.arxiv_id)
                .join(texts, texts.c.hash == papers.c.text_hash)
                .where(entries.c.digest_id == row.id)
                .order_by(entries.c.position)
            )
            found = tuple(_paper(r) for r in conn.execute(query))
        return Digest(
            topic=topic,
            week_start=row.week_start,
            week_end=row.week_end,
            title=row.title,
            source_path=row.source_path,
            url=row.url,
            papers=found,
        )
