"""Progress for long CLI steps: a rich bar on a terminal, periodic lines elsewhere.

`index` of a large archive and `post` of a week at Slack's pace run for
minutes. On a terminal (stderr) they show a bar with the count and the time
left; piped or under a service manager, a line at every tenth of the way
(`bot.progress.ProgressLines`), so a log never goes silent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

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

from bot.progress import ProgressLines

Callback = Callable[[int, int, str], None]


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

        yield update
