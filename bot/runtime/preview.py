"""Preview mode: the bot without Slack, for a newcomer's first run.

It says loudly that nothing reaches Slack and what is missing to go live,
shows what the next scheduled run would post (as readable text), and, on an
interactive terminal, answers `/papers …` lines exactly as Slack would.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable, Sequence

from rich.console import Console
from rich.markup import escape

from bot.config import Settings
from bot.lookup import Lookup, parse_command
from bot.publisher import Preview, RunClock, publish_due
from bot.publisher.dry_run import PLACEHOLDER_LINK_RE, PLACEHOLDER_TEXT
from bot.render import message_to_text
from bot.runtime.service import Bot
from bot.slack.channels import channels_as_ids
from bot.weekly.schedule import next_run_time

#: Where each missing setting comes from, in the words of Slack's app pages.
HOW_TO_GET = {
    "SLACK_BOT_TOKEN": "your app's page → OAuth & Permissions → Bot User OAuth Token (xoxb-…)",
    "SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode)": (
        "Basic Information → App-Level Tokens → generate one with connections:write (xapp-…), "
        "or Basic Information → App Credentials → Signing Secret"
    ),
    "DIGEST_CHANNEL or DIGEST_CHANNELS": (
        "the channel: #name, or its id (open the channel → its name → the id at the bottom, C…); "
        "then /invite @digest-bot there"
    ),
}
PREVIEW_CHANNEL = "#preview"
MAX_PREVIEW_PAPERS = 3


def slack_settings_given(settings: Settings) -> list[str]:
    """The Slack settings that are set: any one of them means "go live", never preview."""
    given = {
        "SLACK_BOT_TOKEN": settings.slack_bot_token,
        "SLACK_APP_TOKEN": settings.slack_app_token,
        "SLACK_SIGNING_SECRET": settings.slack_signing_secret,
        "DIGEST_CHANNEL": settings.channel,
        "DIGEST_CHANNELS": settings.channels,
    }
    return [name for name, value in given.items() if value]


def half_configured(settings: Settings, missing: Sequence[str]) -> str:
    """Why `run` stops instead of falling back to preview: what is set, what is missing, where to get it.

    Preview mode is for a first try with no Slack setting at all; with some set
    and others not, a preview that exits 0 would look like a running bot to a
    service manager (issue 22).
    """
    given = slack_settings_given(settings)
    needed = "; ".join(f"{name}: {HOW_TO_GET.get(name, '')}".rstrip(": ") for name in missing)
    return (
        f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} set, but {' and '.join(missing)} "
        f"{'is' if len(missing) == 1 else 'are'} not: the bot cannot connect to Slack. Set {needed}. "
        "Or run `digest-bot run --preview` to try it without Slack"
    )


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
    settings = channels_as_ids(settings, bot.engine)  # names as the bot last resolved them
    report = publish_due(bot.engine, None, RunClock.starting(when), settings)  # None: a dry run
    out.rule(f"Next scheduled run: {when:%Y-%m-%d %H:%M %Z} ({escape(settings.schedule)})")
    if not report.previews:
        out.print("Nothing would be posted: every due digest is already posted.\n")
        return
    headers = [p for p in report.previews if p.kind == "header"]
    out.print(f"It would post {len(headers)} digest(s), {len(report.previews) - len(headers)} paper message(s):\n")
    print_messages(out, report.previews, max_papers=MAX_PREVIEW_PAPERS)
    out.print()


def print_messages(out: Console, previews: Sequence[Preview], *, max_papers: int | None = None) -> None:
    """A dry run's messages as Slack would show them, digest by digest.

    With `max_papers`, each digest shows that many paper messages and then,
    right below them, how many more it holds. A paper linked from a header
    before it is posted has no permalink yet: the text says where it is.
    """
    for (channel, slug, week), group in itertools.groupby(previews, key=_digest):
        hidden = 0
        papers = 0
        for preview in group:
            if preview.kind == "paper":
                papers += 1
                if max_papers is not None and papers > max_papers:
                    hidden += 1
                    continue
            what = preview.kind if preview.action == "post" else f"{preview.kind}, updated"
            out.print(f"[dim]── {escape(channel)} · {escape(slug)} {week.isoformat()} · {what} ──[/]")
            text = PLACEHOLDER_LINK_RE.sub(PLACEHOLDER_TEXT, message_to_text(preview.message))
            out.print(escape(text), soft_wrap=True)
            out.print()
        if hidden:
            out.print(
                f"[dim]… and {hidden} more paper message(s) for {escape(slug)} {week.isoformat()} "
                f"in {escape(channel)}[/]\n"
            )


def _digest(preview: Preview) -> tuple[str, str, dt.date]:
    return (preview.channel, preview.slug, preview.week_start)


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
