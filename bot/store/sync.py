"""Bring the store up to date with an archive folder, reading only what changed.

A file is unchanged when its size and mtime match what was stored; when they
differ its content hash decides (a `touch` costs a hash, not a parse). Changed
files replace their digest; deleted files drop theirs; papers touched by either
are merged again from every entry the store still holds. One transaction: a
crash leaves the previous state, never half a sync.

Several processes may sync one store at once (bot replicas, a CLI run): the
transaction runs alone (`locks.exclusive`), so the second finds the first's
work done. A store indexes one archive folder; only an explicit `retarget`
(the `index` command) points it at another, so a replica configured with a
different path cannot wipe the index the others serve.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Engine, delete, exists, func, insert, literal, select, update
from sqlalchemy.engine import Connection

from bot.archive.files import MAX_FILE_BYTES, Refused, check_file, read_file
from bot.archive.layout import Layout, SourceFile, scan
from bot.archive.load import parse_source
from bot.archive.merge import Merged, Placement, merge_all
from bot.archive.parse import ParsedEntry, topic_name_from_title
from bot.archive.problems import Problem
from bot.archive.site import SiteConfig, TopicPage, read_site_config, read_topic_page
from bot.archive.topics import name_topics
from bot.model import Digest, DigestRef, Paper, TopicRef
from bot.progress import Progress
from bot.store import locks
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
    texts,
    topics,
)
from bot.store.state import archive_version, get_state, set_state

_CHUNK = 500
_BATCH = 20_000  # entries per write batch
_MERGE_CHUNK = 900  # ids per merge query (under SQLite's 999 bound parameters of old builds)


#: The advisory lock name syncs run under.
LOCK_NAME = "archive-sync"


class ArchiveNotFound(FileNotFoundError):
    """The archive folder does not exist or is not a folder."""


class ArchiveMismatch(RuntimeError):
    """The store indexes another archive folder, and re-targeting was not asked for."""

    def __init__(self, stored: str, requested: str) -> None:
        super().__init__(
            f"the store indexes the archive at {stored}, not {requested}; the stored index "
            f"is left as it is. Set DIGEST_ARCHIVE to {stored} (every replica must use the "
            f"same folder), or run `digest-bot index --archive {requested}` to re-index the "
            "store from that folder instead"
        )
        self.stored = stored
        self.requested = requested


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
    root: Path
    size: int
    mtime_ns: int
    is_new: bool

    def read(self, problems: list[Problem]) -> tuple[bytes, str] | None:
        """The file's bytes and hash, read now: pending files are not held in memory."""
        try:
            raw = read_file(self.source.path, self.root)
        except Refused as refused:
            problems.append(Problem(self.source.rel, None, refused.reason))
            return None
        return raw, hashlib.sha256(raw).hexdigest()


def sync_archive(
    engine: Engine,
    root: Path | str,
    *,
    progress: Progress | None = None,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    retarget: bool = False,
    max_file_bytes: int = MAX_FILE_BYTES,
) -> SyncReport:
    """Index `root` into the store incrementally and report what changed.

    An empty store takes `root` as its archive. A store that indexes another
    folder raises `ArchiveMismatch` and is left untouched, unless `retarget`:
    then its archive data is dropped and `root` indexed from scratch (posts and
    other bot state stay). Files that may not be read (not regular, outside
    the root, over `max_file_bytes`) are reported and left out.
    """
    started = time.perf_counter()
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ArchiveNotFound(f"archive folder {str(root)!r} does not exist or is not a folder")
    root = root.resolve()
    layout = scan(root)
    admitted = _admit(layout, max_file_bytes)  # no file is opened under the write lock but regular ones
    report = SyncReport(str(root), files=sum(1 for f, _ in admitted if f.kind == "digest"))
    with locks.exclusive(engine, LOCK_NAME) as conn:
        stored_root = get_state(conn, "archive_root")
        if stored_root != str(root):
            if stored_root is not None:
                if not retarget:
                    raise ArchiveMismatch(stored_root, str(root))
                _forget_archive(conn)
            set_state(conn, "archive_root", str(root))
            set_state(conn, "archive_id", uuid.uuid4().hex)
        elif get_state(conn, "archive_id") is None:  # a store made before archive ids
            set_state(conn, "archive_id", uuid.uuid4().hex)
        stored = {row.path: row for row in conn.execute(select(archive_files))}
        pending, touched = _classify(admitted, root, stored, layout.problems)
        present = {f.rel for f, _ in admitted}
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
            _apply(conn, pending, gone, stored, report, progress, now(), layout.problems)
        _describe(conn, report)
        report.problems[:0] = layout.problems
    report.seconds = time.perf_counter() - started
    return report


