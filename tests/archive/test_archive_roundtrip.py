"""Papers with arbitrary field text, written in the archive's format and parsed back, are equal."""

from __future__ import annotations

import datetime as dt
import re

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bot.archive.parse import BULLET_RE, COMMENT_LABEL, FOOTER_LABEL, parse_digest
from bot.model import Paper, TopicRef
from tests.support.archive_writer import digest_text, entry_text

# Any character but line breaks (the format is line-based) and lone surrogates (not UTF-8).
_CHARS = st.characters(blacklist_categories=["Cs"], blacklist_characters="\n\r")
_TRICKY = st.sampled_from(list("[]()*_~`$&<>|#-!@:：、。 　") + ["<!channel>", "<@U123>", "&lt;", "](x)", "合成データ"])


def _line(min_size: int = 1, max_size: int = 60) -> st.SearchStrategy[str]:
    """One line of text with no leading/trailing whitespace (the format strips line ends)."""
    pieces = st.lists(st.one_of(st.text(_CHARS, min_size=1, max_size=12), _TRICKY), min_size=min_size, max_size=8)
    return pieces.map("".join).map(str.strip).filter(lambda s: len(s) >= min_size and len(s) <= max_size * 3)


_slug = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,10}", fullmatch=True)
_topic_name = _line().filter(lambda s: "]" not in s and "**" not in s)
_category = _line(max_size=20).map(lambda s: " ".join(s.split())).filter(
    lambda s: s and "," not in s and ";" not in s and "**" not in s
)
_author = _line(max_size=30).filter(lambda s: "," not in s)
_remark = st.lists(st.lists(_line(), min_size=1, max_size=3).map("\n".join), max_size=3).map("\n\n".join)
_posted = st.datetimes(min_value=dt.datetime(1991, 1, 1), max_value=dt.datetime(2099, 12, 31)).map(
    lambda d: d.replace(second=0, microsecond=0)
)


@st.composite
def papers(draw: st.DrawFn) -> Paper:
    arxiv_id = draw(st.from_regex(r"[0-9]{4}\.[0-9]{4,5}", fullmatch=True))
    version = draw(st.sampled_from(["", "v1", "v3"]))
    slugs = draw(st.lists(_slug, max_size=3, unique=True))
    return Paper(
        arxiv_id=arxiv_id,
        url=f"http://arxiv.org/abs/{arxiv_id}{version}",
        title=draw(_line(max_size=200)),
        title_ja=draw(st.one_of(st.just(""), _line(max_size=100))),
        authors=tuple(draw(st.lists(_author, max_size=8))),
        summary=tuple(draw(st.lists(_line(), min_size=1, max_size=5))),
        remark=draw(_remark),
        comment=draw(st.one_of(st.just(""), _line())),
        topics=tuple(TopicRef(slug, draw(_topic_name)) for slug in slugs),
        categories=tuple(dict.fromkeys(draw(st.lists(_category, max_size=6)))),
        posted_at=draw(st.one_of(st.none(), _posted)),
    )


def _well_formed(paper: Paper) -> bool:
    """The format's own reserved lines may not appear inside a field."""
    lines = entry_text(paper).split("\n")
    body = lines[:-2]  # everything before the footer line
    if any(line.strip() == "- - -" for line in lines):
        return False
    if any(line.startswith(FOOTER_LABEL) for line in body):
        return False
    comment_lines = [line for line in body if line.startswith(COMMENT_LABEL)]
    if len(comment_lines) > (1 if paper.comment else 0):
        return False
    if paper.authors and BULLET_RE.match(", ".join(paper.authors)):
        return False
    first_remark = paper.remark.split("\n", 1)[0]
    if paper.remark and (BULLET_RE.match(first_remark) or re.match(r"^-\s", first_remark)):
        return False
    footer = lines[-2]
    return footer.count("**カテゴリ:**") == 1 and footer.count("**投稿日時:**") == 1


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(st.lists(papers(), min_size=1, max_size=4))
def test_written_papers_parse_back_equal(written: list[Paper]) -> None:
    for paper in written:
        assume(_well_formed(paper))
    raw = digest_text("テスト", dt.date(2024, 7, 26), written).encode("utf-8")
    result = parse_digest(raw, "_t/2024-07-26.md", slug="t", file_date=dt.date(2024, 7, 26))
    assert result.digest is not None
    assert [p for p in result.digest.papers] == written
    skipped = [p for p in result.problems if p.severity == "skipped"]
    assert skipped == []


@given(papers())
@settings(max_examples=100, suppress_health_check=[HealthCheck.filter_too_much])
def test_crlf_and_bom_do_not_change_what_is_read(paper: Paper) -> None:
    assume(_well_formed(paper))
    text = digest_text("テスト", dt.date(2024, 7, 26), [paper])
    plain = parse_digest(text.encode(), "a.md", slug="t")
    windows = parse_digest(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode(), "a.md", slug="t")
    assert plain.digest is not None and windows.digest is not None
    assert windows.digest.papers == plain.digest.papers == (paper,)
