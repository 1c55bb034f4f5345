#!/usr/bin/env python3
"""What DIGEST_ARCHIVE_GIT costs: the first clone, a fetch that finds nothing, a new week.

The real archive (../shared/archive, or --archive DIR) is committed week by
week into a local bare repository in a temporary folder (file://, no
network); the bot then clones it and runs `sync_source` as its jobs do. The
"nothing new" row is what every DIGEST_SYNC_MINUTES re-read and every
posting run adds; the "new week" row is a push of the newest week.

    taskset -c 1 python bench/bench_git_archive.py [--archive DIR] [--repeat 5]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.runtime.archive_source import ArchiveSource, sync_source
from bot.runtime.git_archive import GitArchive, GitRemote
from bot.store import open_engine

IDENTITY = ["-c", "user.name=bench", "-c", "user.email=bench@example.org", "-c", "commit.gpgsign=false"]


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *IDENTITY, *args], cwd=cwd, check=True, capture_output=True)


def weeks_of(archive: Path) -> list[str]:
    return sorted({p.stem for p in archive.glob("_*/[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9].md")})


def copy_upto(archive: Path, work: Path, last: str) -> None:
    """Every file of the archive, digests only up to week `last`."""
    for path in archive.rglob("*"):
        if path.is_dir():
            continue
        rel = path.relative_to(archive)
        if rel.parts[0].startswith("_") and path.stem[:4].isdigit() and path.stem > last:
            continue
        target = work / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            shutil.copyfile(path, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = Path(__file__).resolve().parent.parent.parent / "shared" / "archive"
    parser.add_argument("--archive", type=Path, default=default)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not (args.archive / "_all").is_dir():
        sys.exit(f"no digest archive at {args.archive}")
    weeks = weeks_of(args.archive)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bare, work = root / "remote.git", root / "work"
        git(root, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
        git(root, "init", "--quiet", "--initial-branch=main", str(work))
        git(work, "remote", "add", "origin", bare.as_uri())
        for week in weeks[:-1]:  # one commit per week, as editors push them
            copy_upto(args.archive, work, week)
            git(work, "add", "-A")
            git(work, "commit", "--quiet", "-m", f"week {week}")
        git(work, "push", "--quiet", "origin", "main")

        engine = open_engine(f"sqlite:///{root / 'store.sqlite3'}")
        repo = GitArchive(GitRemote(bare.as_uri()), root / "data")
        source = ArchiveSource(repo.path, git=repo)
        started = time.perf_counter()
        repo.ensure()
        clone = time.perf_counter() - started
        started = time.perf_counter()
        first = sync_source(engine, source, fetch=False).report
        index = time.perf_counter() - started

        idle = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            sync_source(engine, source, fetch=True)
            idle.append(time.perf_counter() - started)

        copy_upto(args.archive, work, weeks[-1])
        git(work, "add", "-A")
        git(work, "commit", "--quiet", "-m", f"week {weeks[-1]}")
        git(work, "push", "--quiet", "origin", "main")
        started = time.perf_counter()
        new = sync_source(engine, source, fetch=True).report
        new_week = time.perf_counter() - started

    print(f"archive {args.archive}: {len(weeks)} weeks, {first.papers} papers before the last week")
    print(f"clone ({len(weeks) - 1} commits)             {clone:8.3f} s")
    print(f"index the checkout cold                {index:8.3f} s")
    print(f"fetch + sync, nothing new (median of {args.repeat}) {statistics.median(idle) * 1000:8.1f} ms")
    print(f"fetch + fast-forward + sync, new week  {new_week:8.3f} s ({new.parsed} files read, "
          f"+{new.papers_added} papers)")


if __name__ == "__main__":
    main()
