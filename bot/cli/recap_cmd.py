"""`digest-bot recap`: post each channel's weekly recap now (what the scheduler does after posting)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from rich.markup import escape

from bot.cli.archive_cmds import archive_option, json_option
from bot.cli.context import CliContext, checked_channels, fail, pass_cli, print_json
from bot.publisher import MIN_INTERVAL
from bot.publisher.recap import post_recaps
from bot.slack.client import posting_client


@click.command()
@archive_option
@click.option(
    "--week",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Recap this digest week (its first day) instead of the one due now.",
)
@json_option
@click.option("--interval", type=float, default=MIN_INTERVAL, hidden=True, help="Seconds between posts per channel.")
@pass_cli
def recap(cli: CliContext, archive: Path | None, week: dt.datetime | None, as_json: bool, interval: float) -> None:
    """Post each channel's weekly recap that is due, with its chart in its thread.

    A recap is due in a channel once every digest of the newest week that has
    ended is posted there. It lists the week's most discussed and most voted
    papers (linked to their threads), papers and replies per topic, and a
    12-week chart uploaded into its thread. Posted once per channel and week
    whatever runs it (the scheduler, this command, several replicas); safe to
    run again and to interrupt. The scheduler posts it by itself right after a
    week's digests (or on DIGEST_RECAP_SCHEDULE).
    """
    settings = cli.settings
    if not settings.slack_bot_token:
        fail("SLACK_BOT_TOKEN is not set: posting the recap needs the bot token (xoxb-…)")
    if not settings.channel and not settings.channels:
        fail("no channel to post to: set DIGEST_CHANNEL (every topic) or DIGEST_CHANNELS (e.g. sd=C0123,fl=C0456)")
    client = posting_client(settings.slack_bot_token, settings.slack_api_url)
    settings = checked_channels(cli, client, settings, "digest-bot")
    cli.catalog(archive, fetch=True, posting=True)
    cli.refuse_to_post(archive)
    report = post_recaps(
        cli.engine, client, settings=settings, now=dt.datetime.now(dt.UTC), week=week.date() if week else None,
        min_interval=interval,
    )
    if as_json:
        print_json(report.as_dict())
    else:
        for channel in report.channels:
            if channel.posted or channel.adopted:
                what = "posted" if channel.posted else "found (already posted)"
                line = f"{escape(channel.channel)}: recap of {channel.week} {what}; chart {channel.chart}"
            elif channel.busy:
                line = f"{escape(channel.channel)}: another process is posting the recap; left to it"
            elif channel.error:
                line = f"{escape(channel.channel)}: {escape(channel.problem or channel.error)}"
            elif channel.week is not None:
                line = f"{escape(channel.channel)}: the recap of {channel.week} is already posted (chart {channel.chart})"
            else:
                line = f"{escape(channel.channel)}: no recap due ({escape(channel.reason or '')})"
            cli.out.print(line)
    if not report.ok:
        raise SystemExit(1)
