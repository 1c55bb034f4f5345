"""Bring the store up to date with an archive folder, reading only what changed.

A file is unchanged when its size and mtime match what was stored; when they
differ its content hash decides (a `touch` costs a hash, not a parse). Changed
files replace their digest; deleted files drop theirs; papers touched by either
are merged again from every entry the store still holds. One transaction: a
crash leaves the previous state, never half a sync.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.engine import Connection

from bot.archive.layout import SourceFile, scan
from bot.archive.load import parse_source
from bot.archive.merge import Merged, Placement, merge_all
from bot.archive.parse import _topic_name_from_title
from bot.archive.problems import Problem
from bot.archive.site import SiteConfig, TopicPage, read_site_config, read_topic_page
from bot.archive.topics import name_topics
from bot.model import DigestRef, TopicRef
from bot.store.codec import content_hash, digests_data, text_data, topics_data, topics_from
from bot.store.database import insert_ignoring_duplicates
from bot.store.schema import (
    ARCHIVE_TABLES,
    archive_files,
    digests,
    entries,
    paper_topics,
    papers,
    removed_papers,
    site_files,
    state,
    texts,
    topics,
)

Progress = Callable[[int, int, str], None]
_CHUNK = 500


class ArchiveNotFound(FileNotFoundError):
    """The archive folder does not exist or is not a folder."""


@dataclass(slots=True)
class SyncReport:
    """What one sync found and did; `problems` holds every file's current problems."""

    root: str
    files: int = 0
    digests: int = 0
    papers: int = 0
    new: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    parsed: int = 0
    papers_added: int = 0
    papers_updated: int = 0
    papers_removed: int = 0
    version: int = 0
    seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def skipped(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "skipped"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "archive": self.root,
            "files": self.files,
            "digests": self.digests,
            "papers": self.papers,
            "new": self.new,
            "changed": self.changed,
            "removed": self.removed,
            "unchanged": self.unchanged,
            "parsed": self.parsed,
            "papers_added": self.papers_added,
            "papers_updated": self.papers_updated,
            "papers_removed": self.papers_removed,
            "version": self.version,
            "seconds": round(self.seconds, 3),
            "skipped": [_problem_json(p) for p in self.skipped],
            "warnings": [_problem_json(p) for p in self.warnings],
        }


def _problem_json(problem: Problem) -> dict[str, Any]:
    return {"path": problem.path, "line": problem.line, "reason": problem.reason}


@dataclass(slots=True)
class _Pending:
    """A source file whose content must be (re)read."""

    source: SourceFile
    raw: bytes
    sha256: str
    size: int
    mtime_ns: int
    is_new: bool


def get_state(conn: Connection, key: str) -> str | None:
    return conn.execute(select(state.c.value).where(state.c.key == key)).scalar_one_or_none()


def set_state(conn: Connection, key: str, value: str) -> None:
    if conn.execute(update(state).where(state.c.key == key).values(value=value)).rowcount == 0:
        conn.execute(insert(state).values(key=key, value=value))


def archive_version(conn: Connection) -> int:
    """The store's archive version: it moves whenever a sync changes anything."""
    return int(get_state(conn, "archive_version") or 0)


