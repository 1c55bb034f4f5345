"""Which archive the bot reads, how the store follows it, and whether it may be posted.

Three rules, shared by the CLI, `digest-bot run` and its scheduled jobs:

1. **The source.** `--archive`, else `DIGEST_ARCHIVE`, else the
   `DIGEST_ARCHIVE_GIT` checkout (cloned on first use, fetched before each
   re-read and before posting: `bot.runtime.git_archive`), else the bundled examples.
2. **The store follows it** when that is safe: a single store (SQLite) is
   re-indexed from the configured archive when it indexed another one, and so
   is any store that indexed the bundled examples (they are never a
   deployment's). A shared PostgreSQL store indexing another real archive is
   left alone (`ArchiveMismatch`): re-targeting it would change what every
   replica serves, so only `digest-bot index` does that.
3. **Nothing reaches Slack from the wrong archive.** The bundled examples are
   posted only when named (`DIGEST_ARCHIVE=examples/archive`), and nothing
   is posted while the store indexes another archive than the configured one.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from bot.archive.layout import COLLECTION_DIR_RE, DIGEST_NAME_RE, NOT_COLLECTIONS, SKIP_DIRS
from bot.config import EXAMPLE_ARCHIVE, Settings
from bot.progress import Progress
from bot.runtime.git_archive import GitArchive, GitRemote, GitUpdate
from bot.store import locks
from bot.store.source_state import record_fetch, record_indexed
from bot.store.state import get_state
from bot.store.sync import ArchiveNotFound, SyncReport, sync_archive

log = logging.getLogger(__name__)

#: What a digest file looks like (`bot.archive.layout`), for the error about an archive without any.
DIGEST_FILE_SHAPE = (
    "a digest file is _<topic>/YYYY-MM-DD.md (e.g. _dp/2025-01-03.md, in a topic folder named "
    "with a leading underscore) that starts with front matter between two --- lines (title:, date:)"
)


class ArchiveEmpty(ValueError):
    """The configured archive folder holds no digest file, and the store does not index it yet."""


@dataclass(frozen=True, slots=True)
class ArchiveSource:
    """The archive folder to read, whether the user named it, and its git remote if any."""

    path: Path
    named: bool = True
    git: GitArchive | None = None
    from_option: bool = False  # `--archive DIR`, not the settings

    @property
    def is_example(self) -> bool:
        return _resolved(self.path) == _resolved(EXAMPLE_ARCHIVE)

    @property
    def setting(self) -> str:
        """What names this folder, for a message saying how to fix it."""
        if self.from_option:
            return "--archive"
        if self.git is not None:
            return "the DIGEST_ARCHIVE_GIT checkout"
        return "DIGEST_ARCHIVE" if self.named else "the bundled example archive"

    @property
    def shown(self) -> str:
        return self.git.remote.shown if self.git is not None else str(self.path)

    def index_command(self) -> str:
        """The command that points a store at this archive."""
        return f"digest-bot index --archive {_resolved(self.path)}" if self.from_option else "digest-bot index"


def source_for(settings: Settings, option: Path | None = None) -> ArchiveSource:
    """`--archive`, else DIGEST_ARCHIVE, else DIGEST_ARCHIVE_GIT's checkout, else the examples."""
    if option is not None:
        return ArchiveSource(option, named=True, from_option=True)
    if settings.archive is not None:
        return ArchiveSource(settings.archive, named=True)
    if settings.archive_git is not None:
        git = GitArchive(GitRemote.parse(settings.archive_git), settings.data_dir)
        return ArchiveSource(git.path, named=True, git=git)
    return ArchiveSource(EXAMPLE_ARCHIVE, named=False)


def as_source(archive: Path | ArchiveSource) -> ArchiveSource:
    """A bare folder (tests, tools) is a source named by its caller."""
    return archive if isinstance(archive, ArchiveSource) else ArchiveSource(Path(archive))


def stored_root(engine: Engine) -> str | None:
    """The folder the store indexes (None: an empty store)."""
    with locks.snapshot(engine) as conn:
        return get_state(conn, "archive_root")


def follows(engine: Engine, root: str | None) -> bool:
    """May the store be re-indexed from another archive without being asked? (Rule 2.)"""
    return engine.dialect.name == "sqlite" or root == str(_resolved(EXAMPLE_ARCHIVE))


@dataclass(slots=True)
class SourceSync:
    """One refresh of the source: the git update (if any), the sync, and a re-target."""

    report: SyncReport
    update: GitUpdate | None = None
    retargeted_from: str | None = None


