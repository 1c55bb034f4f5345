"""`digest-bot search`: the archive's fuzzy search from a terminal, or as a line protocol.

`--stdin --json` reads one query per line and answers each with one JSON
line, so benchmarks and evaluations pay the index build once, not per query.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

import click
from rich.markup import escape

from bot.ask.asker import Asker
from bot.ask.question import is_question
from bot.cli.archive_cmds import archive_option, json_option
from bot.cli.context import CliContext, pass_cli, print_json
from bot.model import Paper
from bot.search import LiveSearch, SearchEngine, SearchResponse
from bot.search.results import Hit

_MAX_AUTHORS = 3


@click.command()
@click.argument("query", nargs=-1)
@archive_option
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 200), help="Hits per query.")
@click.option("--offset", default=0, show_default=True, type=click.IntRange(0), help="Skip this many hits (paging).")
@json_option
@click.option(
    "--stdin", "from_stdin", is_flag=True,
    help="Read one query per line from standard input; with --json, print one JSON line per query.",
)
@pass_cli
def search(
    cli: CliContext,
    query: tuple[str, ...],
    archive: Path | None,
    limit: int,
    offset: int,
    as_json: bool,
    from_stdin: bool,
) -> None:
    """Search papers: English or Japanese words (typos welcome), "phrases", filters, ids.

    \b
    Filters: topic:sd  topic:合成データ  topic:"synthetic data"  author:Leskovec
             cat:cs.CV  week:2024-07-26  since:2024-07-01  until:2024-08-01
    An arXiv id or URL finds that paper first. Filters alone list the newest papers.
    A sentence is read as a question, as /papers reads it: its closest papers
    (by meaning too, with DIGEST_DENSE) rather than nothing.

    \b
    Examples:
      digest-bot search federated lerning
      digest-bot search 'topic:fl author:"Jure Leskovec"'
      digest-bot search 2408.00707
      digest-bot search how can the server spot manipulated model updates
      printf 'dp\\nsegmantation\\n' | digest-bot search --stdin --json
    """
    if not from_stdin and not query:
        raise click.UsageError("give a QUERY (or --stdin to read queries line by line)")
    live = LiveSearch(cli.catalog(archive), index_dir=cli.settings.search_index_dir)
    engine = live.engine()

    @functools.cache
    def asker() -> Asker:
        """Made at the first sentence: with DIGEST_DENSE it loads the model."""
        return Asker(live.engine, cli.engine, dense=cli.dense())

    def searched(text: str) -> tuple[SearchResponse, bool]:
        """As `/papers` searches: a sentence as a question (`Asker.retrieve`), else the words;
        and whether it was read as a question."""
        if is_question(text):
            return asker().retrieve(text, limit=limit, offset=offset)[0], True
        return engine.search(text, limit=limit, offset=offset, fields=True), False

    if from_stdin:
        for line in sys.stdin:
            response, asked = searched(line.rstrip("\r\n"))
            if as_json:
                click.echo(json.dumps(line_json(response), ensure_ascii=False))
                sys.stdout.flush()
            else:
                _print_response(cli, response, engine, asked=asked)
        return
    response, asked = searched(" ".join(query))
    if as_json:
        print_json(response_json(response))
        return
    _print_response(cli, response, engine, asked=asked)


def hit_json(hit: Hit) -> dict[str, Any]:
    paper = hit.paper
    return {
        "arxiv_id": paper.arxiv_id,
        "title": paper.title,
        "title_ja": paper.title_ja,
        "score": hit.score,
        "matched": list(hit.matched),
        "authors": list(paper.authors),
        "topics": [t.slug for t in paper.topics],
        "categories": list(paper.categories),
        "week": paper.week_start.isoformat() if paper.week_start else None,
        "url": paper.abs_url,
    }


def response_json(response: SearchResponse) -> dict[str, Any]:
    """A whole response: hits with every field shown, paging, suggestions and notices."""
    return {
        "query": response.query,
        "total": response.total,
        "offset": response.offset,
        "has_more": response.has_more,
        "results": [hit_json(h) for h in response.hits],
        "suggestions": list(response.suggestions),
        "notices": list(response.notices),
        "closest": response.closest,
    }


def line_json(response: SearchResponse) -> dict[str, Any]:
    """One `--stdin --json` answer line (the same fields as `--json`)."""
    return response_json(response)


def _authors(paper: Paper) -> str:
    shown = ", ".join(paper.authors[:_MAX_AUTHORS])
    if len(paper.authors) > _MAX_AUTHORS:
        shown += f" … (+{len(paper.authors) - _MAX_AUTHORS})"
    return shown


def _print_response(cli: CliContext, response: SearchResponse, engine: SearchEngine, *, asked: bool = False) -> None:
    out = cli.out
    for notice in response.notices:
        out.print(f"[yellow]note:[/] {escape(notice)}")
    if not response.hits:
        out.print(f"[bold]No papers matched[/] {escape(repr(response.query))}.")
        if response.suggestions:
            out.print("Did you mean: " + ", ".join(f"[cyan]{escape(s)}[/]" for s in response.suggestions))
        return
    names = {t.slug: t.label for t in engine.topics}
    for rank, hit in enumerate(response.hits, start=response.offset + 1):
        paper = hit.paper
        out.print(f"[bold]{rank:>3}.[/] [green]{hit.score:5.1f}[/]  [cyan]{paper.arxiv_id}[/]  [bold]{escape(paper.title)}[/]")
        if paper.title_ja:
            out.print(f"{'':>13}{escape(paper.title_ja)}")
        topics = ", ".join(f"{names.get(t.slug, t.name)} [{t.slug}]" for t in paper.topics) or "-"
        week = paper.week_start.isoformat() if paper.week_start else "-"
        # A question's hits (`Asker.retrieve`) do not say where they matched: some matched by meaning.
        matched = "" if asked else f" · matched: {escape(', '.join(hit.matched) or 'filters')}"
        out.print(f"{'':>13}[dim]{escape(_authors(paper))} · {escape(topics)} · week {week}{matched}[/]")
    shown_to = response.offset + len(response.hits)
    more = f"; --offset {shown_to} for more" if response.has_more else ""
    out.print(f"[dim]{response.offset + 1}-{shown_to} of {response.total}{more}[/]")
    if response.suggestions:
        out.print("Did you mean: " + ", ".join(f"[cyan]{escape(s)}[/]" for s in response.suggestions))
