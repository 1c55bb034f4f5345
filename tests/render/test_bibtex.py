"""BibTeX of saved papers: read back by a real BibTeX parser with the right fields, whatever the titles hold."""

from __future__ import annotations

import datetime as dt

import bibtexparser
import pytest
from bibtexparser.middlewares import LatexDecodingMiddleware, SeparateCoAuthors
from hypothesis import given
from hypothesis import strategies as st

from bot.model import Paper
from bot.render.bibtex import bibtex, entry_key, year

PAPER = Paper(
    arxiv_id="2408.00707",
    url="https://arxiv.org/abs/2408.00707",
    title="Private & {Fast}: 100% of $x_i^2$ ~ #1 \\ learning",
    authors=("Ada Lovelace", "Barnes and Noble", "山田 太郎"),
    categories=("cs.LG", "cs.CR"),
    posted_at=dt.datetime(2024, 8, 2, 9, 0),
)


def parse(text: str) -> bibtexparser.Library:
    """Parsed, authors split on "and", LaTeX decoded back to Unicode."""
    middleware = [SeparateCoAuthors(), LatexDecodingMiddleware()]
    library = bibtexparser.parse_string(text, append_middleware=middleware)
    assert library.failed_blocks == [], [b.error for b in library.failed_blocks]
    return library


def decoded(value: object) -> object:
    """pylatexenc reads `\\textasciicircum{}` as U+02C6 (the modifier letter); LaTeX prints `^`."""
    return value.replace("\u02c6", "^") if isinstance(value, str) else value


def fields(entry: object) -> dict[str, object]:
    return {f.key: decoded(f.value) for f in entry.fields}  # type: ignore[attr-defined]


def test_an_entry_has_the_fields_and_reads_back_exactly() -> None:
    old = Paper(arxiv_id="hep-th/9901001", url="", title="Old style", authors=("A. Author",), categories=("hep-th",))
    library = parse(bibtex([PAPER, old, PAPER]))
    first, second = library.entries  # the same paper twice is one entry
    assert (first.entry_type, first.key) == ("misc", "2408.00707")
    assert fields(first) == {
        "title": PAPER.title,
        "author": ["Ada Lovelace", "{Barnes and Noble}", "山田 太郎"],  # braced: one name
        "year": "2024",
        "eprint": "2408.00707",
        "archivePrefix": "arXiv",
        "primaryClass": "cs.LG",
        "url": "https://arxiv.org/abs/2408.00707",
    }
    assert (second.key, fields(second)["year"], fields(second)["eprint"]) == ("hep-th_9901001", "1999", "hep-th/9901001")


@pytest.mark.parametrize(("arxiv_id", "expected"), [("2501.12345", "2025"), ("0704.0001", "2007"), ("math/0211159", "2002"), ("odd", "2024")])
def test_year_from_the_id_else_the_posting(arxiv_id: str, expected: str) -> None:
    paper = Paper(arxiv_id=arxiv_id, url="", title="t", posted_at=dt.datetime(2024, 1, 1))
    assert year(paper) == expected


hostile = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=80)


@given(title=hostile, author=hostile)
def test_no_title_or_author_breaks_the_file(title: str, author: str) -> None:
    paper = Paper(arxiv_id="2501.00001", url="", title=title, authors=(author,))
    library = parse(bibtex([paper, PAPER]))
    assert [e.key for e in library.entries] == ["2501.00001", "2408.00707"]
    assert fields(library.entries[1])["title"] == PAPER.title
    assert entry_key("2501.00001") == "2501.00001"
