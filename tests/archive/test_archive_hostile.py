"""Hostile or broken archive files: every one is refused with its reason, every good digest loads.

Archives are built in temporary folders. The YAML bombs here are small
(a few levels) so that the old reader, which expanded them, would only be
slow, not take the machine down; the refusal does not depend on their size.
`bench/bench_hostile.py` measures the full-size ones.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine

from bot.archive import load_archive
from bot.archive.files import MAX_FILE_BYTES, Refused, read_file, size_text
from bot.model import Paper, TopicRef
from bot.store import Catalog, sync_archive
from bot.store.sync import SyncReport
from tests.support.archive_writer import digest_text

WEEK = dt.date(2025, 1, 3)


def paper(n: int, slug: str = "dp") -> Paper:
    return Paper(
        arxiv_id=f"2501.{n:05d}",
        url=f"http://arxiv.org/abs/2501.{n:05d}",
        title=f"Paper number {n}",
        title_ja=f"論文 {n}",
        authors=("A. Author",),
        summary=("要点",),
        topics=(TopicRef(slug, "差分プライバシー"),),
        categories=("cs.LG",),
        posted_at=dt.datetime(2025, 1, 4, 12, 0),
    )


def good_archive(root: Path) -> Path:
    """Two good weeks of `dp`, the digests every test expects to survive."""
    for i, week in enumerate((WEEK, WEEK + dt.timedelta(days=7))):
        path = root / "_dp" / f"{week}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(digest_text("差分プライバシー", week, [paper(10 * i + 1), paper(10 * i + 2)]), encoding="utf-8")
    return root


def alias_bomb(levels: int) -> str:
    """"Billion laughs": each level refers nine times to the one before."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for n in range(1, levels + 1):
        lines.append(f"a{n}: &a{n} [" + ",".join([f"*a{n - 1}"] * 9) + "]")
    return "\n".join(lines)


def with_timeout(call: Callable[[], Any], seconds: float = 20.0) -> Any:
    """Run `call` in a daemon thread: a reader that blocks forever fails the test, not the run."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = call()
        except BaseException as err:  # noqa: BLE001 - handed to the test
            result["error"] = err

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still reading after {seconds} s (blocked on a file?)"
    if "error" in result:
        raise result["error"]
    return result["value"]


def sync(engine: Engine, root: Path) -> SyncReport:
    return with_timeout(lambda: sync_archive(engine, root))


def reasons(report: SyncReport) -> dict[str, str]:
    """Each file's problems, one line each."""
    found: dict[str, list[str]] = {}
    for problem in report.problems:
        found.setdefault(problem.path, []).append(problem.reason)
    return {path: "\n".join(lines) for path, lines in found.items()}


def assert_good_digests_loaded(engine: Engine) -> None:
    weeks = sorted(d.week_start for d in Catalog(engine).digests(slug="dp"))
    assert weeks == [WEEK, WEEK + dt.timedelta(days=7)]
    assert Catalog(engine).count_papers() == 4


# ---- YAML ---------------------------------------------------------------------------


def test_an_alias_bomb_in_front_matter_is_refused_and_the_file_still_loads(engine: Engine, tmp_path: Path) -> None:
    root = good_archive(tmp_path / "archive")
    text = digest_text("差分プライバシー", dt.date(2025, 1, 17), [paper(30)])
    bomb = text.replace("---\n", "---\n" + alias_bomb(4) + "\n", 1)
    (root / "_dp" / "2025-01-17.md").write_text(bomb, encoding="utf-8")

    report = sync(engine, root)

    reason = reasons(report)["_dp/2025-01-17.md"]
    assert "front matter not read" in reason and "alias" in reason
    digest = Catalog(engine).digest("dp", dt.date(2025, 1, 17))
    assert digest is not None and [p.arxiv_id for p in digest.papers] == ["2501.00030"]  # date from the name


@pytest.mark.parametrize(
    ("front", "expected"),
    [
        ("title: x\nnote: " + "y" * 70_000 + "\ndate: 2025-01-17", "over the 64 kB limit"),
        ("title: " + "[" * 5000 + "]" * 5000 + "\ndate: 2025-01-17", "nested too deeply"),
    ],
    ids=["huge", "deep"],
)
def test_huge_or_deeply_nested_front_matter_is_refused(
    engine: Engine, tmp_path: Path, front: str, expected: str
) -> None:
    root = good_archive(tmp_path / "archive")
    (root / "_dp" / "2025-01-17.md").write_text(f"---\n{front}\n---\n", encoding="utf-8")
    report = sync(engine, root)
    assert expected in reasons(report)["_dp/2025-01-17.md"]
    # Its digest stands, empty, under the file name's date; the others are whole.
    assert Catalog(engine).digest("dp", dt.date(2025, 1, 17)) is not None
    assert Catalog(engine).count_papers() == 4


def test_alias_bombs_in_the_site_config_and_topic_pages_cost_only_their_names(
    engine: Engine, tmp_path: Path
) -> None:
    root = good_archive(tmp_path / "archive")
    (root / "_config.yml").write_text("url: https://example.org\n" + alias_bomb(4), encoding="utf-8")
    (root / "_pages").mkdir()
    (root / "_pages" / "dp.md").write_text(f"---\ncollection: dp\n{alias_bomb(4)}\n---\n", encoding="utf-8")
    report = sync(engine, root)
    found = reasons(report)
    assert "alias" in found["_config.yml"] and "alias" in found["_pages/dp.md"]
    assert_good_digests_loaded(engine)


# ---- files that are not what they seem ------------------------------------------------


