"""`digest-bot run`: the bot itself; a loud preview when Slack is not configured yet."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.archive_cmds import archive_option
from bot.cli.context import CliContext, pass_cli

HOW_TO_GET = {
    "SLACK_BOT_TOKEN": "Slack app page → OAuth & Permissions → Bot User OAuth Token (xoxb-…)",
    "SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)": (
        "Basic Information → App-Level Tokens (xapp-…, scope connections:write), "
        "or Basic Information → Signing Secret"
    ),
}


@click.command()
@archive_option
@pass_cli
def run(cli: CliContext, archive: Path | None) -> None:
    """Run the bot: index the archive, then serve Slack and post each new week.

    Without Slack tokens it runs in preview mode: it says which settings are
    missing and shows what the archive holds.
    """
    report = cli.sync(archive)
    settings = cli.settings
    missing = settings.missing_for_live()
    out = cli.out
    out.print(f"Archive {report.root}: {report.digests} digests, {report.papers} papers")
    if missing:
        out.rule("[bold yellow]PREVIEW MODE: not connected to Slack")
        out.print("To go live, set these in .env (see .env.example and the README's 'Set up in Slack'):")
        for name in missing:
            out.print(f"  [bold]{name}[/]: {HOW_TO_GET.get(name, '')}")
        for week in cli.catalog(archive, sync=False).weeks()[:1]:
            out.print(f"Newest week: {week.week_start} ~ {week.week_end}, {week.papers} papers in {', '.join(week.topics)}")
