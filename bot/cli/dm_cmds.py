"""`digest-bot dms`: the weekly DM pass the scheduler runs after posting, by hand."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from rich.markup import escape

from bot.cli.archive_cmds import archive_option
from bot.cli.context import CliContext, fail, pass_cli, print_json
from bot.search import LiveSearch
from bot.slack.client import posting_client
from bot.weekly.dms import DM_INTERVAL, send_weekly_dms


@click.command()
@archive_option
@click.option(
    "--week",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Only this week (its first day); default: every week posted in the last two weeks.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the pass's report as JSON.")
@click.option("--interval", type=float, default=DM_INTERVAL, hidden=True, help="Seconds between DMs.")
@pass_cli
def dms(cli: CliContext, archive: Path | None, week: dt.datetime | None, as_json: bool, interval: float) -> None:
    """Send the weekly DMs: each person with follows gets one DM per posted week.

    The same pass the scheduler runs after posting a week: the week's papers
    that match a person's follows, one DM each (none when nothing matches),
    never a second one for the same week, whoever else runs it at the same
    time. Safe to run at any time and to interrupt. Exits 1 when the pass
    stopped (a refused token, Slack out of reach).
    """
    settings = cli.settings
    if not settings.slack_bot_token:
        fail("SLACK_BOT_TOKEN is not set: sending DMs needs the bot token (xoxb-…)")
    client = posting_client(settings.slack_bot_token, settings.slack_api_url)
    catalog = cli.catalog(archive, fetch=True)
    engine = LiveSearch(catalog, index_dir=settings.search_index_dir).engine()
    report = send_weekly_dms(
        cli.engine,
        client,
        engine,
        now=dt.datetime.now(dt.UTC),
        lang=settings.lang,
        weeks=[week.date()] if week else None,
        min_interval=interval,
    )
    if as_json:
        print_json(report.as_dict())
    else:
        if not report.weeks and not report.busy:
            cli.out.print("No weekly DM is due.")
        for done in report.weeks:
            cli.out.print(f"[bold]{done}[/]: weekly DMs handled")
        cli.out.print(f"sent {report.sent}, adopted {report.adopted}, updated {report.updated}, nothing to say to {report.nothing}")
        if report.busy:
            cli.out.print(f"being sent by another process: {escape(', '.join(report.busy))}")
        for failure in report.failed:
            cli.out.print(f"[yellow]not sent[/] to {escape(failure['user'])} ({escape(failure['week'])}): {escape(failure['error'])}")
        if report.error:
            cli.out.print(f"[red]{escape(report.error)}[/]")
    if not report.ok:
        raise SystemExit(1)