def _forget_archive(conn: Connection) -> None:
    """Drop the indexed archive, telling readers (other replicas' search) its papers left."""
    version = archive_version(conn) + 1
    gone = select(papers.c.arxiv_id, literal(version, BigInteger))
    conn.execute(insert(removed_papers).from_select(["arxiv_id", "version"], gone))
    for table in ARCHIVE_TABLES:
        conn.execute(delete(table))
    set_state(conn, "archive_version", str(version))


def stored_report(engine: Engine) -> SyncReport:
    """What the store holds now, as a report of a sync that read nothing."""
    with locks.snapshot(engine) as conn:
        report = SyncReport(get_state(conn, "archive_root") or "")
        _describe(conn, report)
        report.files = report.unchanged = conn.execute(
            select(func.count()).select_from(archive_files).where(archive_files.c.kind == "digest")
        ).scalar_one()
    return report


def _describe(conn: Connection, report: SyncReport) -> None:
    report.version = archive_version(conn)
    report.digests = conn.execute(select(func.count()).select_from(digests)).scalar_one()
    report.papers = conn.execute(select(func.count()).select_from(papers)).scalar_one()
    report.problems = []
    for row in conn.execute(select(archive_files.c.problems).order_by(archive_files.c.path)):
        report.problems.extend(Problem(**p) for p in row.problems)


def _admit(layout: Layout, max_file_bytes: int) -> list[tuple[SourceFile, os.stat_result]]:
    """The files that may be read (`bot.archive.files`), with their stat; the others reported.

    A file refused now (a FIFO, a link leading outside the archive, too large)
    is not in the archive as far as the store is concerned: a digest stored
    from it earlier is dropped, as if the file had been deleted.
    """
    admitted: list[tuple[SourceFile, os.stat_result]] = []
    for source in layout.files:
        try:
            admitted.append((source, check_file(source.path, layout.root, limit=max_file_bytes)))
        except Refused as refused:
            layout.problems.append(Problem(source.rel, None, refused.reason))
    return admitted


def _classify(
    files: Iterable[tuple[SourceFile, os.stat_result]],
    root: Path,
    stored: dict[str, Any],
    problems: list[Problem],
) -> tuple[list[_Pending], list[tuple[str, int, int]]]:
    """Files to read again, and files only touched (same content, new mtime)."""
    pending: list[_Pending] = []
    touched: list[tuple[str, int, int]] = []
    for source, st in files:
        row = stored.get(source.rel)
        item = _Pending(source, root, st.st_size, st.st_mtime_ns, row is None)
        if row is not None:
            if row.size == st.st_size and row.mtime_ns == st.st_mtime_ns:
                continue
            read = item.read(problems)
            if read is None:
                continue
            if read[1] == row.sha256:
                touched.append((source.rel, st.st_size, st.st_mtime_ns))
                continue
        pending.append(item)
    return pending, touched


