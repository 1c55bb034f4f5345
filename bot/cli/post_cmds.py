"""`digest-bot post | status`: the weekly publisher from a terminal.

`post` does now what the scheduler does on posting day (or posts the chosen
digest); `--dry-run` shows the exact messages without Slack. `status` says
when the next run is, what is left pending or failed, and who is posting now
(digest leases; on PostgreSQL, channel claims too).
"""

from __future__ import annotations

import datetime as dt
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table
from sqlalchemy import Engine

from bot.ask.asker import dense_file
from bot.cli.archive_cmds import archive_option, json_option
from bot.cli.context import CliContext, checked_channels, fail, pass_cli, print_json
from bot.cli.progress import progress
from bot.config import Settings
from bot.publisher import (
    MIN_INTERVAL,
    Outlook,
    PublishReport,
    RunClock,
    RunHooks,
    Selection,
    SlackCalls,
    outlook,
    plan_run,
    publish_due,
)
from bot.publisher.leases import claimed_channels
from bot.runtime.archive_source import stored_root
from bot.search.dense import DenseVectors
from bot.slack.channels import channels_as_ids, unresolved
from bot.slack.client import posting_client
from bot.store import leases as lease_store
from bot.store import marks as mark_store
from bot.store import posts as store
from bot.store import runs as run_store
from bot.store.source_state import GitState, git_state
from bot.weekly.schedule import next_run_time

_DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.command()
@archive_option
@click.option(
    "--week",
    type=_DATE,
    default=None,
    help="Post the digest of the week holding this day (YYYY-MM-DD), due or not.",
)
@click.option("--topic", metavar="SLUG", default=None, help="Only this topic (e.g. dp).")
@click.option(
    "--backfill",
    metavar="SINCE",
    type=_DATE,
    default=None,
    help="Also post due weeks ending on or after SINCE that a first start skipped.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Show the messages as Slack would (with --json: the exact Block Kit); no Slack, no store writes.",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the run's report as JSON (with --dry-run, its `messages` are the exact Block Kit).",
)
@click.option(
    "--interval",
    type=float,
    default=MIN_INTERVAL,
    hidden=True,
    help="Seconds between posts per channel.",
)
@pass_cli
def post(
    cli: CliContext,
    archive: Path | None,
    week: dt.datetime | None,
    topic: str | None,
    backfill: dt.datetime | None,
    dry_run: bool,
    as_json: bool,
    interval: float,
) -> None:
    """Post what is due now: each new week's header, then one message per paper.

    Runs exactly what the scheduler runs: checks the channels, fetches a
    DIGEST_ARCHIVE_GIT archive and reads the archive again, says what it is
    about to post and how long that takes, then posts due digests (a paper
    already in the channel is linked, not posted twice), updates edited
    papers, and posts papers added to a posted week. A first start posts the
    archive's newest week only (older ones with --backfill). Safe to run at
    any time and to interrupt: nothing is ever posted twice. Exits 2 before
    posting anything when a channel cannot be posted to, or the archive is
    the unnamed bundled examples or not the one the store indexes (the line
    that fixes it is printed); exits 1 when a channel stopped mid-run.
    """
    settings = cli.settings
    if week is not None and backfill is not None:
        fail(
            "--week and --backfill do not go together: pick one digest, or every skipped week since a day"
        )
    if not dry_run and not settings.slack_bot_token:
        fail(
            "SLACK_BOT_TOKEN is not set: posting needs the bot token (xoxb-…); --dry-run shows the messages without it"
        )
    if topic is not None and settings.channel_for(topic) is None:
        fail(
            f"no channel for topic {topic!r}: set DIGEST_CHANNEL, or add {topic}=C… to DIGEST_CHANNELS"
        )
    if not settings.channel and not settings.channels:
        fail(
            "no channel to post to: set DIGEST_CHANNEL (every topic) or DIGEST_CHANNELS (e.g. sd=C0123,fl=C0456)"
        )
    client = None if dry_run else posting_client(settings.slack_bot_token, settings.slack_api_url)
    if client is not None:  # before anything else: a wrong channel is one line, now
        settings = checked_channels(cli, client, settings, "digest-bot")
    else:  # a dry run asks Slack nothing: names as they last resolved, like `status`
        settings = channels_as_ids(settings, cli.engine)
        for setting in unresolved(settings):
            cli.err.print(
                f"note: {escape(setting)} has not been looked up in Slack yet (`digest-bot post` or "
                "`run` do it): shown as a channel nothing was posted to",
                soft_wrap=True,
            )
    catalog = cli.catalog(archive, fetch=True, posting=not dry_run)
    if not dry_run:
        cli.refuse_to_post(archive)
    if topic is not None and catalog.topic(topic) is None:
        known = ", ".join(t.topic.slug for t in catalog.topics())
        fail(f"topic {topic!r} is not in the archive (topics: {known})")

    def announce(expected: Outlook) -> None:
        if not dry_run and not as_json and not expected.empty:
            cli.err.print(f"About to post: {escape(expected.describe())}")

    shows_progress = not dry_run and not as_json
    with progress(cli.err, "posting", "messages") if shows_progress else nullcontext(None) as shown:
        clock = RunClock.starting(dt.datetime.now(dt.UTC))
        report = publish_due(
            cli.engine,
            None if client is None else SlackCalls.paced(client, clock, min_interval=interval),
            clock,
            settings,
            selection=Selection(
                week=week.date() if week else None,
                topic=topic,
                backfill_since=backfill.date() if backfill else None,
            ),
            trigger="cli",
            hooks=RunHooks(announce=announce, progress=shown),
        )
    if as_json:
        print_json(report.as_dict())
    elif dry_run:
        from bot.runtime.preview import print_messages

        print_messages(cli.out, report.previews)
        _print_summary(cli, report)
    else:
        _print_summary(cli, report)
    if not report.ok:
        raise SystemExit(1)


