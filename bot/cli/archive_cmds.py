"""`digest-bot index | show | topics | weeks`: the archive from a terminal."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from bot.archive import parse_arxiv_id
from bot.cli.context import CliContext, fail, pass_cli, print_json
from bot.cli.progress import progress
from bot.model import Digest, Paper
from bot.progress import Progress
from bot.search import LiveSearch
from bot.search.dense import Dense, DenseVectors
from bot.store import Catalog, SyncReport

archive_option = click.option(
    "--archive",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Digest archive folder (default: DIGEST_ARCHIVE, else the bundled example archive).",
)
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")


@click.command()
@archive_option
@json_option
@click.option(
    "--allow-empty-archive", is_flag=True,
    help="Index the archive folder even though it holds no digest files yet (otherwise an error).",
)
@pass_cli
def index(cli: CliContext, archive: Path | None, as_json: bool, allow_empty_archive: bool) -> None:
    """Bring the store up to date with the archive (only changed files are read).

    Prints what was read and every file or entry that was skipped, with its
    line and the reason. Exits 0 even when some entries were skipped: a bad
    file never stops the rest of the archive from loading. A DIGEST_ARCHIVE_GIT
    archive is fetched first (a failed fetch is said; the last good checkout
    is read). Given another folder than the one the store indexes, it
    re-indexes the store from that folder (on a shared store, the only
    command that does; posts and thread counts are kept). A folder without
    digest files is an error unless --allow-empty-archive.
    """
    dense = cli.dense()
    if as_json:  # for programs: the JSON on stdout and nothing else
        report = cli.sync(archive, retarget=True, fetch=True, allow_empty=allow_empty_archive)
        search_index(cli, None)
        if dense is not None:
            embed(cli, dense, None)
        print_json(report.as_dict())
        return
    with progress(cli.err, "indexing", "files") as shown:
        report = cli.sync(archive, progress=shown, retarget=True, fetch=True, allow_empty=allow_empty_archive)
    with progress(cli.err, "search index", "papers") as shown:
        search = search_index(cli, shown)
    embedded = None
    if dense is not None:
        with progress(cli.err, "embedding", "papers") as shown:
            embedded = embed(cli, dense, shown)
    _print_report(cli, report)
    state = {"built": "built", "opened": "up to date"}.get(search.opened, "up to date")
    cli.out.print(f"[bold]Search index[/] {escape(str(search.index_dir or 'a temporary folder'))}: "
                  f"{state}, {len(search.engine())} papers")
    if dense is not None and embedded is not None:
        cli.out.print(f"[bold]Dense vectors[/] {escape(str(dense.path))}: {len(embedded)} papers")


def embed(cli: CliContext, dense: Dense, shown: Progress | None) -> DenseVectors:
    """Embed the papers new or changed since the last time (DIGEST_DENSE), so questions find
    them by meaning from the first answer on."""
    return dense.refresh(Catalog(cli.engine).iter_papers(), limit=cli.settings.dense_max_papers, progress=shown)


def search_index(cli: CliContext, shown: Progress | None) -> LiveSearch:
    """Bring the search index up to date with the store now, so that the first search (or the
    bot's first start) opens it instead of building it for minutes in silence."""
    search = LiveSearch(Catalog(cli.engine), index_dir=cli.settings.search_index_dir, progress=shown)
    search.engine()
    return search


def _print_report(cli: CliContext, report: SyncReport) -> None:
    out = cli.out
    out.print(f"[bold]Archive[/] {escape(report.root)}")
    out.print(
        f"  {report.files} digest files: {report.new} new, {report.changed} changed, "
        f"{report.removed} removed, {report.unchanged} unchanged ({report.parsed} parsed)"
    )
    out.print(
        f"  {report.digests} digests, {report.papers} papers "
        f"(+{report.papers_added} added, {report.papers_updated} updated, -{report.papers_removed} removed)"
    )
    out.print(f"  store version {report.version}, {report.seconds:.2f} s")
    if report.skipped:
        out.print(f"[bold yellow]Skipped ({len(report.skipped)})[/]")
        for problem in report.skipped:
            out.print(f"  {escape(str(problem))}")
    if report.warnings:
        out.print(f"[bold]Read with a fallback ({len(report.warnings)})[/]")
        for problem in report.warnings:
            out.print(f"  {escape(str(problem))}")
    if not report.problems:
        out.print("  no problems found")


@click.command()
@click.argument("paper")
@archive_option
@json_option
@pass_cli
def show(cli: CliContext, paper: str, archive: Path | None, as_json: bool) -> None:
    """Print one paper with all its fields and the digests it stands in.

    PAPER is an arXiv id (2408.00707, 2408.00707v2, arXiv:2408.00707) or an
    arXiv URL (abs/ or pdf/).
    """
    arxiv_id = parse_arxiv_id(paper)
    if arxiv_id is None:
        fail(f"{paper!r} is not an arXiv id or URL (e.g. 2408.00707 or https://arxiv.org/abs/2408.00707)")
    catalog = cli.catalog(archive)
    found = catalog.paper(arxiv_id)
    if found is None:
        fail(f"paper {arxiv_id} is not in the archive", code=1)
    digests = [d for ref in found.digests for d in catalog.digests(slug=ref.slug, week=ref.week_start)]
    if as_json:
        print_json({**paper_json(found), "digests": [digest_json(d) for d in digests]})
        return
    _print_paper(cli, found, digests)


def paper_json(paper: Paper) -> dict[str, Any]:
    """A paper as JSON: every field, ISO dates."""
    data = dataclasses.asdict(paper)
    data["topics"] = [{"slug": t.slug, "name": t.name} for t in paper.topics]
    data["posted_at"] = paper.posted_at.isoformat(sep=" ", timespec="minutes") if paper.posted_at else None
    data["digests"] = [{"slug": d.slug, "week_start": d.week_start.isoformat()} for d in paper.digests]
    return data


def digest_json(digest: Digest) -> dict[str, Any]:
    return {
        "slug": digest.topic.slug,
        "topic": digest.topic.name_ja,
        "topic_en": digest.topic.name_en,
        "week_start": digest.week_start.isoformat(),
        "week_end": digest.week_end.isoformat(),
        "title": digest.title,
        "source_path": digest.source_path,
        "url": digest.url,
    }


def _print_paper(cli: CliContext, paper: Paper, digests: list[Digest]) -> None:
    out = cli.out
    out.print(f"[bold]{escape(paper.title)}[/]")
    if paper.title_ja:
        out.print(escape(paper.title_ja))
    out.print(f"[dim]{paper.abs_url}[/]")
    out.print()
    rows: list[tuple[str, str]] = [
        ("arXiv id", paper.arxiv_id),
        ("Authors", ", ".join(paper.authors)),
        ("Topics", ", ".join(f"{t.name} ({t.slug})" for t in paper.topics)),
        ("Categories", ", ".join(paper.categories)),
        ("Posted", paper.posted_at.strftime("%Y-%m-%d %H:%M") if paper.posted_at else "unknown"),
        ("Comment", paper.comment or "-"),
    ]
    table = Table.grid(padding=(0, 2))
    for label, value in rows:
        table.add_row(f"[bold]{label}[/]", escape(value))
    out.print(table)
    if paper.summary:
        out.print("\n[bold]Summary[/]")
        for bullet in paper.summary:
            out.print(f"  • {escape(bullet)}")
    if paper.remark:
        out.print("\n[bold]Editor's remark[/]")
        out.print("  " + escape(paper.remark).replace("\n", "\n  "))
    out.print("\n[bold]In digests[/]")
    for digest in digests:
        link = f"  {digest.url}" if digest.url else ""
        out.print(f"  {escape(digest.title)}  [dim]{escape(digest.source_path)}{link}[/]")


@click.command()
@archive_option
@click.option("--all", "include_all", is_flag=True, help="Include the `all` aggregate collection.")
@json_option
@pass_cli
def topics(cli: CliContext, archive: Path | None, include_all: bool, as_json: bool) -> None:
    """List topics: slug, Japanese and English names, papers and digest weeks."""
    stats = cli.catalog(archive).topics(include_aggregate=include_all)
    if as_json:
        print_json(
            [
                {
                    "slug": s.topic.slug,
                    "name_ja": s.topic.name_ja,
                    "name_en": s.topic.name_en,
                    "papers": s.papers,
                    "digests": s.digests,
                    "first_week": s.first_week,
                    "last_week": s.last_week,
                }
                for s in stats
            ]
        )
        return
    table = Table(title="Topics", title_justify="left")
    for column in ("slug", "Japanese", "English", "papers", "weeks", "newest week"):
        table.add_column(column, justify="right" if column in ("papers", "weeks") else "left")
    for s in stats:
        table.add_row(
            s.topic.slug, escape(s.topic.name_ja), escape(s.topic.name_en), str(s.papers), str(s.digests),
            str(s.last_week or "-"),
        )
    cli.out.print(table)


@click.command()
@archive_option
@json_option
@pass_cli
def weeks(cli: CliContext, archive: Path | None, as_json: bool) -> None:
    """List digest weeks, newest first, with their papers and topics."""
    stats = cli.catalog(archive).weeks()
    if as_json:
        print_json(
            [
                {"week_start": w.week_start, "week_end": w.week_end, "papers": w.papers, "topics": list(w.topics)}
                for w in stats
            ]
        )
        return
    table = Table(title="Weeks", title_justify="left")
    for column in ("week", "papers", "topics"):
        table.add_column(column, justify="right" if column == "papers" else "left")
    for w in stats:
        table.add_row(f"{w.week_start} ~ {w.week_end}", str(w.papers), ", ".join(w.topics))
    cli.out.print(table)
