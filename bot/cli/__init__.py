"""The `digest-bot` command: everything a user can ask in Slack, from a terminal.

Each command lives in a small module; this one only wires them into the group.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import click
from sqlalchemy.exc import DBAPIError

from bot import __version__
from bot.cli.archive_cmds import index, show, topics, weeks
from bot.cli.ask_cmd import ask
from bot.cli.context import CliContext, fail
from bot.cli.db_cmds import db
from bot.cli.dm_cmds import dms
from bot.cli.post_cmds import post, status
from bot.cli.recap_cmd import recap
from bot.cli.run_cmd import run as run_bot
from bot.cli.search_cmd import search
from bot.cli.trends_cmd import trends_command
from bot.store import StoreError
from bot.store.errors import describe


class _Main(click.Group):
    """The command group; a store that fails mid-command is one clear line, not a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (DBAPIError, StoreError) as err:
            fail(describe(err))


@click.group(cls=_Main, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="digest-bot")
@click.option(
    "--env-file",
    default=".env",
    show_default=True,
    help="Settings file read before the environment (missing is fine).",
)
@click.pass_context
def main(ctx: click.Context, env_file: str) -> None:
    """digest-bot: weekly arXiv paper digests in Slack, one thread per paper.

    Settings come from the environment or a .env file (see .env.example).
    With no settings at all, every command works on the bundled example
    archive and a SQLite store under ./data/.
    """
    ctx.obj = CliContext(env_file=env_file)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


for command in (run_bot, index, show, topics, weeks, post, recap, dms, status, search, ask, trends_command, db):
    main.add_command(command)


def run(argv: Sequence[str] | None = None) -> None:
    """Entry point for tests and `python -m bot`."""
    main.main(args=list(argv) if argv is not None else None, prog_name="digest-bot")