def refresh(
    engine: Engine,
    source: ArchiveSource,
    *,
    fetch: bool,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> GitUpdate | None:
    """Clone the git archive if needed and (with `fetch`) bring it up to the remote.

    A clone that fails raises `GitError` (there is nothing to read); a fetch
    that fails is logged and recorded, and the last good checkout is kept.
    """
    git = source.git
    if git is None:
        return None
    if git.ensure():
        log.info("cloned %s into %s", git.remote.shown, git.path)
    if not fetch:
        return None
    update = git.update()
    record_fetch(engine, git.remote.shown, update.error, now())
    if update.error is not None:
        log.warning(
            "%s: %s; serving the last good checkout (%s)",
            git.remote.shown,
            update.error,
            (update.before or "none")[:12],
        )
    elif update.rewritten:
        log.warning(
            "%s: the history was rewritten (force-push): %s → %s; re-indexing from the new tree "
            "(posts and thread records are kept)",
            git.remote.shown,
            (update.before or "")[:12],
            (update.after or "")[:12],
        )
    elif update.moved:
        log.info("%s: %s → %s", git.remote.shown, (update.before or "")[:12], (update.after or "")[:12])
    return update


def has_digest_files(root: Path) -> bool:
    """Does `root` hold at least one digest file (`_<topic>/YYYY-MM-DD.md`, as `layout.scan` finds
    them)? Stops at the first, so a real archive answers at once."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS)
        name = os.path.basename(dirpath)
        if (COLLECTION_DIR_RE.match(name) and name not in NOT_COLLECTIONS
                and any(DIGEST_NAME_RE.match(f) for f in filenames)):
            return True
    return False


def check_source(engine: Engine, source: ArchiveSource, *, allow_empty: bool = False) -> None:
    """Refuse a wrong archive before anything is read or re-indexed (rule 1's errors).

    A folder that does not exist raises `ArchiveNotFound`; one holding no digest
    file raises `ArchiveEmpty`, unless `allow_empty` or the store indexes that very
    folder already (it was asked for once, or its digests were removed since). Both
    messages name the setting to fix.
    """
    path = Path(source.path).expanduser()
    if not path.is_dir():
        fix = "set --archive (or DIGEST_ARCHIVE)" if source.from_option else "set it"
        raise ArchiveNotFound(
            f"{source.setting} ({source.path}) does not exist or is not a folder: {fix} to your digest "
            "archive (a checkout of the digest site, or a folder above one)"
        )
    if allow_empty or stored_root(engine) == str(_resolved(path)) or has_digest_files(path):
        return
    if source.git is not None:
        fix = "Set DIGEST_ARCHIVE_GIT to the digest site's repository"
    else:
        fix = f"Set {source.setting} to the digest site's folder (or one above it)"
    raise ArchiveEmpty(
        f"{source.setting} ({source.path}) holds no digest files; {DIGEST_FILE_SHAPE}. {fix}; to index "
        "an archive with no digests yet on purpose, run: digest-bot index --allow-empty-archive"
    )


def sync_source(
    engine: Engine,
    source: ArchiveSource,
    *,
    fetch: bool,
    retarget: bool = False,
    allow_empty: bool = False,
    progress: Progress | None = None,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> SourceSync:
    """Refresh the source, then bring the store up to date with it (rules 1 and 2).

    Raises `ArchiveMismatch` when the store indexes another archive and may
    not follow (rule 2), `ArchiveNotFound` for a missing folder and
    `ArchiveEmpty` for one without digest files (`check_source`: both before
    anything is re-indexed), `GitError` for a repository that cannot be cloned.
    """
    update = refresh(engine, source, fetch=fetch, now=now)
    check_source(engine, source, allow_empty=allow_empty)
    root = stored_root(engine)
    here = str(_resolved(source.path))
    follow = root is not None and root != here and (retarget or follows(engine, root))
    if follow:
        log.warning(
            "the store indexed %s; re-indexing it from %s (posts and thread counts are kept)", root, here
        )
    report = sync_archive(engine, source.path, progress=progress, retarget=follow or retarget, now=now)
    if source.git is not None:
        commit = source.git.head()
        if commit is not None:
            record_indexed(engine, source.git.remote.shown, commit, source.git.subject(commit), now())
    return SourceSync(report, update, root if follow else None)


def posting_refusal(engine: Engine, source: ArchiveSource) -> str | None:
    """Why nothing may be posted from this store now (rule 3), or None."""
    if source.is_example and not source.named:
        return (
            "not posting the bundled example archive to Slack: set DIGEST_ARCHIVE to your digest "
            "archive (or DIGEST_ARCHIVE_GIT to its repository); to post the examples on purpose, "
            "set DIGEST_ARCHIVE=examples/archive"
        )
    root = stored_root(engine)
    here = str(_resolved(source.path))
    if root is not None and root != here:
        return (
            f"the store indexes the archive at {root}, not {here}: not posting from another "
            f"archive. To re-index the store from {here} for every replica, run: {source.index_command()}"
        )
    return None


def _resolved(path: Path) -> Path:
    return Path(path).expanduser().resolve()