def sync_archive(
    engine: Engine,
    root: Path | str,
    *,
    progress: Progress | None = None,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.timezone.utc),
) -> SyncReport:
    """Index `root` into the store incrementally and report what changed."""
    started = time.perf_counter()
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ArchiveNotFound(f"archive folder {str(root)!r} does not exist or is not a folder")
    root = root.resolve()
    layout = scan(root)
    report = SyncReport(str(root), files=len(layout.of_kind("digest")))
    with engine.begin() as conn:
        if get_state(conn, "archive_root") != str(root):
            for table in ARCHIVE_TABLES:
                conn.execute(delete(table))
            set_state(conn, "archive_root", str(root))
        stored = {row.path: row for row in conn.execute(select(archive_files))}
        pending, touched = _classify(layout.files, stored, layout.problems)
        present = {f.rel for f in layout.files}
        gone = [path for path in stored if path not in present]
        report.new = sum(1 for p in pending if p.is_new and p.source.kind == "digest")
        report.changed = sum(1 for p in pending if not p.is_new and p.source.kind == "digest")
        report.removed = sum(1 for path in gone if stored[path].kind == "digest")
        report.unchanged = report.files - report.new - report.changed
        for path, size, mtime_ns in touched:
            conn.execute(
                update(archive_files).where(archive_files.c.path == path).values(size=size, mtime_ns=mtime_ns)
            )
        if pending or gone:
            _apply(conn, root, pending, gone, stored, report, progress, now())
        report.version = archive_version(conn)
        report.digests = conn.execute(select(func.count()).select_from(digests)).scalar_one()
        report.papers = conn.execute(select(func.count()).select_from(papers)).scalar_one()
        report.problems = list(layout.problems)
        for row in conn.execute(select(archive_files.c.problems).order_by(archive_files.c.path)):
            report.problems.extend(Problem(**p) for p in row.problems)
    report.seconds = time.perf_counter() - started
    return report


def _classify(
    files: Iterable[SourceFile], stored: dict[str, Any], problems: list[Problem]
) -> tuple[list[_Pending], list[tuple[str, int, int]]]:
    """Files to read again, and files only touched (same content, new mtime)."""
    pending: list[_Pending] = []
    touched: list[tuple[str, int, int]] = []
    for source in files:
        try:
            st = source.path.stat()
        except OSError as err:
            problems.append(Problem(source.rel, None, f"unreadable file: {err.strerror or err}"))
            continue
        row = stored.get(source.rel)
        if row is not None and row.size == st.st_size and row.mtime_ns == st.st_mtime_ns:
            continue
        try:
            raw = source.path.read_bytes()
        except OSError as err:
            problems.append(Problem(source.rel, None, f"unreadable file: {err.strerror or err}"))
            continue
        sha = hashlib.sha256(raw).hexdigest()
        if row is not None and row.sha256 == sha:
            touched.append((source.rel, st.st_size, st.st_mtime_ns))
            continue
        pending.append(_Pending(source, raw, sha, st.st_size, st.st_mtime_ns, row is None))
    return pending, touched


