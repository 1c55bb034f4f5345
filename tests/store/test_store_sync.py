"""The incremental indexer: unchanged means untouched, changes and deletions land exactly."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, event

from bot.archive import load_archive
from bot.model import Paper, TopicRef
from bot.store import ArchiveMismatch, Catalog, sync_archive
from tests.support.archive_writer import digest_text, entry_text, write_topic_page

pytestmark = pytest.mark.backends("sqlite", "postgresql")


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Record every SQL statement the engine runs (a tracer, as sqlite-utils does)."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append(statement.strip().split()[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


WRITES = {"INSERT", "UPDATE", "DELETE"}


def test_unchanged_archive_parses_and_writes_nothing(example_archive: Path, engine: Engine) -> None:
    first = sync_archive(engine, example_archive)
    assert (first.new, first.parsed, first.papers, first.digests) == (9, 9, 21, 9)
    with statements(engine) as seen:
        again = sync_archive(engine, example_archive)
    assert again.parsed == 0 and again.new == again.changed == again.removed == 0
    assert again.unchanged == 9
    assert WRITES.isdisjoint(seen), seen
    assert again.version == first.version


def test_touched_file_is_hashed_not_parsed(example_archive: Path, engine: Engine) -> None:
    sync_archive(engine, example_archive)
    path = example_archive / "_dp" / "2025-01-10.md"
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))
    report = sync_archive(engine, example_archive)
    assert report.parsed == 0 and report.changed == 0
    with statements(engine) as seen:
        assert sync_archive(engine, example_archive).parsed == 0
    assert WRITES.isdisjoint(seen)


def test_changed_file_is_read_again(example_archive: Path, engine: Engine) -> None:
    sync_archive(engine, example_archive)
    catalog = Catalog(engine)
    before = catalog.paper("1607.00133")
    assert before is not None
    for rel in ("_dp/2025-01-03.md", "_all/2025-01-03.md"):
        path = example_archive / rel
        path.write_text(path.read_text(encoding="utf-8").replace(before.title, "Deep Learning, Edited"), encoding="utf-8")
    report = sync_archive(engine, example_archive)
    assert (report.changed, report.parsed, report.papers_updated) == (2, 2, 1)
    after = catalog.paper("1607.00133")
    assert after is not None and after.title == "Deep Learning, Edited"
    assert report.version == 2 and catalog.version() == 2


def test_deleted_file_drops_its_digest_but_keeps_papers_still_elsewhere(example_archive: Path, engine: Engine) -> None:
    sync_archive(engine, example_archive)
    catalog = Catalog(engine)
    # 1710.06963 stands in dp and fl of week 2025-01-03 (and all); 1607.00133 only in dp (and all).
    (example_archive / "_dp" / "2025-01-03.md").unlink()
    report = sync_archive(engine, example_archive)
    assert report.removed == 1 and report.digests == 8 and report.papers == 21
    assert catalog.digest("dp", dt.date(2025, 1, 3)) is None
    shared = catalog.paper("1710.06963")
    assert shared is not None and "dp" in shared.topic_slugs  # its entries still name dp
    assert {d.slug for d in shared.digests} == {"fl", "all"}
    alone = catalog.paper("1607.00133")
    assert alone is not None and {d.slug for d in alone.digests} == {"all"}
    # Remove it from `all` too: the paper is gone, and readers learn it was removed.
    version = report.version
    path = example_archive / "_all" / "2025-01-03.md"
    text = path.read_text(encoding="utf-8")
    entries = text.split("\n- - -\n")
    path.write_text("\n- - -\n".join(e for e in entries if "1607.00133" not in e), encoding="utf-8")
    report = sync_archive(engine, example_archive)
    assert report.papers == 20 and report.papers_removed == 1
    assert catalog.paper("1607.00133") is None
    _, changed, removed = catalog.changes_since(version)
    assert removed == ["1607.00133"]
    assert changed == []


def test_new_file_and_topic_page(example_archive: Path, engine: Engine) -> None:
    sync_archive(engine, example_archive)
    paper = Paper(
        arxiv_id="2501.99999",
        url="http://arxiv.org/abs/2501.99999",
        title="A New Topic Appears",
        title_ja="新しいトピック",
        authors=("N. Author",),
        summary=("要点",),
        topics=(TopicRef("zkp", "ゼロ知識証明"),),
        categories=("cs.CR",),
        posted_at=dt.datetime(2025, 1, 20, 9, 0),
    )
    path = example_archive / "_zkp" / "2025-01-17.md"
    path.parent.mkdir()
    path.write_text(digest_text("ゼロ知識証明", dt.date(2025, 1, 17), [paper]), encoding="utf-8")
    report = sync_archive(engine, example_archive)
    assert (report.new, report.parsed, report.papers_added) == (1, 1, 1)
    topics = {s.topic.slug: s for s in Catalog(engine).topics()}
    assert topics["zkp"].topic.name_en == "ゼロ知識証明" and topics["zkp"].papers == 1
    write_topic_page(example_archive, "zkp", "ゼロ知識証明", "Zero-Knowledge Proof")
    sync_archive(engine, example_archive)
    topics = {s.topic.slug: s for s in Catalog(engine).topics()}
    assert topics["zkp"].topic.name_en == "Zero-Knowledge Proof"


def test_site_config_change_updates_web_addresses(example_archive: Path, engine: Engine) -> None:
    sync_archive(engine, example_archive)
    catalog = Catalog(engine)
    digest = catalog.digest("dp", dt.date(2025, 1, 3))
    assert digest is not None and digest.url == "https://example.org/paper-digest/dp/2025-01-03/"
    config = example_archive / "_config.yml"
    config.write_text(config.read_text(encoding="utf-8").replace("https://example.org", "https://digest.example.com"))
    report = sync_archive(engine, example_archive)
    assert report.parsed == 0  # no digest was read again
    digest = catalog.digest("dp", dt.date(2025, 1, 3))
    assert digest is not None and digest.url == "https://digest.example.com/paper-digest/dp/2025-01-03/"
    config.unlink()
    sync_archive(engine, example_archive)
    assert catalog.digest("dp", dt.date(2025, 1, 3)).url is None  # type: ignore[union-attr]


def test_store_matches_in_memory_load(example_archive: Path, engine: Engine) -> None:
    sync_archive(engine, example_archive)
    stored = {p.arxiv_id: p for p in Catalog(engine).iter_papers()}
    assert stored == load_archive(example_archive).papers


def test_incremental_equals_cold(example_archive: Path, tmp_path: Path, engine: Engine) -> None:
    """A store brought up to date step by step holds exactly what a cold index does."""
    sync_archive(engine, example_archive)
    (example_archive / "_fl" / "2025-01-10.md").unlink()
    extra = entry_text(
        Paper("2501.88888", "http://arxiv.org/abs/2501.88888", "Late Addition", "追加", ("X",), ("要点",),
              topics=(TopicRef("dp", "差分プライバシー"),), posted_at=dt.datetime(2025, 1, 22, 1, 2))
    )
    for rel in ("_dp/2025-01-17.md", "_all/2025-01-17.md"):
        with open(example_archive / rel, "a", encoding="utf-8") as f:
            f.write(f"\n- - -\n\n{extra}\n")
    sync_archive(engine, example_archive)
    cold_root = tmp_path / "cold"
    shutil.copytree(example_archive, cold_root)
    from bot.store import open_engine

    cold = open_engine(f"sqlite:///{tmp_path / 'cold.sqlite3'}")
    sync_archive(cold, cold_root)
    assert {p.arxiv_id: p for p in Catalog(engine).iter_papers()} == {
        p.arxiv_id: p for p in Catalog(cold).iter_papers()
    }
    assert [(s.topic, s.papers) for s in Catalog(engine).topics()] == [(s.topic, s.papers) for s in Catalog(cold).topics()]


def _other_archive(tmp_path: Path) -> Path:
    other = tmp_path / "other"
    (other / "_sd").mkdir(parents=True)
    (other / "_sd" / "2024-01-05.md").write_text(
        digest_text("合成データ", dt.date(2024, 1, 5), [Paper("2401.00001", "http://arxiv.org/abs/2401.00001", "Only One")])
    )
    return other


def test_another_archive_replaces_the_index_when_retargeted(example_archive: Path, tmp_path: Path, engine: Engine) -> None:
    first = sync_archive(engine, example_archive)
    report = sync_archive(engine, _other_archive(tmp_path), retarget=True)
    assert report.papers == 1 and report.digests == 1
    assert report.root == str((tmp_path / "other").resolve())
    # Readers following the version (each replica's search index) drop the old papers.
    _, changed, removed = Catalog(engine).changes_since(first.version)
    assert [p.arxiv_id for p in changed] == ["2401.00001"]
    assert sorted(removed) == sorted(p.arxiv_id for p in load_archive(example_archive).papers.values())


def test_another_archive_without_retarget_leaves_the_shared_index_alone(
    example_archive: Path, tmp_path: Path, engine: Engine
) -> None:
    """A replica configured with another path must not wipe what the others serve."""
    first = sync_archive(engine, example_archive)
    other = _other_archive(tmp_path)
    with statements(engine) as seen, pytest.raises(ArchiveMismatch) as raised:
        sync_archive(engine, other)
    assert WRITES.isdisjoint(seen), seen
    assert raised.value.stored == str(example_archive.resolve())
    assert "digest-bot index --archive" in str(raised.value)
    assert Catalog(engine).count_papers() == first.papers and Catalog(engine).version() == first.version
