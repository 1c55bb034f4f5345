"""Preview mode: the bot without Slack, for a newcomer's first run.

It says loudly that nothing reaches Slack and what is missing to go live,
shows what the next scheduled run would post (as readable text), and, on an
interactive terminal, answers `/papers …` lines exactly as Slack would.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

from rich.console import Console
from rich.markup import escape

from bot.lookup import Lookup, parse_command
from bot.publisher import publish_due
from bot.render import message_to_text
from bot.scheduler import next_run_time
from bot.service import Bot

#: Where each missing setting comes from, in the words of Slack's app pages.
HOW_TO_GET = {
    "SLACK_BOT_TOKEN": "your app's page → OAuth & Permissions → Bot User OAuth Token (xoxb-…)",
    "SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)": (
        "Basic Information → App-Level Tokens → generate one with connections:write (xapp-…), "
        "or Basic Information → App Credentials → Signing Secret"
    ),
    "DIGEST_CHANNEL or DIGEST_CHANNELS": (
        "the channel's id: open the channel → its name → the id at the bottom (C…); "
        "then /invite @digest-bot there"
    ),
}
PREVIEW_CHANNEL = "#preview"
MAX_PREVIEW_PAPERS = 3


def missing_settings(bot: Bot) -> list[str]:
    """Every setting still needed to connect and to post."""
    missing = bot.settings.missing_for_live()
    if not bot.settings.channel and not bot.settings.channels:
        missing.append("DIGEST_CHANNEL or DIGEST_CHANNELS")
    return missing


def print_banner(out: Console, missing: Iterable[str]) -> None:
    out.rule("[bold yellow]PREVIEW MODE: not connected to Slack, nothing is posted[/]", style="yellow")
    out.print("To go live, set these in .env (see .env.example and the README's “Set up in Slack”):")
    for name in missing:
        out.print(f"  [bold]{escape(name)}[/]\n      {escape(HOW_TO_GET.get(name, ''))}")
    out.print()


def print_next_run(out: Console, bot: Bot, now: dt.datetime) -> None:
    """What the next scheduled run would post, as text (a dry run; the store is not touched)."""
    settings = bot.settings
    when = next_run_time(settings.schedule, settings.tz, now)
    if when is None:
        out.rule(f"The schedule {escape(settings.schedule)} never runs again: nothing would be posted")
        return
    if not settings.channel and not settings.channels:
        settings = settings.model_copy(update={"channel": PREVIEW_CHANNEL})
    report = publish_due(bot.engine, None, settings=settings, now=when, dry_run=True)
    out.rule(f"Next scheduled run: {when:%Y-%m-%d %H:%M %Z} ({escape(settings.schedule)})")
    if not report.previews:
        out.print("Nothing would be posted: every due digest is already posted.\n")
        return
    headers = [p for p in report.previews if p.kind == "header"]
    out.print(f"It would post {len(headers)} digest(s), {len(report.previews) - len(headers)} paper message(s):\n")
    shown: dict[tuple[str, str], int] = {}
    for preview in report.previews:
        key = (preview.channel, preview.slug)
        if preview.kind == "paper":
            shown[key] = shown.get(key, 0) + 1
            if shown[key] > MAX_PREVIEW_PAPERS:
                continue
        out.print(f"[dim]── {escape(preview.channel)} · {preview.kind} ──[/]")
        out.print(escape(message_to_text(preview.message)), soft_wrap=True)
        out.print()
    for (channel, slug), count in shown.items():
        if count > MAX_PREVIEW_PAPERS:
            out.print(f"[dim]… and {count - MAX_PREVIEW_PAPERS} more paper message(s) for {slug} in {channel}[/]")
    out.print()


def repl(out: Console, lookup: Lookup, read: Callable[[str], str]) -> None:
    """Answer `/papers …` lines typed on the terminal until `quit` or end of input.

    `more` shows the next page of the last search, as the "More results" button would.
    """
    out.print("Type a lookup as in Slack, e.g. [bold]/papers federated lerning[/] or "
              "[bold]/papers topic dp[/]; [bold]help[/] for more, [bold]quit[/] to stop.")
    last_query: str | None = None
    offset = 0
    while True:
        try:
            line = read("/papers ")
        except (EOFError, KeyboardInterrupt):
            out.print()
            return
        text = line.strip()
        if text.startswith("/papers"):
            text = text[len("/papers"):].strip()
        if text.casefold() in ("quit", "exit", "q"):
            return
        if text.casefold() == "more" and last_query is not None:
            offset += lookup.page_size
            message = lookup.search(last_query, offset)
        else:
            command = parse_command(text)
            last_query, offset = (command.arg, 0) if command.kind == "search" else (None, 0)
            message = lookup.answer(text)
        out.print(escape(message_to_text(message)), soft_wrap=True)
        out.print()