def _apply(
    conn: Connection,
    root: Path,
    pending: list[_Pending],
    gone: list[str],
    stored: dict[str, Any],
    report: SyncReport,
    progress: Progress | None,
    stamp: dt.datetime,
) -> None:
    version = archive_version(conn) + 1
    affected: set[str] = set()
    site_changed = any(p.source.kind != "digest" for p in pending) or any(
        stored[path].kind != "digest" for path in gone
    )

    # 1. Forget what changed or vanished.
    for path in [p.source.rel for p in pending] + gone:
        conn.execute(delete(archive_files).where(archive_files.c.path == path))
        digest_id = conn.execute(select(digests.c.id).where(digests.c.source_path == path)).scalar()
        if digest_id is not None:
            affected.update(conn.execute(select(entries.c.arxiv_id).where(entries.c.digest_id == digest_id)).scalars())
            conn.execute(delete(entries).where(entries.c.digest_id == digest_id))
            conn.execute(delete(digests).where(digests.c.id == digest_id))
        conn.execute(delete(site_files).where(site_files.c.path == path))

    # 2. Site config and topic pages first: digests need their web addresses.
    for item in pending:
        if item.source.kind == "digest":
            continue
        problems: list[Problem] = []
        data: dict[str, Any] | None = None
        if item.source.kind == "config":
            site = read_site_config(item.raw, item.source.rel, problems)
            data = {"site_root": item.source.site_root, "base_url": site.base_url, "permalinks": site.permalinks}
        else:
            page = read_topic_page(item.raw, item.source.rel, problems)
            if page is not None:
                data = {"slug": page.slug, "name_ja": page.name_ja, "name_en": page.name_en}
        if data is not None:
            conn.execute(insert(site_files).values(path=item.source.rel, kind=item.source.kind, data=data))
        _record_file(conn, item, problems, stamp)
    sites = {
        row.data["site_root"]: SiteConfig(row.data["base_url"], row.data["permalinks"])
        for row in conn.execute(select(site_files.c.data).where(site_files.c.kind == "config"))
    }

    # 3. Parse new and changed digests, streaming them into the store.
    digest_items = [p for p in pending if p.source.kind == "digest"]
    seen_texts: set[str] = set()
    for done, item in enumerate(digest_items, start=1):
        if progress is not None:
            progress(done, len(digest_items), item.source.rel)
        report.parsed += 1
        result = parse_source(item.source, item.raw, sites)
        problems = list(result.problems)
        digest = result.digest
        if digest is not None:
            clash = conn.execute(
                select(digests.c.source_path).where(
                    digests.c.slug == digest.topic.slug, digests.c.week_start == digest.week_start
                )
            ).scalar()
            if clash is not None:
                problems.append(
                    Problem(item.source.rel, None, f"duplicate digest of {digest.topic.slug} {digest.week_start} (also in {clash})")
                )
                digest = None
        if digest is not None:
            link_names = Counter(ref.name for e in result.entries for ref in e.paper.topics if ref.slug == digest.topic.slug)
            digest_id = conn.execute(
                insert(digests).values(
                    slug=digest.topic.slug,
                    week_start=digest.week_start,
                    week_end=digest.week_end,
                    title=digest.title,
                    source_path=digest.source_path,
                    site_root=item.source.site_root,
                    url=digest.url,
                    paper_count=len(result.entries),
                    link_names=dict(link_names),
                )
            ).inserted_primary_key[0]
            text_rows: list[dict[str, Any]] = []
            entry_rows: list[dict[str, Any]] = []
            for position, entry in enumerate(result.entries):
                data = text_data(entry.paper)
                text_hash = content_hash(data)
                if text_hash not in seen_texts:
                    seen_texts.add(text_hash)
                    text_rows.append({"hash": text_hash, "data": data})
                entry_rows.append(
                    {
                        "digest_id": digest_id,
                        "position": position,
                        "arxiv_id": entry.paper.arxiv_id,
                        "text_hash": text_hash,
                        "topics": data["topics"],
                        "posted_at": entry.paper.posted_at,
                        "line": entry.line,
                    }
                )
                affected.add(entry.paper.arxiv_id)
            insert_ignoring_duplicates(conn, texts, text_rows)
            if entry_rows:
                conn.execute(insert(entries), entry_rows)
        _record_file(conn, item, problems, stamp)

    # 4. Topic names, and web addresses when the site config changed.
    pages = {
        row.data["slug"]: TopicPage(row.data["slug"], row.data["name_ja"], row.data["name_en"])
        for row in conn.execute(select(site_files.c.data).where(site_files.c.kind == "page"))
    }
    titles: dict[str, Counter[str]] = {}
    links: dict[str, Counter[str]] = {}
    for row in conn.execute(select(digests.c.id, digests.c.slug, digests.c.title, digests.c.source_path, digests.c.site_root, digests.c.url, digests.c.link_names)):
        titles.setdefault(row.slug, Counter())[_topic_name_from_title(row.title)] += 1
        links.setdefault(row.slug, Counter()).update(row.link_names)
        if site_changed:
            url = sites.get(row.site_root, SiteConfig()).digest_url(row.slug, Path(row.source_path).stem)
            if url != row.url:
                conn.execute(update(digests).where(digests.c.id == row.id).values(url=url))
    named = name_topics(titles, pages, titles, links)
    conn.execute(delete(topics))
    if named:
        conn.execute(insert(topics), [{"slug": t.slug, "name_ja": t.name_ja, "name_en": t.name_en} for t in named.values()])

    # 5. Merge every affected paper again from all the entries the store holds.
    names = {slug: t.name_ja for slug, t in named.items()}
    _remerge(conn, affected, names, version, report)

    # 6. Drop texts no entry uses any more, and move the version.
    if gone or any(not p.is_new for p in pending):
        used = select(entries.c.text_hash)
        conn.execute(delete(texts).where(texts.c.hash.not_in(used)))
    set_state(conn, "archive_version", str(version))


