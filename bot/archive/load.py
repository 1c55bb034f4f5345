"""Read a whole archive into memory: digests, merged papers, topics, problems.

The store's incremental indexer reads files one by one with the same pieces;
this all-at-once form serves tests, benchmarks and one-off tools.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

from bot.archive.files import Refused, read_file
from bot.archive.layout import Layout, SourceFile, scan
from bot.archive.merge import Placement, merge_all
from bot.archive.parse import ParseResult, parse_digest, topic_name_from_title
from bot.archive.problems import Problem
from bot.archive.site import SiteConfig, TopicPage, read_site_config, read_topic_page
from bot.archive.topics import name_topics
from bot.model import Digest, Paper, Topic

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Archive:
    """Everything read from one archive root."""

    root: Path
    topics: dict[str, Topic] = field(default_factory=dict)
    digests: list[Digest] = field(default_factory=list)
    papers: dict[str, Paper] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0


def read_bytes(source: SourceFile, root: Path, problems: list[Problem]) -> bytes | None:
    """A file's bytes, or None with a problem when it may not be read (`bot.archive.files`)."""
    try:
        return read_file(source.path, root)
    except Refused as refused:
        problems.append(Problem(source.rel, None, refused.reason))
        return None


def read_sites(layout: Layout, problems: list[Problem]) -> dict[str, SiteConfig]:
    """Site configs keyed by the folder (relative to the root) that holds them."""
    sites: dict[str, SiteConfig] = {}
    for source in layout.of_kind("config"):
        raw = read_bytes(source, layout.root, problems)
        if raw is not None:
            sites[source.site_root] = read_site_config(raw, source.rel, problems)
    return sites


def read_pages(layout: Layout, problems: list[Problem]) -> dict[str, TopicPage]:
    """Topic pages keyed by the collection slug they name."""
    pages: dict[str, TopicPage] = {}
    for source in layout.of_kind("page"):
        raw = read_bytes(source, layout.root, problems)
        page = read_topic_page(raw, source.rel, problems) if raw is not None else None
        if page is not None:
            pages.setdefault(page.slug, page)
    return pages


def parse_source(
    source: SourceFile, raw: bytes, sites: dict[str, SiteConfig], cache: dict[str, Paper] | None = None
) -> ParseResult:
    """Parse one digest file with the web address its site gives it.

    Never raises: should the parser fail on some input (a bug), the file is
    skipped with a problem saying so and every other file still loads.
    """
    site = sites.get(source.site_root, SiteConfig())
    url = site.digest_url(source.slug or "", source.path.stem)
    try:
        return parse_digest(
            raw, source.rel, slug=source.slug or "", file_date=source.file_date, url=url, cache=cache
        )
    except Exception as err:  # one file never fails a whole read of the archive
        log.exception("could not read %s", source.rel)
        reason = f"file skipped: the reader failed on it ({type(err).__name__}: {str(err)[:200]}); please report it"
        return ParseResult(None, (), (Problem(source.rel, None, reason),))


def load_archive(root: Path | str) -> Archive:
    """Read every digest below `root`; bad files and entries become problems."""
    root = Path(root).resolve()
    layout = scan(root)
    archive = Archive(root, problems=list(layout.problems))
    sites = read_sites(layout, archive.problems)
    pages = read_pages(layout, archive.problems)
    results: list[ParseResult] = []
    seen: dict[tuple[str, object], str] = {}
    cache: dict[str, Paper] = {}
    for source in layout.of_kind("digest"):
        archive.files += 1
        raw = read_bytes(source, root, archive.problems)
        if raw is None:
            continue
        result = parse_source(source, raw, sites, cache)
        archive.problems.extend(result.problems)
        digest = result.digest
        if digest is None:
            continue
        key = (digest.topic.slug, digest.week_start)
        if key in seen:
            archive.problems.append(
                Problem(source.rel, None, f"duplicate digest of {key[0]} {key[1]} (also in {seen[key]})")
            )
            continue
        seen[key] = source.rel
        results.append(result)

    titles: dict[str, Counter[str]] = {}
    links: dict[str, Counter[str]] = {}
    for result in results:
        assert result.digest is not None
        slug = result.digest.topic.slug
        titles.setdefault(slug, Counter())[topic_name_from_title(result.digest.title)] += 1
        for paper in result.digest.papers:
            for ref in paper.topics:
                links.setdefault(ref.slug, Counter())[ref.name] += 1
    archive.topics = name_topics(titles, pages, titles, links)

    placements: list[Placement[Paper]] = []
    for result in results:
        assert result.digest is not None
        digest = replace(result.digest, topic=archive.topics[result.digest.topic.slug])
        archive.digests.append(digest)
        for position, paper in enumerate(digest.papers):
            order = (digest.source_path, position)
            placements.append(Placement(paper.arxiv_id, paper, paper.topics, digest.ref, order))
    names = {slug: topic.name_ja for slug, topic in archive.topics.items()}
    archive.papers = {
        arxiv_id: replace(m.payload, topics=m.topics, digests=m.digests)
        for arxiv_id, m in merge_all(placements, names).items()
    }
    return archive
