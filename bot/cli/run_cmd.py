"""`digest-bot run`: the bot itself; a loud preview when Slack is not configured yet."""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import socket
import sys
import threading
from pathlib import Path

import click
from rich.markup import escape
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk.errors import SlackApiError

from bot.ask.asker import DenseUnavailable
from bot.cli.archive_cmds import archive_option
from bot.cli.context import CliContext, checked_channels, fail, pass_cli
from bot.cli.progress import progress
from bot.runtime.archive_source import ArchiveSource
from bot.runtime.preview import (
    half_configured,
    missing_settings,
    print_banner,
    print_next_run,
    repl,
    slack_settings_given,
)
from bot.runtime.scheduler import JOB_ID
from bot.runtime.service import (
    Bot,
    assemble,
    background_jobs,
    health,
    lookup_client,
    slack_app,
    start_workers,
)
from bot.slack.client import web_client
from bot.slack.http import CannotListen, bind_socket, create_asgi_app, serve
from bot.store.health import StoreWatch
from bot.store.serving import serve_store

log = logging.getLogger(__name__)


@click.command()
@archive_option
@click.option(
    "--preview",
    is_flag=True,
    help="Stay in preview mode even when Slack tokens are set (nothing reaches Slack).",
)
@pass_cli
def run(cli: CliContext, archive: Path | None, preview: bool) -> None:
    """Run the bot: index the archive, answer /papers, post each new week.

    Socket Mode when SLACK_APP_TOKEN is set; otherwise HTTP mode on PORT
    (POST /slack/events, GET /healthz). With no Slack setting at all it runs
    in preview mode: it lists what is missing, shows what the next scheduled
    run would post, and answers /papers typed on an interactive terminal.
    With some Slack settings but not all it exits 2 naming what is missing
    (--preview still previews).

    PORT is taken (or Socket Mode connected) before anything else: a start
    that cannot serve exits 2 naming PORT or DIGEST_BIND_ADDRESS, with
    nothing posted. A second run on the same SQLite store says which run
    serves it already.

    A DIGEST_ARCHIVE_GIT archive is cloned on first start and fetched before
    every re-read and posting run. Before connecting it checks every
    configured channel, and refuses to post the bundled examples unless
    named, or from a shared store that indexes another archive: exit 2 with
    the line that fixes it.
    """
    settings = cli.settings
    logging.getLogger().setLevel(settings.log_level)
    missing = settings.missing_for_live()
    if not preview and missing and slack_settings_given(settings):
        fail(half_configured(settings, missing))  # a service manager must not see a preview succeed
    live = not preview and not missing
    sock = None
    if live and not settings.slack_app_token:  # HTTP mode: the port first, before anything is posted
        try:
            sock = bind_socket(settings.bind_address, settings.port)
        except CannotListen as err:
            fail(str(err))
    serving = None
    if live:
        serving = serve_store(cli.engine)
        if serving is not None and serving.other is not None:
            cli.err.print(
                f"[yellow]note:[/] another digest-bot run serves this store: {serving.other} "
                f"({escape(str(serving.path))}); the two share the work safely, but one run is enough",
                soft_wrap=True,
            )
    posting = live and bool(settings.channel or settings.channels)
    with progress(cli.err, "indexing", "files") as shown:
        report = cli.sync(archive, progress=shown, fetch=True, posting=posting)
    if posting:
        cli.refuse_to_post(archive)
    out = cli.out
    out.print(
        f"Archive [bold]{escape(report.root)}[/]: {report.digests} digests, {report.papers} papers"
        + (f" ([yellow]{len(report.skipped)} skipped, see `digest-bot index`[/])" if report.skipped else "")
    )
    try:
        bot = assemble(settings, cli.engine)
    except DenseUnavailable as exc:
        fail(str(exc))
    bot.search.engine()  # build the search index now, not on the first request
    missing = missing_settings(bot)
    if not live:
        print_banner(out, missing)
        print_next_run(out, bot, dt.datetime.now(dt.UTC))
        if sys.stdin.isatty() and sys.stdout.isatty():
            repl(out, bot.lookup, read=input)
        else:
            out.print("No interactive terminal: preview done. Run it in a terminal to try /papers here.")
        return
    try:
        _live(cli, bot, cli.source(archive), sock)
    finally:
        if serving is not None:
            serving.release()


