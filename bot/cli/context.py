"""What every CLI command shares: settings, the store, and a fresh archive index.

Built lazily so that `digest-bot --help` needs no settings and no database, and
so that a bad setting becomes one clear line instead of a traceback.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console
from slack_sdk import WebClient
from sqlalchemy import Engine

from bot.ask.asker import DenseUnavailable, dense_side
from bot.config import ConfigError, Settings, load_settings
from bot.runtime.archive_source import (
    ArchiveEmpty,
    ArchiveSource,
    check_source,
    posting_refusal,
    source_for,
    sync_source,
)
from bot.runtime.git_archive import GitError
from bot.search.dense import Dense
from bot.store import (
    ArchiveMismatch,
    ArchiveNotFound,
    Catalog,
    StoreError,
    SyncReport,
    open_engine,
)
from bot.store.sync import stored_report


@dataclass
class CliContext:
    """Lazily opened settings and store for one CLI invocation."""

    env_file: str | None = ".env"
    _settings: Settings | None = None
    _engine: Engine | None = None
    out: Console = field(default_factory=lambda: _console())
    err: Console = field(default_factory=lambda: _console(stderr=True))

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.env_file)
            except ConfigError as error:
                fail(str(error))
        return self._settings

    def archive(self, option: Path | None) -> Path:
        """`--archive`, else DIGEST_ARCHIVE, else the DIGEST_ARCHIVE_GIT checkout, else the examples."""
        return self.source(option).path

    def source(self, option: Path | None) -> ArchiveSource:
        """Where the archive comes from (`bot.runtime.archive_source`)."""
        return source_for(self.settings, option)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            try:
                self._engine = open_engine(self.settings.db_url)
            except StoreError as error:
                fail(str(error))
        return self._engine

    def sync(
        self,
        archive: Path | None,
        progress: Any = None,
        *,
        retarget: bool = False,
        fetch: bool = False,
        posting: bool = False,
        allow_empty: bool = False,
    ) -> SyncReport:
        """Bring the store up to date with the archive (cheap when nothing changed).

        With `fetch` a git archive is fetched first (`index`, `post`, `run`);
        a failed fetch is said and the last good checkout read. A single store
        follows the archive; a shared store indexing another one is changed
        only by `retarget` (the `index` command): elsewhere that is said and
        the stored index used, and with `posting` the command stops instead.
        A missing archive folder, or one without digest files (unless
        `allow_empty`), stops the command before anything is re-indexed.
        """
        source = self.source(archive)
        try:
            synced = sync_source(
                self.engine, source, fetch=fetch, retarget=retarget, allow_empty=allow_empty, progress=progress
            )
        except (ArchiveNotFound, ArchiveEmpty) as error:
            fail(str(error))
        except GitError as error:
            fail(str(error))
        except ArchiveMismatch as error:
            if posting:
                fail(str(posting_refusal(self.engine, source) or error))
            click.echo(f"digest-bot: not re-reading the archive: {error}", err=True)
            return stored_report(self.engine)
        if synced.update is not None and synced.update.error is not None:
            click.echo(
                f"digest-bot: {source.shown}: {synced.update.error}; reading the last good checkout "
                f"({(synced.update.before or 'none')[:12]})",
                err=True,
            )
        if synced.retargeted_from is not None:
            click.echo(
                f"digest-bot: the store indexed {synced.retargeted_from}; it now indexes "
                f"{synced.report.root} (posts and thread counts are kept)",
                err=True,
            )
        return synced.report

    def check_archive(self, archive: Path | None) -> None:
        """Stop a command that reads only the store (`status`) when the configured archive
        folder is missing or holds no digest files: it would show another archive as if fine."""
        source = self.source(archive)
        if source.git is not None and not source.path.exists():
            return  # not cloned yet: the first `run` or `index` clones it
        try:
            check_source(self.engine, source)
        except (ArchiveNotFound, ArchiveEmpty) as error:
            fail(str(error))

    def refuse_to_post(self, archive: Path | None) -> None:
        """Stop a command that would post from the wrong archive (`bot.runtime.archive_source` rule 3)."""
        refusal = posting_refusal(self.engine, self.source(archive))
        if refusal is not None:
            fail(refusal)

    def catalog(
        self, archive: Path | None, *, sync: bool = True, fetch: bool = False, posting: bool = False
    ) -> Catalog:
        """The store's catalog, synced with the archive first unless told not to."""
        if sync:
            report = self.sync(archive, fetch=fetch, posting=posting)
            if report.parsed and report.skipped:
                self.err.print(
                    f"[yellow]note:[/] {len(report.skipped)} archive problem(s); "
                    "run `digest-bot index` to see them"
                )
        return Catalog(self.engine)

    def dense(self) -> Dense | None:
        """The dense side of answers when DIGEST_DENSE is on; an error naming the fix when its
        model is not installed."""
        try:
            return dense_side(self.settings)
        except DenseUnavailable as exc:
            fail(str(exc))


def _console(*, stderr: bool = False) -> Console:
    """Standard output (or error). Text is never hard-wrapped (`soft_wrap`): a pipe or a log
    keeps each line whole, where rich would break it at 80 columns; tables get 160."""
    console = Console(highlight=False, soft_wrap=True, stderr=stderr)
    if not console.is_terminal:
        console = Console(highlight=False, soft_wrap=True, stderr=stderr, width=160)
    return console


def fail(message: str, code: int = 2) -> NoReturn:
    """Stop the command with a clear message on stderr and a non-zero exit code."""
    click.echo(f"digest-bot: {message}", err=True)
    sys.exit(code)


def print_json(data: Any) -> None:
    """JSON on stdout, UTF-8 as it is (Japanese stays readable)."""
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


pass_cli = click.make_pass_decorator(CliContext, ensure=True)


def checked_channels(cli: CliContext, client: WebClient, settings: Settings, bot_name: str) -> Settings:
    """Every configured channel resolved to its id and checked, or stop with the lines to fix."""
    from bot.slack.channels import ChannelsNotReady, channels_as_ids

    try:  # the ids are remembered for the commands that ask no Slack (`status`, `--dry-run`)
        resolved = channels_as_ids(settings, cli.engine, client, bot_name=bot_name)
    except ChannelsNotReady as error:
        for line in error.problems[:-1]:
            click.echo(f"digest-bot: {line}", err=True)
        fail(error.problems[-1])
    cli._settings = resolved
    return resolved