def _apply(
    conn: Connection,
    pending: list[_Pending],
    gone: list[str],
    stored: dict[str, Any],
    report: SyncReport,
    progress: Progress | None,
    stamp: dt.datetime,
    unread: list[Problem],
) -> None:
    """Write what changed; files that cannot be read now are reported in `unread`."""
    version = archive_version(conn) + 1
    affected: set[str] = set()
    site_changed = any(p.source.kind != "digest" for p in pending) or any(
        stored[path].kind != "digest" for path in gone
    )

    # 1. Forget what changed or vanished (new files have nothing to forget).
    for path in [p.source.rel for p in pending if not p.is_new] + gone:
        conn.execute(delete(archive_files).where(archive_files.c.path == path))
        conn.execute(delete(site_files).where(site_files.c.path == path))
        digest_id = conn.execute(select(digests.c.id).where(digests.c.source_path == path)).scalar()
        if digest_id is not None:
            affected.update(conn.execute(select(entries.c.arxiv_id).where(entries.c.digest_id == digest_id)).scalars())
            conn.execute(delete(entries).where(entries.c.digest_id == digest_id))
            conn.execute(delete(digests).where(digests.c.id == digest_id))

    # 2. Site config and topic pages first: digests need their web addresses.
    writer = _Writer(conn, stamp)
    for item in pending:
        if item.source.kind == "digest":
            continue
        problems: list[Problem] = []
        data: dict[str, Any] | None = None
        read = item.read(unread)
        if read is None:
            continue
        raw, sha = read
        if item.source.kind == "config":
            site = read_site_config(raw, item.source.rel, problems)
            data = {"site_root": item.source.site_root, "base_url": site.base_url, "permalinks": site.permalinks}
        else:
            page = read_topic_page(raw, item.source.rel, problems)
            if page is not None:
                data = {"slug": page.slug, "name_ja": page.name_ja, "name_en": page.name_en}
        if data is not None:
            conn.execute(insert(site_files).values(path=item.source.rel, kind=item.source.kind, data=data))
        writer.file(item, sha, problems)
    writer.flush()
    sites = {
        row.data["site_root"]: SiteConfig(row.data["base_url"], row.data["permalinks"])
        for row in conn.execute(select(site_files.c.data).where(site_files.c.kind == "config"))
    }

    # 3. Parse new and changed digests, writing them in batches. Week by week:
    # a week's topic digests and its `all` digest repeat the same entry texts,
    # so the parse cache only needs to hold one week.
    digest_items = sorted(
        (p for p in pending if p.source.kind == "digest"), key=lambda p: (p.source.file_date, p.source.rel)
    )
    weeks = {(row.slug, row.week_start): row.source_path for row in conn.execute(select(digests.c.slug, digests.c.week_start, digests.c.source_path))}
    cache: dict[str, Paper] = {}
    week = None
    for done, item in enumerate(digest_items, start=1):
        if progress is not None:
            progress(done, len(digest_items), item.source.rel)
        if item.source.file_date != week:
            week = item.source.file_date
            cache.clear()
            writer.forget_encodings()
        problems = []
        read = item.read(problems)
        if read is None:
            unread.extend(problems)
            continue
        raw, sha = read
        report.parsed += 1
        result = parse_source(item.source, raw, sites, cache)
        problems.extend(result.problems)
        digest = result.digest
        if digest is not None:
            key = (digest.topic.slug, digest.week_start)
            if key in weeks:
                reason = f"duplicate digest of {key[0]} {key[1]} (also in {weeks[key]})"
                problems.append(Problem(item.source.rel, None, reason))
            else:
                weeks[key] = item.source.rel
                writer.digest(item.source, digest, result.entries)
                affected.update(e.paper.arxiv_id for e in result.entries)
        writer.file(item, sha, problems)
        if writer.pending >= _BATCH:
            writer.flush()
    writer.flush()

    # 4. Topic names, and web addresses when the site config changed.
    pages = {
        row.data["slug"]: TopicPage(row.data["slug"], row.data["name_ja"], row.data["name_en"])
        for row in conn.execute(select(site_files.c.data).where(site_files.c.kind == "page"))
    }
    titles: dict[str, Counter[str]] = {}
    links: dict[str, Counter[str]] = {}
    for row in conn.execute(select(digests.c.id, digests.c.slug, digests.c.title, digests.c.source_path, digests.c.site_root, digests.c.url, digests.c.link_names)):
        titles.setdefault(row.slug, Counter())[topic_name_from_title(row.title)] += 1
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
        # NOT EXISTS, not NOT IN: an anti-join on the text_hash index on both backends.
        used = exists().where(entries.c.text_hash == texts.c.hash)
        conn.execute(delete(texts).where(~used))
    set_state(conn, "archive_version", str(version))


class _Writer:
    """Buffers parsed files and writes them in a few large statements.

    One INSERT per row would cost more than parsing: rows are collected and
    flushed every `_BATCH` entries, which also bounds memory on huge archives.
    """

    def __init__(self, conn: Connection, stamp: dt.datetime) -> None:
        self.conn = conn
        self.stamp = stamp
        self.files: list[dict[str, Any]] = []
        self.digests: list[dict[str, Any]] = []
        self.entries: dict[str, list[dict[str, Any]]] = {}
        self.texts: list[dict[str, Any]] = []
        self.seen_texts: set[str] = set()
        self.encoded: dict[int, tuple[dict[str, Any], str]] = {}
        self.pending = 0

    def forget_encodings(self) -> None:
        """Drop encodings of cached papers (call when the parse cache is cleared)."""
        self.encoded.clear()

    def file(self, item: _Pending, sha256: str, problems: list[Problem]) -> None:
        self.files.append(
            {
                "path": item.source.rel,
                "kind": item.source.kind,
                "size": item.size,
                "mtime_ns": item.mtime_ns,
                "sha256": sha256,
                "problems": [p.as_dict() for p in problems],
                "indexed_at": self.stamp,
            }
        )

    def digest(self, source: SourceFile, digest: Digest, parsed: tuple[ParsedEntry, ...]) -> None:
        slug = digest.topic.slug
        link_names = Counter(ref.name for e in parsed for ref in e.paper.topics if ref.slug == slug)
        self.digests.append(
            {
                "slug": slug,
                "week_start": digest.week_start,
                "week_end": digest.week_end,
                "title": digest.title,
                "source_path": digest.source_path,
                "site_root": source.site_root,
                "url": digest.url,
                "paper_count": len(parsed),
                "link_names": dict(link_names),
            }
        )
        rows = self.entries.setdefault(digest.source_path, [])
        for position, entry in enumerate(parsed):
            # Papers from the parse cache are shared objects: encode each once.
            encoded = self.encoded.get(id(entry.paper))
            if encoded is None:
                data = text_data(entry.paper)
                encoded = self.encoded[id(entry.paper)] = (data, content_hash(data))
            data, text_hash = encoded
            if text_hash not in self.seen_texts:
                self.seen_texts.add(text_hash)
                self.texts.append({"hash": text_hash, "data": data})
            rows.append(
                {
                    "position": position,
                    "arxiv_id": entry.paper.arxiv_id,
                    "text_hash": text_hash,
                    "topics": data["topics"],
                    "posted_at": entry.paper.posted_at,
                    "line": entry.line,
                }
            )
        self.pending += len(parsed)

    def flush(self) -> None:
        conn = self.conn
        if self.digests:
            query = insert(digests).returning(digests.c.id, digests.c.source_path, sort_by_parameter_order=True)
            ids = {row.source_path: row.id for row in conn.execute(query, self.digests)}
            insert_ignoring_duplicates(conn, texts, self.texts)
            rows = [
                {"digest_id": ids[path], **row} for path, batch in self.entries.items() for row in batch
            ]
            if rows:
                conn.execute(insert(entries), rows)
        if self.files:
            conn.execute(insert(archive_files), self.files)
        self.files, self.digests, self.entries, self.texts = [], [], {}, []
        self.pending = 0