def _print_summary(cli: CliContext, report: PublishReport) -> None:
    out = cli.out
    verb = "would post" if report.dry_run else "posted"
    if not report.channels:
        out.print("Nothing is due.")
    for channel in report.channels.values():
        line = f"[bold]{escape(channel.channel)}[/]: {verb} {channel.posted}"
        if channel.adopted:
            line += f", adopted {channel.adopted} interrupted post(s)"
        if channel.updated:
            line += f", updated {channel.updated}"
        if channel.digests:
            line += f" ({escape(', '.join(channel.digests))})"
        out.print(line)
        if channel.skipped_weeks:
            out.print(
                f"  first start: left {len(channel.skipped_weeks)} older week(s) unposted "
                "(post them with --backfill SINCE)"
            )
        if channel.busy:
            out.print(f"  being posted by another process: {escape(', '.join(channel.busy))}")
        for line in channel.held_back:
            out.print(
                f"  [yellow]held back[/] {escape(line)}: "
                "raise DIGEST_MAX_PAPERS_PER_DIGEST and post that --week to post them"
            )
        if channel.problem:
            out.print(f"  [red]{escape(channel.problem)}[/]")
    for slug in report.unmapped_topics:
        out.print(f"[yellow]topic {slug} has no channel[/] (DIGEST_CHANNELS)")
    for slug in report.unknown_topics:
        out.print(f"[yellow]topic {slug} is not in the archive[/] (DIGEST_TOPICS)")


def _dense_state(settings: Settings) -> dict[str, Any]:
    """DIGEST_DENSE and how many papers its vectors hold (read from the file: no model needed)."""
    path = dense_file(settings)
    vectors = DenseVectors.load(path) if settings.dense else None
    return {"on": settings.dense, "papers": len(vectors) if vectors is not None else 0, "file": str(path)}


