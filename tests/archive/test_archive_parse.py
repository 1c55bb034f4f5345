"""The digest parser on hand-written files: every field, every oddity of the real format."""

from __future__ import annotations

import datetime as dt

from bot.archive import arxiv_id_from_url, parse_arxiv_id, parse_digest
from bot.model import Paper, TopicRef

HEAD = "---\ntitle: 差分プライバシー (2025-01-03 ~ 2025-01-09)\ndate: 2025-01-03\n---\n\n差分プライバシーに関する論文まとめ (2025-01-03 ~ 2025-01-09)\n\n"

ENTRY = """
- - -

### [Noise & Signal: A $k$-Study of [Bracketed] (Private) <Learning>*](http://arxiv.org/abs/2501.01234v2)

**ノイズと信号：プライベート学習の*研究***

Ada Lovelace, Alan Turing, Grace Hopper

- 一つ目の要点
-　全角スペースの要点
- 三つ目の要点

編集者のひとこと。
二行目も同じ段落。

次の段落。

**Comment:** 12 pages,   3 figures

**トピック:** [差分プライバシー](../../dp), [連合学習](../../fl), **カテゴリ:** cs.LG, cs.CR, 68T50, I.2.7, **投稿日時:** 2025-01-08 16:54

"""

EXPECTED = Paper(
    arxiv_id="2501.01234",
    url="http://arxiv.org/abs/2501.01234v2",
    title="Noise & Signal: A $k$-Study of [Bracketed] (Private) <Learning>*",
    title_ja="ノイズと信号：プライベート学習の*研究*",
    authors=("Ada Lovelace", "Alan Turing", "Grace Hopper"),
    summary=("一つ目の要点", "全角スペースの要点", "三つ目の要点"),
    remark="編集者のひとこと。\n二行目も同じ段落。\n\n次の段落。",
    comment="12 pages,   3 figures",
    topics=(TopicRef("dp", "差分プライバシー"), TopicRef("fl", "連合学習")),
    categories=("cs.LG", "cs.CR", "68T50", "I.2.7"),
    posted_at=dt.datetime(2025, 1, 8, 16, 54),
)


def parse(text: str | bytes, path: str = "_dp/2025-01-03.md"):
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return parse_digest(raw, path, slug="dp", file_date=dt.date(2025, 1, 3), url="https://x.org/dp/2025-01-03/")


def test_every_field_of_an_entry() -> None:
    result = parse(HEAD + ENTRY)
    assert result.problems == ()
    digest = result.digest
    assert digest is not None
    assert digest.papers == (EXPECTED,)
    assert (digest.week_start, digest.week_end) == (dt.date(2025, 1, 3), dt.date(2025, 1, 9))
    assert digest.title == "差分プライバシー (2025-01-03 ~ 2025-01-09)"
    assert digest.topic.slug == "dp" and digest.topic.name_ja == "差分プライバシー"
    assert digest.url == "https://x.org/dp/2025-01-03/"
    assert digest.source_path == "_dp/2025-01-03.md"
    assert result.entries[0].line == 11


def test_optional_parts_may_be_missing() -> None:
    entry = """
- - -

### [Plain](https://arxiv.org/abs/2501.00001)

**素の論文**

Solo Author

- 要点



**トピック:** [差分プライバシー](../../dp), **カテゴリ:** cs.LG, **投稿日時:** 2025-01-04 00:03
"""
    paper = parse(HEAD + entry).digest.papers[0]
    assert (paper.remark, paper.comment, paper.authors) == ("", "", ("Solo Author",))


def test_footer_wrapped_over_two_lines() -> None:
    entry = ENTRY.replace(
        "**カテゴリ:** cs.LG, cs.CR, 68T50, I.2.7,",
        "**カテゴリ:** cs.LG, I.2.10; I.4.0; I.2.10;\n  I.5.1; J.2, Machine Learning\n  (stat.ML),",
    )
    paper = parse(HEAD + entry).digest.papers[0]
    assert paper.categories == ("cs.LG", "I.2.10", "I.4.0", "I.5.1", "J.2", "Machine Learning (stat.ML)")
    assert paper.posted_at == dt.datetime(2025, 1, 8, 16, 54)


def test_japanese_title_in_italics_below_the_authors() -> None:
    entry = ENTRY.replace("**ノイズと信号：プライベート学習の*研究***", "****").replace(
        "Grace Hopper\n", "Grace Hopper\n\n*斜体の日本語タイトル*\n"
    )
    paper = parse(HEAD + entry).digest.papers[0]
    assert paper.title_ja == "斜体の日本語タイトル"
    assert paper.authors == EXPECTED.authors and paper.summary == EXPECTED.summary


def test_crlf_and_bom_read_like_lf() -> None:
    windows = ("\ufeff" + HEAD + ENTRY).replace("\n", "\r\n")
    result = parse(windows)
    assert result.problems == ()
    assert result.digest.papers == (EXPECTED,)


def test_paper_before_the_first_separator_is_kept() -> None:
    result = parse(HEAD + ENTRY.replace("\n- - -\n", "", 1))
    assert result.digest.papers == (EXPECTED,)


def test_week_end_falls_back_to_six_days() -> None:
    head = "---\ntitle: Something\ndate: 2025-01-03\n---\n"
    digest = parse(head + ENTRY).digest
    assert digest is not None and digest.week_end == dt.date(2025, 1, 9)
    assert digest.topic.name_ja == "Something"


def test_trailing_separator_is_not_an_entry() -> None:
    result = parse(HEAD + ENTRY + "\n- - -\n\n")
    assert len(result.digest.papers) == 1 and result.problems == ()


def test_arxiv_ids_in_every_form() -> None:
    for text in (
        "2408.00707",
        "2408.00707v2",
        "arXiv:2408.00707",
        "arxiv: 2408.00707v12",
        "http://arxiv.org/abs/2408.00707",
        "https://arxiv.org/pdf/2408.00707v3",
        "https://arxiv.org/pdf/2408.00707.pdf",
        "https://www.arxiv.org/abs/2408.00707?context=cs",
        "<https://arxiv.org/abs/2408.00707>",
    ):
        assert parse_arxiv_id(text) == "2408.00707", text
    assert parse_arxiv_id("math/0601001v1") == "math/0601001"
    assert parse_arxiv_id("hep-th/9901001") == "hep-th/9901001"
    for text in ("", "2408", "24080.0707", "https://example.org/abs/2408.00707", "2408.00707 extra"):
        assert parse_arxiv_id(text) is None, text
    assert arxiv_id_from_url("http://arxiv.org/abs/1234.56789v1") == "1234.56789"