def _placements(conn: Connection, arxiv_ids: list[str]) -> list[Placement[tuple[str, Any]]]:
    """Every entry the store holds now of these papers."""
    query = (
        select(
            entries.c.arxiv_id,
            entries.c.text_hash,
            entries.c.topics,
            entries.c.position,
            entries.c.posted_at,
            digests.c.slug,
            digests.c.week_start,
            digests.c.source_path,
        )
        .join(digests, digests.c.id == entries.c.digest_id)
        .where(entries.c.arxiv_id.in_(arxiv_ids))
    )
    return [
        Placement(
            r.arxiv_id,
            (r.text_hash, r.posted_at),
            topics_from(r.topics),
            DigestRef(r.slug, r.week_start),
            (r.source_path, r.position),
        )
        for r in conn.execute(query)
    ]


def _remerge(
    conn: Connection, affected: set[str], names: dict[str, str], version: int, report: SyncReport
) -> None:
    """Rewrite the merged record of every affected paper, a chunk of ids at a time."""
    ids = sorted(affected)
    for i in range(0, len(ids), _MERGE_CHUNK):
        chunk = ids[i : i + _MERGE_CHUNK]
        query = select(papers).where(papers.c.arxiv_id.in_(chunk))
        existing = {row.arxiv_id: row._asdict() for row in conn.execute(query)}
        merged = merge_all(_placements(conn, chunk), names)
        paper_rows: list[dict[str, Any]] = []
        for arxiv_id, record in merged.items():
            row = _paper_row(record, version)
            old = existing.get(arxiv_id)
            if old is not None and {**old, "version": version} == row:
                continue  # re-merged to the very same record: readers need not hear of it
            paper_rows.append(row)
            if old is None:
                report.papers_added += 1
            elif old["content_hash"] != row["content_hash"]:
                report.papers_updated += 1
        gone = [arxiv_id for arxiv_id in existing if arxiv_id not in merged]
        report.papers_removed += len(gone)
        rewrite = [row["arxiv_id"] for row in paper_rows if row["arxiv_id"] in existing] + gone
        if rewrite:
            conn.execute(delete(papers).where(papers.c.arxiv_id.in_(rewrite)))
            conn.execute(delete(paper_topics).where(paper_topics.c.arxiv_id.in_(rewrite)))
        if paper_rows:
            conn.execute(delete(removed_papers).where(removed_papers.c.arxiv_id.in_([r["arxiv_id"] for r in paper_rows])))
            conn.execute(insert(papers), paper_rows)
            topic_rows = [{"arxiv_id": r["arxiv_id"], "slug": t[0]} for r in paper_rows for t in r["topics"]]
            if topic_rows:
                conn.execute(insert(paper_topics), topic_rows)
        if gone:
            conn.execute(delete(removed_papers).where(removed_papers.c.arxiv_id.in_(gone)))
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


__all__ = [
    "ArchiveMismatch",
    "ArchiveNotFound",
    "SyncReport",
    "TopicRef",
    "stored_report",
    "sync_archive",
]