def _record_file(conn: Connection, item: _Pending, problems: list[Problem], stamp: dt.datetime) -> None:
    conn.execute(
        insert(archive_files).values(
            path=item.source.rel,
            kind=item.source.kind,
            size=item.size,
            mtime_ns=item.mtime_ns,
            sha256=item.sha256,
            problems=[p.as_dict() for p in problems],
            indexed_at=stamp,
        )
    )


def _placements(conn: Connection, affected: set[str]) -> list[Placement[str]]:
    """Every entry of the affected papers that the store holds now."""
    query = select(
        entries.c.arxiv_id,
        entries.c.text_hash,
        entries.c.topics,
        entries.c.position,
        entries.c.posted_at,
        digests.c.slug,
        digests.c.week_start,
        digests.c.source_path,
    ).join(digests, digests.c.id == entries.c.digest_id)
    rows: list[Any] = []
    total = conn.execute(select(func.count()).select_from(entries)).scalar_one()
    if len(affected) * 4 >= total:  # most of the archive: one scan beats many IN lists
        rows = [r for r in conn.execute(query) if r.arxiv_id in affected]
    else:
        ids = sorted(affected)
        for i in range(0, len(ids), _CHUNK):
            rows.extend(conn.execute(query.where(entries.c.arxiv_id.in_(ids[i : i + _CHUNK]))))
    return [
        Placement(
            r.arxiv_id,
            (r.text_hash, r.posted_at),
            topics_from(r.topics),
            DigestRef(r.slug, r.week_start),
            (r.source_path, r.position),
        )
        for r in rows
    ]


def _remerge(
    conn: Connection, affected: set[str], names: dict[str, str], version: int, report: SyncReport
) -> None:
    if not affected:
        return
    existing: dict[str, str] = {}
    ids = sorted(affected)
    for i in range(0, len(ids), _CHUNK):
        chunk = ids[i : i + _CHUNK]
        query = select(papers.c.arxiv_id, papers.c.content_hash).where(papers.c.arxiv_id.in_(chunk))
        existing.update((row.arxiv_id, row.content_hash) for row in conn.execute(query))
        conn.execute(delete(papers).where(papers.c.arxiv_id.in_(chunk)))
        conn.execute(delete(paper_topics).where(paper_topics.c.arxiv_id.in_(chunk)))
        conn.execute(delete(removed_papers).where(removed_papers.c.arxiv_id.in_(chunk)))
    merged = merge_all(_placements(conn, affected), names)
    paper_rows: list[dict[str, Any]] = []
    topic_rows: list[dict[str, Any]] = []
    for arxiv_id, record in merged.items():
        paper_rows.append(_paper_row(record, version))
        topic_rows.extend({"arxiv_id": arxiv_id, "slug": t.slug} for t in record.topics)
        old = existing.get(arxiv_id)
        if old is None:
            report.papers_added += 1
        elif old != paper_rows[-1]["content_hash"]:
            report.papers_updated += 1
    gone = [arxiv_id for arxiv_id in existing if arxiv_id not in merged]
    report.papers_removed = len(gone)
    for i in range(0, len(paper_rows), 5000):
        conn.execute(insert(papers), paper_rows[i : i + 5000])
    for i in range(0, len(topic_rows), 5000):
        conn.execute(insert(paper_topics), topic_rows[i : i + 5000])
    if gone:
        conn.execute(insert(removed_papers), [{"arxiv_id": a, "version": version} for a in gone])


def _paper_row(record: Merged[tuple[str, dt.datetime | None]], version: int) -> dict[str, Any]:
    text_hash, posted_at = record.payload
    topic_list = topics_data(record.topics)
    return {
        "arxiv_id": record.arxiv_id,
        "text_hash": text_hash,
        "topics": topic_list,
        "digests": digests_data(record.digests),
        "week_start": record.digests[0].week_start,
        "posted_at": posted_at,
        "content_hash": content_hash([text_hash, topic_list]),
        "version": version,
    }


__all__ = ["ArchiveNotFound", "SyncReport", "TopicRef", "archive_version", "sync_archive"]
