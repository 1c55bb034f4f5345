"""The real archive (../shared/archive): counts, topics, and every field of one digest exact.

The archive's prose is not ours to copy into this repository, so exact text is
checked two ways: against an independent, deliberately naive reading of the
same file written here, and against SHA-256 fingerprints of a few records.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import defaultdict
from pathlib import Path

import pytest

from bot.archive import load_archive
from bot.archive.parse import parse_digest
from bot.model import Paper, TopicRef
from bot.store import Catalog

pytestmark = pytest.mark.real_archive

TOPIC_SLUGS = {"sd", "fl", "dp", "he", "mpc", "pets", "ssi", "ftl", "tee", "zkp"}


def fingerprint(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def files_per_topic(root: Path) -> dict[str, set[str]]:
    """Distinct arXiv ids per collection folder, by a plain regex over the files."""
    ids: dict[str, set[str]] = defaultdict(set)
    for path in root.glob("_*/????-??-??.md"):
        text = path.read_text(encoding="utf-8")
        ids[path.parent.name[1:]].update(re.findall(r"^### \[.*\]\(https?://arxiv\.org/abs/([\d.]+?)(?:v\d+)?\)$", text, re.MULTILINE))
    return ids


def test_counts_and_no_problems(real_archive: Path) -> None:
    archive = load_archive(real_archive)
    assert len(archive.digests) == 326
    assert len(archive.papers) == 3345
    assert archive.problems == []
    assert sum(len(d.papers) for d in archive.digests) == 6943
    assert len({d.week_start for d in archive.digests}) == 42


def test_store_holds_the_same(real_archive: Path, real_store: Catalog) -> None:
    assert real_store.count_papers() == 3345
    assert len(real_store.digests()) == 326
    assert len(real_store.weeks()) == 42
    expected = files_per_topic(real_archive)
    stats = {s.topic.slug: s for s in real_store.topics(include_aggregate=True)}
    assert set(stats) == TOPIC_SLUGS | {"all"}
    for slug, ids in expected.items():
        assert stats[slug].papers == len(ids), slug
    assert stats["all"].papers == 3345
    # Every paper's topics are the folders it stands in (and `all`).
    where: dict[str, set[str]] = defaultdict(set)
    for slug, ids in expected.items():
        for arxiv_id in ids:
            where[arxiv_id].add(slug)
    for paper in real_store.iter_papers():
        assert set(paper.topic_slugs) == where[paper.arxiv_id] - {"all"}, paper.arxiv_id
        assert {d.slug for d in paper.digests} == where[paper.arxiv_id]


def test_topic_names(real_store: Catalog) -> None:
    names = {s.topic.slug: (s.topic.name_ja, s.topic.name_en) for s in real_store.topics(include_aggregate=True)}
    assert names["sd"] == ("合成データ", "Synthetic Data")
    assert names["pets"] == ("PETs", "Privacy Enhancing Technologies")
    assert names["ssi"] == ("SSI/DID/VC", "SSI/DID/VC")
    assert names["tee"] == ("TEE", "TEE")  # no topic page: the digests name it
    assert names["all"] == ("全て", "All")


def naive_read(text: str) -> list[Paper]:
    """A second, independent reading of a digest: plain string operations, no shared code."""
    papers = []
    for block in text.split("\n- - -\n")[1:]:
        lines = [line.strip() for line in block.strip().split("\n") if line.strip()]
        head = lines[0]
        cut = head.rindex("](")
        title, url = head[len("### [") : cut], head[cut + 2 : -1]
        footer = next(line for line in lines if line.startswith("**トピック:**"))
        comment = next((line[len("**Comment:**") :].strip() for line in lines if line.startswith("**Comment:**")), "")
        bullets = [line[2:] for line in lines if line.startswith("- ")]
        after_bullets = block.strip().split("\n")
        last_bullet = max(i for i, line in enumerate(after_bullets) if line.startswith("- "))
        tail = "\n".join(after_bullets[last_bullet + 1 :])
        remark = tail.split("**Comment:**")[0].split("**トピック:**")[0].strip()
        remark = re.sub(r"\n\s*\n+", "\n\n", remark)
        topics_part, rest = footer.split("**カテゴリ:**")
        categories, posted = rest.split("**投稿日時:**")
        papers.append(
            Paper(
                arxiv_id=url.rsplit("/", 1)[1],
                url=url,
                title=title,
                title_ja=lines[1][2:-2],
                authors=tuple(lines[2].split(", ")),
                summary=tuple(bullets),
                remark=remark,
                comment=comment,
                topics=tuple(TopicRef(s, n) for n, s in re.findall(r"\[([^\]]+)\]\(\.\./\.\./(\w+)\)", topics_part)),
                categories=tuple(c.strip() for c in re.split("[,;]", categories) if c.strip()),
                posted_at=dt.datetime.strptime(posted.strip(), "%Y-%m-%d %H:%M"),
            )
        )
    return papers


def test_sd_2024_07_26_every_field_exact(real_archive: Path) -> None:
    path = real_archive / "_sd" / "2024-07-26.md"
    result = parse_digest(path.read_bytes(), "_sd/2024-07-26.md", slug="sd", file_date=dt.date(2024, 7, 26))
    assert result.problems == ()
    digest = result.digest
    assert digest is not None
    assert (digest.week_start, digest.week_end) == (dt.date(2024, 7, 26), dt.date(2024, 8, 1))
    assert len(digest.papers) == 24
    assert list(digest.papers) == naive_read(path.read_text(encoding="utf-8"))


# Complete records: literal facts, and fingerprints of the prose fields.
RECORDS = {
    "2408.00707": {
        "url": "http://arxiv.org/abs/2408.00707", "title": "25f6176e14614ad5", "title_ja": "58c23c1db76f5b40",
        "authors": (5, "20358badb0a91c85"), "summary": (4, "6a63ee3f8c0c1f33"), "remark": "dea25134891a360c", "comment": "",
        "categories": ("cs.CV", "cs.CE", "cs.LG"), "posted_at": dt.datetime(2024, 8, 1, 16, 54),
    },
    "2408.00307": {
        "url": "http://arxiv.org/abs/2408.00307", "title": "a50a328d04056857", "title_ja": "be8ec1e3c743c84f",
        "authors": (5, "10116b68198d557b"), "summary": (4, "45ca7f03d0c3045a"), "remark": "70542a504ccf0bea",
        "comment": "23 pages, 4 figures", "categories": ("cs.LG", "cs.AI", "cs.CL", "68T50", "I.2.7"),
        "posted_at": dt.datetime(2024, 8, 1, 6, 6),
    },
    "2408.00296": {
        "url": "http://arxiv.org/abs/2408.00296", "title": "84847e52036b1b24", "title_ja": "a5d3f6550acf16c6",
        "authors": (9, "d07d7252fc8d277d"), "summary": (4, "a5ed7351e0c02792"), "remark": "62a0c427e2926690",
        "comment": "ECCV 2024", "categories": ("cs.CV",), "posted_at": dt.datetime(2024, 8, 1, 5, 46),
    },
    "2407.21772": {
        "url": "http://arxiv.org/abs/2407.21772", "title": "9130f0d1333cb4da", "title_ja": "ffd87cf14c8bc257",
        "authors": (12, "27d9648a282e9582"), "summary": (4, "b5efdc3a9fffbdf8"), "remark": "de7ccdd0df5fae65", "comment": "",
        "categories": ("cs.CL", "cs.LG"), "posted_at": dt.datetime(2024, 7, 31, 17, 48),
    },
}


@pytest.mark.parametrize("arxiv_id", sorted(RECORDS))
def test_complete_records(arxiv_id: str, real_store: Catalog) -> None:
    paper = real_store.paper(arxiv_id)
    assert paper is not None
    want = RECORDS[arxiv_id]
    got = {
        "url": paper.url,
        "title": fingerprint(paper.title),
        "title_ja": fingerprint(paper.title_ja),
        "authors": (len(paper.authors), fingerprint("\n".join(paper.authors))),
        "summary": (len(paper.summary), fingerprint("\n".join(paper.summary))),
        "remark": fingerprint(paper.remark),
        "comment": paper.comment,
        "categories": paper.categories,
        "posted_at": paper.posted_at,
    }
    assert got == want
    assert paper.topics == (TopicRef("sd", "合成データ"),)
    assert [(d.slug, d.week_start) for d in paper.digests] == [("all", dt.date(2024, 7, 26)), ("sd", dt.date(2024, 7, 26))]


def test_quirky_entries(real_store: Catalog) -> None:
    """Entries whose shape differs from the rest are still read whole."""
    italic = real_store.paper("2409.18718")  # empty bold title, Japanese title in italics below the authors
    assert italic is not None and italic.title_ja.startswith("6G") and len(italic.authors) == 6
    wrapped = real_store.paper("2411.14639")  # category line wrapped onto a second line
    assert wrapped is not None and wrapped.posted_at == dt.datetime(2024, 11, 22, 0, 9)
    assert "Machine Learning (stat.ML)" in wrapped.categories
    fullwidth = real_store.paper("2408.09767")  # a bullet written "-　" with a full-width space
    assert fullwidth is not None and len(fullwidth.summary) == 4
