"""Progress for long CLI steps: a rich bar on a terminal, periodic lines elsewhere.

`index` of a large archive and `post` of a week at Slack's pace run for
minutes. On a terminal (stderr) they show a bar with the count and the time
left; piped or under a service manager, a line at every tenth of the way
(`bot.progress.ProgressLines`), so a log never goes silent.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from bot.progress import Progress as Callback
from bot.progress import ProgressLines


@contextmanager
def progress(console: Console, what: str, unit: str) -> Iterator[Callback]:
    """A `(done, total, label)` callback drawing on `console` (the CLI's stderr)."""
    if not console.is_terminal:
        yield ProgressLines(lambda line: console.print(escape(line), soft_wrap=True), what, unit)
        return
    with Progress(
        TextColumn(what),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(unit),
        TimeElapsedColumn(),
        TextColumn("·"),
        TimeRemainingColumn(),
        TextColumn("left [dim]{task.description}"),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("", total=None)

        def update(done: int, total: int, label: str = "") -> None:
            bar.update(task, completed=done, total=max(total, done), description=escape(label))

        with logs_through(sys.stderr, replacing=bar.live.console.file, original=sys.__stderr__):
            yield update


@contextmanager
def logs_through(stream: IO[str], *, replacing: Any, original: Any) -> Iterator[None]:
    """Point the root logger's handlers that write to the terminal at `stream` for a while.

    rich's live bar replaces `sys.stderr` with a proxy that prints above the bar;
    a logging handler keeps the stream it was made with, so without this its
    lines land in the middle of the bar's line."""
    moved: list[tuple[logging.StreamHandler[Any], Any]] = []
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler) and handler.stream in (replacing, original) \
                and handler.stream is not stream:
            moved.append((handler, handler.setStream(stream)))
    try:
        yield
    finally:
        for handler, before in moved:
            handler.setStream(before)
