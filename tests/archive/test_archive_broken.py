"""An archive of broken files loads every good entry and reports every bad one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.archive import Problem, load_archive
from bot.model import Paper, TopicRef
from bot.store import Catalog, sync_archive
from tests.support.archive_writer import digest_text, entry_text


def paper(n: int, slug: str = "dp") -> Paper:
    return Paper(
        arxiv_id=f"2501.{n:05d}",
        url=f"http://arxiv.org/abs/2501.{n:05d}",
        title=f"Paper number {n}",
        title_ja=f"論文 {n}",
        authors=("A. Author", "B. Author"),
        summary=("要点",),
        topics=(TopicRef(slug, "差分プライバシー"),),
        categories=("cs.LG",),
        posted_at=dt.datetime(2025, 1, 4, 12, 0),
    )


def write(root: Path, rel: str, data: str | bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)


def entry(p: Paper) -> str:
    return f"\n- - -\n\n{entry_text(p)}\n"


HEAD = "---\ntitle: 差分プライバシー (2025-01-{d:02d} ~ 2025-01-{e:02d})\ndate: 2025-01-{d:02d}\n---\n\nintro\n"


@pytest.fixture
def broken_archive(tmp_path: Path) -> Path:
    root = tmp_path / "site"
    week = dt.date(2025, 1, 3)
    write(root, "_dp/2025-01-03.md", digest_text("差分プライバシー", week, [paper(1), paper(2), paper(3)]))
    # Broken YAML: the front matter is unreadable, the entries are fine.
    write(root, "_dp/2025-01-10.md", "---\ntitle: [unclosed\ndate: 2025-01-10\n---\n" + entry(paper(10)))
    # No date in the front matter: the file name gives it.
    write(root, "_dp/2025-01-17.md", "---\ntitle: 差分プライバシー\n---\n" + entry(paper(17)))
    # No front matter at all.
    write(root, "_dp/2025-01-24.md", entry(paper(24)))
    # One entry without a title link, one with a non-arXiv link, one good.
    bad_title = entry(paper(31)).replace("### [Paper number 31](http://arxiv.org/abs/2501.00031)", "### Paper number 31")
    not_arxiv = entry(paper(32)).replace("http://arxiv.org/abs/2501.00032", "https://example.org/2501.00032")
    write(root, "_dp/2025-01-31.md", HEAD.format(d=31, e=37 - 31) + bad_title + not_arxiv + entry(paper(33)))
    # A byte that is not UTF-8 inside one entry; the next entry is fine.
    raw = (HEAD.format(d=7, e=13) + entry(paper(41)) + entry(paper(42))).encode("utf-8")
    raw = raw.replace(b"Paper number 41", b"Paper \xff number 41")
    write(root, "_fl/2025-02-07.md", raw.replace(b"2025-01-07", b"2025-02-07").replace(b"2025-01-13", b"2025-02-13"))
    # Empty, CRLF with BOM, and an impossible date in the name.
    write(root, "_fl/2025-02-14.md", "")
    crlf = ("\ufeff" + digest_text("連合学習", dt.date(2025, 2, 21), [paper(51, "fl")])).replace("\n", "\r\n")
    write(root, "_fl/2025-02-21.md", crlf)
    write(root, "_fl/2025-02-30.md", digest_text("連合学習", dt.date(2025, 2, 28), [paper(61, "fl")]))
    # An entry without its footer line is kept, with a warning.
    no_footer = entry(paper(71)).split("**トピック:**")[0]
    write(root, "_fl/2025-03-07.md", digest_text("連合学習", dt.date(2025, 3, 7), []) + no_footer)
    # The same digest twice (a second copy of the site below the root).
    write(root, "copy/_fl/2025-03-07.md", digest_text("連合学習", dt.date(2025, 3, 7), [paper(72, "fl")]))
    # A file that cannot be read (a dangling link), and site pages that are not digests.
    (root / "_fl" / "2025-03-14.md").symlink_to(root / "nowhere.md")
    write(root, "index.md", "---\ntitle: home\n---\n")
    write(root, "_posts/2025-01-01-hello.md", "---\ntitle: hi\n---\n")
    write(root, "_sd/notes.md", "not a digest")
    return root


GOOD = {f"2501.{n:05d}" for n in (1, 2, 3, 10, 17, 24, 33, 42, 51, 71)}


def expected_problems(root: Path) -> list[tuple[str, int | None, str, str]]:
    """(path, line, reason start, severity) of every problem the broken archive holds."""
    return [
        ("_dp/2025-01-10.md", 2, "broken YAML front matter", "warning"),
        ("_dp/2025-01-10.md", 1, "front matter has no `date`", "warning"),
        ("_dp/2025-01-17.md", 1, "front matter has no `date`", "warning"),
        ("_dp/2025-01-24.md", 1, "no YAML front matter", "warning"),
        ("_dp/2025-01-24.md", 1, "front matter has no `date`", "warning"),
        ("_dp/2025-01-31.md", 10, "entry skipped: entry's title line is not", "skipped"),
        ("_dp/2025-01-31.md", 23, "entry skipped: title link 'https://example.org/2501.00032' is not an arXiv URL", "skipped"),
        ("_fl/2025-02-07.md", 10, "byte 0xff at column 12 is not UTF-8", "warning"),
        ("_fl/2025-02-07.md", 10, "entry skipped: byte 0xff", "skipped"),
        ("_fl/2025-02-14.md", None, "empty file", "skipped"),
        ("_fl/2025-02-30.md", None, "file name is not a valid date", "skipped"),
        ("_fl/2025-03-07.md", 11, "entry 2501.00071 has no `**トピック:**` line", "warning"),
        ("_fl/2025-03-14.md", None, "broken symbolic link", "skipped"),
        ("copy/_fl/2025-03-07.md", None, "duplicate digest of fl 2025-03-07 (also in _fl/2025-03-07.md)", "skipped"),
    ]


def assert_problems(found: list[Problem], root: Path) -> None:
    expected = expected_problems(root)
    remaining = list(found)
    for path, line, reason, severity in expected:
        match = [p for p in remaining if p.path == path and p.line == line and p.reason.startswith(reason) and p.severity == severity]
        assert match, f"not reported: {path}:{line} {reason!r}; reported: {[str(p) for p in found]}"
        remaining.remove(match[0])
    assert remaining == [], f"reported but not expected: {[str(p) for p in remaining]}"


def test_in_memory_load_keeps_good_entries_and_reports_bad_ones(broken_archive: Path) -> None:
    archive = load_archive(broken_archive)
    assert set(archive.papers) == GOOD
    assert_problems(archive.problems, broken_archive)
    assert archive.papers["2501.00051"].title == "Paper number 51"  # the CRLF + BOM file


@pytest.mark.backends("sqlite", "postgresql")
def test_store_sync_keeps_good_entries_and_reports_bad_ones(broken_archive: Path, engine: Engine) -> None:
    report = sync_archive(engine, broken_archive)
    assert report.papers == len(GOOD)
    assert_problems(report.problems, broken_archive)
    catalog = Catalog(engine)
    assert {p.arxiv_id for p in catalog.iter_papers()} == GOOD
    # Problems are remembered: an unchanged re-run reports the same ones without parsing.
    again = sync_archive(engine, broken_archive)
    assert again.parsed == 0
    assert_problems(again.problems, broken_archive)


@pytest.mark.backends("sqlite", "postgresql")
def test_fixing_a_file_clears_its_problems(broken_archive: Path, engine: Engine) -> None:
    sync_archive(engine, broken_archive)
    (broken_archive / "_fl" / "2025-02-14.md").write_text(
        digest_text("連合学習", dt.date(2025, 2, 14), [paper(81, "fl")]), encoding="utf-8"
    )
    report = sync_archive(engine, broken_archive)
    assert report.parsed == 1 and report.changed == 1
    assert not [p for p in report.problems if p.path == "_fl/2025-02-14.md"]
    assert Catalog(engine).paper("2501.00081") is not None
