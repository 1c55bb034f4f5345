"""Reading digest archives: files -> `Digest` / `Paper` values (no database, no Slack)."""

from bot.archive.arxiv_id import arxiv_id_from_url, parse_arxiv_id
from bot.archive.load import Archive, load_archive
from bot.archive.parse import ParseResult, parse_digest
from bot.archive.problems import Problem

__all__ = [
    "Archive",
    "ParseResult",
    "Problem",
    "arxiv_id_from_url",
    "load_archive",
    "parse_arxiv_id",
    "parse_digest",
]