@click.command()
@json_option
@pass_cli
def status(cli: CliContext, as_json: bool) -> None:
    """When the next weekly run is, how the last one went, what is pending or failed.

    Also digests whose papers over DIGEST_MAX_PAPERS_PER_DIGEST were held back.

    Also who is posting now: digest leases held, and on PostgreSQL the
    channels whose claim a run holds (channels configured here or posted to
    before), with the database session holding it.
    """
    cli.check_archive(None)  # a typo in DIGEST_ARCHIVE: an error, not the store's archive shown as fine
    engine = cli.engine
    settings = channels_as_ids(cli.settings, engine)  # asks no Slack: names as they last resolved
    now = dt.datetime.now(dt.UTC)
    upcoming = next_run_time(settings.schedule, settings.tz, now)
    last = next(iter(run_store.recent_runs(engine, 1)), None)
    unsettled = store.unsettled_posts(engine)
    channels = {*settings.channels.values(), *mark_store.marked_channels(engine)}
    if settings.channel:
        channels.add(settings.channel)
    claims = sorted(claimed_channels(engine, channels).items())
    coming = _next_run_outlook(engine, settings, upcoming)
    root = stored_root(engine)
    git = git_state(engine)
    data: dict[str, Any] = {
        "archive": {"root": root, "git": git.as_dict() if git else None},
        "schedule": settings.schedule,
        "timezone": settings.timezone,
        "next_run": upcoming.isoformat() if upcoming else None,
        "next_run_posts": None
        if coming is None
        else {
            "digests": coming.digests,
            "messages": coming.messages,
            "seconds": coming.seconds,
            "skipped_weeks": coming.skipped_weeks,
            "newest_week": coming.newest_week.isoformat() if coming.newest_week else None,
        },
        "last_run": None,
        "dense": _dense_state(settings),
        "posts": store.post_counts(engine),
        "digests": mark_store.mark_counts(engine),
        "unsettled": [
            {
                "channel": r.channel,
                "kind": r.kind,
                "slug": r.slug,
                "week_start": r.week_start.isoformat(),
                "arxiv_id": r.arxiv_id,
                "state": r.state,
                "attempts": r.attempts,
                "last_error": r.last_error,
                "attempted_at": r.attempted_at.isoformat(),
            }
            for r in unsettled
        ],
        "held_back": [
            {
                "channel": h.channel,
                "slug": h.slug,
                "week_start": h.week_start.isoformat(),
                "papers": h.papers,
                "cap": settings.max_papers_per_digest,
            }
            for h in mark_store.held_back(engine)
        ],
        "leases": [
            {
                "digest": lease.key,
                "holder": lease.holder,
                "expires_at": lease.expires_at.isoformat(),
            }
            for lease in lease_store.held_leases(engine, now)
        ],
        "claims": [
            {
                "channel": channel,
                "session_pid": claim.pid,
                "client": claim.client,
                "session_started_at": claim.since.isoformat() if claim.since else None,
            }
            for channel, claim in claims
        ],
    }
    if last is not None:
        data["last_run"] = {
            "trigger": last.trigger,
            "started_at": last.started_at.isoformat(),
            "finished_at": last.finished_at.isoformat() if last.finished_at else None,
            "posted": last.posted,
            "adopted": last.adopted,
            "updated": last.updated,
            "errors": last.errors,
        }
    if as_json:
        print_json(data)
        return
    out = cli.out
    local = (
        upcoming.astimezone(settings.tz).strftime("%a %Y-%m-%d %H:%M %Z") if upcoming else "never"
    )
    if git is not None:
        _print_git(cli, git)
    elif root is not None:
        out.print(f"[bold]Archive[/] {escape(root)}")
    out.print(f"[bold]Next run[/] {local} (schedule '{settings.schedule}', {settings.timezone})")
    dense = data["dense"]
    if dense["on"]:
        out.print(f"[bold]Answers by meaning[/] (DIGEST_DENSE) {dense['papers']} papers embedded "
                  f"({escape(dense['file'])})")
    if coming is not None:
        out.print(f"  it would post: {escape(coming.describe())}")
    if last is None:
        out.print("[bold]Last run[/] none yet")
    else:
        finished = (
            last.finished_at.strftime("%Y-%m-%d %H:%M UTC")
            if last.finished_at
            else "did not finish"
        )
        out.print(
            f"[bold]Last run[/] {last.started_at:%Y-%m-%d %H:%M} UTC ({last.trigger}), {finished}: "
            f"{last.posted} posted, {last.adopted} adopted, {last.updated} updated"
        )
        for error in last.errors:
            out.print(f"  [red]{escape(str(error.get('problem') or error))}[/]")
    counts = data["posts"]
    out.print(
        f"[bold]Messages[/] {counts['posted']} posted, {counts['pending']} pending, {counts['failed']} failed"
    )
    if unsettled:
        table = Table(title="Pending and failed posts", title_justify="left")
        for column in ("channel", "digest", "message", "state", "attempts", "last error"):
            table.add_column(column)
        for r in unsettled:
            what = r.arxiv_id or "header"
            table.add_row(
                r.channel,
                f"{r.slug} {r.week_start}",
                what,
                r.state,
                str(r.attempts),
                escape(r.last_error or ""),
            )
        out.print(table)
    for held in data["held_back"]:
        out.print(
            f"[bold]Held back[/] {held['papers']:,} papers of {escape(held['slug'])} {held['week_start']} "
            f"in {escape(held['channel'])} (at most {held['cap']:,} per digest; raise "
            "DIGEST_MAX_PAPERS_PER_DIGEST and `digest-bot post --week` to post them)"
        )
    for lease in data["leases"]:
        out.print(
            f"[bold]Posting now[/] {escape(lease['digest'])} by {escape(str(lease['holder']))}"
        )
    for channel, claim in claims:
        where = f" from {escape(claim.client)}" if claim.client else ""
        since = f", session since {claim.since:%Y-%m-%d %H:%M} UTC" if claim.since else ""
        out.print(
            f"[bold]Channel claimed[/] {escape(channel)} by database session {claim.pid}"
            f"{where}{since}"
        )


def _next_run_outlook(engine: Engine, settings: Settings, when: dt.datetime | None) -> Outlook | None:
    """What the next scheduled run would post, from the store as it is (None: no channel).

    `settings` has channel names as the ids they resolved to when the bot
    last checked them (`channels_as_ids`): the posts are recorded under the ids.
    """
    if when is None or not (settings.channel or settings.channels):
        return None
    return outlook(engine, plan_run(engine, settings, when), min_interval=MIN_INTERVAL, max_papers=settings.max_papers_per_digest)


def _print_git(cli: CliContext, git: GitState) -> None:
    """The git archive: the commit indexed and when, and the last fetch (its failure, if so)."""
    out = cli.out
    commit = (git.commit or "none yet")[:12]
    subject = f" “{escape(git.subject)}”" if git.subject else ""
    when = f", indexed {git.indexed_at:%Y-%m-%d %H:%M} UTC" if git.indexed_at else ""
    out.print(f"[bold]Archive[/] git {escape(git.url or '')}: commit {commit}{subject}{when}")
    if git.error and git.error_at:
        out.print(
            f"  [red]last fetch failed {git.error_at:%Y-%m-%d %H:%M} UTC: {escape(git.error)}[/] "
            f"(serving {commit}, the last good checkout)"
        )
    if git.fetched_at:
        out.print(f"  last good fetch {git.fetched_at:%Y-%m-%d %H:%M} UTC")
