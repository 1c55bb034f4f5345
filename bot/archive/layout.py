"""Find the digests, topic pages and site configs below an archive root.

The root may be the site's own folder or any folder above one or several
checkouts: digest folders (`_<slug>/` holding `YYYY-MM-DD.md` files) are found
wherever they are. Files that are not digests are left alone without a word.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from bot.archive.problems import Problem

DIGEST_NAME_RE = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})\.(?:md|markdown)$")
COLLECTION_DIR_RE = re.compile(r"^_(?P<slug>[a-z0-9][a-z0-9_-]*)$")
# Jekyll's own folders and build output: never digests.
NOT_COLLECTIONS = frozenset(
    {"_posts", "_drafts", "_pages", "_layouts", "_includes", "_data", "_sass", "_site", "_plugins"}
)
SKIP_DIRS = frozenset({"node_modules", "vendor", "_site", "__pycache__"})


@dataclass(frozen=True, slots=True)
class SourceFile:
    """A file the archive is read from, named relative to the archive root."""

    path: Path
    rel: str
    kind: str  # "digest", "page" or "config"
    slug: str | None = None
    file_date: dt.date | None = None
    site_root: str = ""  # rel path of the folder holding the site (for its _config.yml)


@dataclass(slots=True)
class Layout:
    """Every source file of an archive, in a stable order, and what was odd."""

    root: Path
    files: list[SourceFile] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[SourceFile]:
        return [f for f in self.files if f.kind == kind]


def scan(root: Path) -> Layout:
    """Walk `root` once; digests, `_pages/*.md` and `_config.yml` files, sorted by path."""
    layout = Layout(root)
    for dirpath, dirnames, filenames in os.walk(root, onerror=lambda e: _walk_error(layout, root, e)):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
        here = Path(dirpath)
        name = here.name
        rel_dir = here.relative_to(root).as_posix()
        site_root = "" if here == root else _site(here.parent.relative_to(root).as_posix())
        if "_config.yml" in filenames:
            rel = _rel(rel_dir, "_config.yml")
            layout.files.append(SourceFile(here / "_config.yml", rel, "config", site_root=_site(rel_dir)))
        if name == "_pages":
            for fn in sorted(filenames):
                if fn.endswith((".md", ".markdown")):
                    layout.files.append(SourceFile(here / fn, _rel(rel_dir, fn), "page", site_root=site_root))
            continue
        m = COLLECTION_DIR_RE.match(name)
        if not m or name in NOT_COLLECTIONS:
            continue
        for fn in sorted(filenames):
            dm = DIGEST_NAME_RE.match(fn)
            if not dm:
                continue
            rel = _rel(rel_dir, fn)
            try:
                file_date = dt.date.fromisoformat(dm.group("date"))
            except ValueError:
                layout.problems.append(Problem(rel, None, "file name is not a valid date"))
                continue
            layout.files.append(
                SourceFile(here / fn, rel, "digest", m.group("slug"), file_date, site_root)
            )
    layout.files.sort(key=lambda f: f.rel)
    return layout


def _rel(rel_dir: str, name: str) -> str:
    return name if rel_dir in ("", ".") else f"{rel_dir}/{name}"


def _site(rel_dir: str) -> str:
    return "" if rel_dir in ("", ".") else rel_dir


def _walk_error(layout: Layout, root: Path, err: OSError) -> None:
    where = Path(err.filename).relative_to(root).as_posix() if err.filename else str(root)
    layout.problems.append(Problem(where, None, f"unreadable folder: {err.strerror or err}"))
