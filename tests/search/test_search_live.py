"""The search index on disk: it survives a restart, follows the store, and is rebuilt when
it cannot serve (another format, another store or archive folder, a broken folder)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.search import LiveSearch, disk_index
from bot.store import Catalog, sync_archive


def live(engine: Engine, index_dir: Path) -> LiveSearch:
    return LiveSearch(Catalog(engine), index_dir=index_dir)


def top(search: LiveSearch, query: str) -> list[str]:
    return [h.paper.arxiv_id for h in search.engine().search(query, limit=5).hits]


def test_a_restart_opens_the_index_instead_of_rebuilding(example_archive: Path, engine: Engine, tmp_path: Path) -> None:
    sync_archive(engine, example_archive)
    first = live(engine, tmp_path / "index")
    answer = top(first, "federated learning")
    assert first.opened == "built" and answer
    again = live(engine, tmp_path / "index")
    assert top(again, "federated learning") == answer
    assert again.opened == "opened"
    assert again.version == Catalog(engine).version()


def test_a_restart_catches_up_with_changes_made_while_it_was_down(
    example_archive: Path, engine: Engine, tmp_path: Path
) -> None:
    sync_archive(engine, example_archive)
    catalog = Catalog(engine)
    live(engine, tmp_path / "index").engine()
    newest = max(p.week_start for p in catalog.iter_papers() if p.week_start)
    gone = {p.arxiv_id for p in catalog.iter_papers() if p.week_start == newest}
    for path in example_archive.glob(f"_*/{newest.isoformat()}.md"):
        path.unlink()
    sync_archive(engine, example_archive)  # while no bot runs
    again = live(engine, tmp_path / "index")
    found = again.engine()
    assert again.opened == "opened"
    assert all(found.paper(a) is None for a in gone)
    assert again.version == catalog.version()


def test_another_format_is_rebuilt(
    example_archive: Path, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync_archive(engine, example_archive)
    live(engine, tmp_path / "index").engine()
    monkeypatch.setattr(disk_index, "FORMAT", disk_index.FORMAT + 1)
    again = live(engine, tmp_path / "index")
    assert top(again, "federated learning")
    assert again.opened == "built"
    assert len(list((tmp_path / "index").glob("index-*"))) == 1  # the old folder was removed


def test_another_store_or_archive_folder_is_rebuilt(
    example_archive: Path, engine: Engine, tmp_path: Path
) -> None:
    sync_archive(engine, example_archive)
    live(engine, tmp_path / "index").engine()
    other = tmp_path / "other-archive"
    shutil.copytree(example_archive, other)
    sync_archive(engine, other, retarget=True)  # `digest-bot index --archive other`
    again = live(engine, tmp_path / "index")
    assert top(again, "federated learning")
    assert again.opened == "built"


def test_a_broken_index_folder_is_rebuilt_not_fatal(example_archive: Path, engine: Engine, tmp_path: Path) -> None:
    sync_archive(engine, example_archive)
    live(engine, tmp_path / "index").engine()
    current = tmp_path / "index" / (tmp_path / "index" / "CURRENT").read_text().strip()
    for path in current.iterdir():
        if path.suffix in (".idx", ".term", ".store", ".pos") or path.name == "meta.json":
            path.write_bytes(b"garbage")
    again = live(engine, tmp_path / "index")
    assert top(again, "federated learning")
    assert again.opened == "built"


def test_two_processes_sharing_a_folder_both_follow_the_store(
    example_archive: Path, engine: Engine, tmp_path: Path
) -> None:
    sync_archive(engine, example_archive)
    catalog = Catalog(engine)
    newest = max(p.week_start for p in catalog.iter_papers() if p.week_start)
    a, b = live(engine, tmp_path / "index"), live(engine, tmp_path / "index")
    a.engine(), b.engine()
    for path in example_archive.glob(f"_*/{newest.isoformat()}.md"):
        path.unlink()
    sync_archive(engine, example_archive)
    assert a.refresh() and b.refresh()  # b finds a's commit and adopts it (or applies it)
    assert len(a.engine()) == len(b.engine()) == catalog.count_papers()


def test_an_unusable_index_folder_still_answers(
    example_archive: Path, engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sync_archive(engine, example_archive)
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the folder should be")
    search = live(engine, blocker / "index")
    assert top(search, "federated learning")
    assert "cannot be used" in caplog.text and "DIGEST_INDEX_DIR" in caplog.text


def test_a_running_replica_follows_a_rebuild_another_made(
    example_archive: Path, engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """b rebuilds (new format) and removes a's folder: a must open b's index, not fail on a
    deleted folder or serve the old one."""
    sync_archive(engine, example_archive)
    catalog = Catalog(engine)
    a = live(engine, tmp_path / "index")
    old = a.engine().path
    monkeypatch.setattr(disk_index, "FORMAT", disk_index.FORMAT + 1)
    b = live(engine, tmp_path / "index")
    b.engine()
    assert b.opened == "built" and not old.exists()
    newest = max(p.week_start for p in catalog.iter_papers() if p.week_start)
    for path in example_archive.glob(f"_*/{newest.isoformat()}.md"):
        path.unlink()
    sync_archive(engine, example_archive)
    assert a.refresh()
    assert a.engine().path == b.engine().path != old
    assert len(a.engine()) == catalog.count_papers()
    assert top(a, "federated learning")


def test_a_running_replica_rebuilds_when_the_store_holds_another_archive(
    example_archive: Path, engine: Engine, tmp_path: Path
) -> None:
    """`digest-bot index --archive other` while the bot runs: patching the old index with
    the new store's changes would mix two archives, so the bot builds afresh."""
    sync_archive(engine, example_archive)
    search = live(engine, tmp_path / "index")
    before = search.engine().path
    other = tmp_path / "other-archive"
    shutil.copytree(example_archive, other)
    sync_archive(engine, other, retarget=True)
    search.refresh()
    after = search.engine()
    assert after.path != before
    meta = after.meta
    assert meta is not None and meta.matches(*Catalog(engine).archive_identity())
    assert len(after) == Catalog(engine).count_papers()