def _live(cli: CliContext, bot: Bot, archive: ArchiveSource, sock: socket.socket | None) -> None:
    """Connect to Slack (Socket Mode, or HTTP on `sock`, bound already), then start the schedule.

    The schedule starts (its catch-up run posts at once) only once the bot can
    serve: a Socket Mode connection that fails stops the start with nothing posted.
    """
    settings = bot.settings
    client = lookup_client(settings)
    try:
        identity = client.auth_test()
    except SlackApiError as err:
        fail(f"Slack refused SLACK_BOT_TOKEN ({err.response.get('error')}): copy the Bot User OAuth Token again")
    except OSError as err:  # network: say where we tried (URLError is an OSError)
        fail(f"cannot reach Slack at {settings.slack_api_url}: {err}")
    bot_user_id = identity.get("user_id")
    if settings.channel or settings.channels:
        bot.settings = settings = checked_channels(cli, client, settings, str(identity.get("user") or "digest-bot"))
    # A store file deleted or replaced under the running bot stops it (see bot.store.health).
    watch = StoreWatch(bot.engine, on_lost=lambda problem: os.kill(os.getpid(), signal.SIGTERM)).start()
    workers = start_workers(settings)
    app = slack_app(bot, client, bot_user_id=bot_user_id, workers=workers)
    handler = None
    if settings.slack_app_token:
        handler = SocketModeHandler(
            app, settings.slack_app_token, web_client=web_client(None, settings.slack_api_url)
        )
        try:
            handler.connect()
        except SlackApiError as err:
            workers.close()
            watch.stop()
            fail(
                f"Slack refused SLACK_APP_TOKEN ({err.response.get('error')}): generate an app-level token with "
                "connections:write (Basic Information → App-Level Tokens), or unset SLACK_APP_TOKEN for HTTP mode"
            )
        except Exception as err:  # noqa: BLE001 - the websocket: network, proxy, TLS; said, then exit 2
            workers.close()
            watch.stop()
            fail(
                f"cannot connect to Slack in Socket Mode: {err}; check the network, "
                "or unset SLACK_APP_TOKEN for HTTP mode"
            )
    scheduler = background_jobs(bot, archive)
    scheduler.start()
    posting = scheduler.get_job(JOB_ID)
    if posting is not None:
        cli.out.print(f"Posting schedule: {settings.schedule} ({settings.timezone}); next run {posting.next_run_time}")
    else:
        cli.out.print("No DIGEST_CHANNEL or DIGEST_CHANNELS: answering lookups only, posting nothing")
    try:
        if handler is not None:
            cli.out.print(f"Connected as {identity.get('user')} ({identity.get('team')}): Socket Mode")
            wait_until_stopped()
            handler.close()
        else:
            cli.out.print(
                f"Connected as {identity.get('user')} ({identity.get('team')}): "
                f"HTTP mode on {settings.bind_address} port {settings.port}"
            )
            asgi = create_asgi_app(
                app, health=health(bot, workers, watch), signing_secret=settings.slack_signing_secret
            )
            serve(asgi, port=settings.port, host=settings.bind_address, sock=sock)
    finally:
        scheduler.shutdown(wait=False)
        workers.close()
        bot.close()
        watch.stop()
    if watch.lost is not None:
        fail(watch.lost, code=3)


def wait_until_stopped() -> None:
    """Block until SIGTERM or Ctrl-C: Socket Mode's connection runs in threads of its own."""
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        while not stopped.wait(1.0):  # the signal handler runs between waits
            pass
    except KeyboardInterrupt:
        pass