def test_a_fifo_named_like_a_digest_is_refused_without_blocking(engine: Engine, tmp_path: Path) -> None:
    root = good_archive(tmp_path / "archive")
    os.mkfifo(root / "_dp" / "2025-01-17.md")
    report = sync(engine, root)  # the old reader blocked here forever, holding the write lock
    assert reasons(report)["_dp/2025-01-17.md"] == "a FIFO (named pipe), not a regular file; not read"
    assert_good_digests_loaded(engine)
    # Nothing is left locked: the store takes writes at once.
    assert sync(engine, root).version == report.version


def test_symlinks_outside_the_archive_are_refused_and_never_become_a_week(engine: Engine, tmp_path: Path) -> None:
    root = good_archive(tmp_path / "archive")
    elsewhere = tmp_path / "private" / "secret.md"
    elsewhere.parent.mkdir()
    elsewhere.write_text(digest_text("秘密", dt.date(2030, 1, 4), [paper(99)]), encoding="utf-8")
    (root / "_dp" / "2030-01-04.md").symlink_to(elsewhere)
    (root / "_dp" / "2031-01-03.md").symlink_to("/etc/passwd")
    (root / "_dp" / "2032-01-02.md").symlink_to("/dev/zero")
    (root / "_sd").mkdir()
    (root / "_sd" / "2025-01-03.md").symlink_to("../_dp/2025-01-03.md")  # inside the archive: fine

    report = sync(engine, root)

    found = reasons(report)
    assert found["_dp/2030-01-04.md"] == f"symbolic link to {elsewhere.resolve()}, outside the archive; not read"
    assert "outside the archive" in found["_dp/2031-01-03.md"]
    assert "outside the archive" in found["_dp/2032-01-02.md"]
    weeks = [d.week_start for d in Catalog(engine).digests(slug="dp")]
    assert max(weeks) == WEEK + dt.timedelta(days=7)  # /etc/passwd is not the newest week
    assert Catalog(engine).paper("2501.00099") is None
    assert Catalog(engine).digest("sd", WEEK) is not None


def test_a_file_over_the_size_limit_is_refused_with_its_size(engine: Engine, tmp_path: Path) -> None:
    root = good_archive(tmp_path / "archive")
    with open(root / "_dp" / "2025-01-17.md", "wb") as big:
        big.truncate(2_100_000_000)  # sparse: 2.1 GB on paper, nothing on disk
    report = sync(engine, root)
    assert reasons(report)["_dp/2025-01-17.md"] == "2.1 GB, over the 20 MB limit; not read"
    assert_good_digests_loaded(engine)


def test_a_digest_that_turns_hostile_is_dropped_from_the_index(engine: Engine, tmp_path: Path) -> None:
    root = good_archive(tmp_path / "archive")
    sync(engine, root)
    victim = root / "_dp" / f"{WEEK + dt.timedelta(days=7)}.md"
    victim.unlink()
    victim.symlink_to("/etc/passwd")
    report = sync(engine, root)
    assert report.removed == 1 and "outside the archive" in reasons(report)[f"_dp/{victim.name}"]
    assert [d.week_start for d in Catalog(engine).digests(slug="dp")] == [WEEK]


def test_one_file_the_parser_fails_on_never_fails_the_sync(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = good_archive(tmp_path / "archive")
    (root / "_dp" / "2025-01-17.md").write_text(digest_text("差分プライバシー", dt.date(2025, 1, 17), [paper(30)]))
    from bot.archive import load

    real = load.parse_digest

    def flaky(raw: bytes, path: str, **kwargs: Any) -> Any:
        if path.endswith("2025-01-17.md"):
            raise MemoryError("the parser blew up")
        return real(raw, path, **kwargs)

    monkeypatch.setattr(load, "parse_digest", flaky)
    report = sync(engine, root)
    assert "the reader failed on it (MemoryError: the parser blew up)" in reasons(report)["_dp/2025-01-17.md"]
    assert_good_digests_loaded(engine)


def test_the_in_memory_reader_refuses_the_same_files(tmp_path: Path) -> None:
    root = good_archive(tmp_path / "archive")
    os.mkfifo(root / "_dp" / "2025-01-17.md")
    (root / "_dp" / "2025-01-24.md").symlink_to("/etc/passwd")
    archive = with_timeout(lambda: load_archive(root))
    found = {p.path: p.reason for p in archive.problems}
    assert "FIFO" in found["_dp/2025-01-17.md"] and "outside the archive" in found["_dp/2025-01-24.md"]
    assert len(archive.papers) == 4


def test_read_file_never_reads_past_its_limit(tmp_path: Path) -> None:
    path = tmp_path / "f.md"
    path.write_bytes(b"x" * 1001)
    assert read_file(path, tmp_path, limit=1001) == b"x" * 1001
    with pytest.raises(Refused, match="1 kB, over the 500 bytes limit"):
        read_file(path, tmp_path, limit=500)
    assert size_text(MAX_FILE_BYTES) == "20 MB" and size_text(512) == "512 bytes"


def test_index_lists_each_refused_file_with_its_reason_and_exits_0(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.cli import main

    root = good_archive(tmp_path / "archive")
    os.mkfifo(root / "_dp" / "2025-01-17.md")
    (root / "_dp" / "2025-01-24.md").symlink_to("/etc/passwd")
    monkeypatch.chdir(tmp_path)
    result = with_timeout(lambda: CliRunner().invoke(main, ["index", "--archive", str(root)]))
    assert result.exit_code == 0, result.output
    assert "_dp/2025-01-17.md: a FIFO (named pipe), not a regular file; not read" in result.output
    assert "_dp/2025-01-24.md: symbolic link to /etc/passwd, outside the archive; not read" in result.output
    assert "2 digests, 4 papers" in result.output
