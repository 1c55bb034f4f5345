"""Why a channel's run stops, and the one line that tells the operator.

A Slack refusal, Slack out of reach after every retry, or a lost lease ends
the run's work in that channel (`ChannelStop`); a refused token ends the
whole run (`RunStop`), since every channel would fail alike. Nothing is
marked posted that was not, so the next run carries on where this one
stopped. The problem line says where, what Slack said, what to do about it
and what happens next; it goes to the log, the report and `digest-bot status`.
"""

from __future__ import annotations

from bot.publisher.slack_calls import AUTH_ERRORS, SlackRefused

_HINTS = {
    "not_in_channel": "invite the bot to the channel (`/invite @digest-bot` in {channel})",
    "channel_not_found": (
        "check DIGEST_CHANNEL / DIGEST_CHANNELS: use the channel id (e.g. C0123ABCD); "
        "a private channel needs the bot invited first"
    ),
    "is_archived": "the channel is archived: unarchive it or point DIGEST_CHANNELS elsewhere",
    "restricted_action": "the workspace does not let the bot post in {channel}: allow it in the channel settings",
    "missing_scope": (
        "add the missing scope (chat:write, and channels:history / groups:history to find "
        "interrupted posts again) and reinstall the app"
    ),
    "invalid_blocks": "Slack rejected the rendered message: a rendering bug, please report it",
    "msg_blocks_too_long": "Slack rejected the rendered message as too long: a rendering bug, please report it",
    "ratelimited": "Slack kept answering 429 (rate limited); the rest is posted on the next run",
    "unreachable": "Slack could not be reached; interrupted posts are looked up and retried on the next run",
    "lease_lost": (
        "another process took over this digest (our lease expired, or our database "
        "connection holding the channel's claim was lost); it carries on from here"
    ),
}
_AUTH_HINT = "check SLACK_BOT_TOKEN (a bot token `xoxb-…`; reinstall the app if it was revoked)"


class ChannelStop(Exception):
    """Stop posting to this channel for this run (recorded in the report)."""

    def __init__(self, error: str, problem: str) -> None:
        super().__init__(problem)
        self.error = error
        self.problem = problem


class RunStop(ChannelStop):
    """Stop the whole run: the token itself is refused."""


def refused_stop(channel: str, doing: str, err: SlackRefused) -> ChannelStop:
    return stop_for(channel, doing, err.error, "; ".join(err.details))


def stop_for(channel: str, doing: str, error: str, detail: str = "") -> ChannelStop:
    """What ends this channel's run (or the whole run, for a refused token)."""
    problem = _problem(channel, doing, error, detail)
    return RunStop(error, problem) if error in AUTH_ERRORS else ChannelStop(error, problem)


def _problem(channel: str, doing: str, error: str, detail: str = "") -> str:
    """One clear line: where, what Slack said, what to do, what happens next."""
    hint = _AUTH_HINT if error in AUTH_ERRORS and error != "missing_scope" else _HINTS.get(error)
    hint = (hint or "see Slack's documentation of this error").format(channel=channel)
    extra = f" ({detail})" if detail else ""
    scope = "anywhere" if error in AUTH_ERRORS else f"to {channel}"
    return (
        f"channel {channel}: Slack answered `{error}` while {doing}{extra}: {hint}. "
        f"Nothing more is posted {scope} in this run; nothing unposted is marked as posted, "
        "and the rest is retried on the next run."
    )
