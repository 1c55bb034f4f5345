"""`/papers trends [topic]`: the numbers in the ephemeral answer, the chart uploaded to the person's DM.

The answer (the numbers as text, and "Share the chart in channel") goes
through the response_url like every `/papers` answer; the chart is a PNG
uploaded with `files_upload_v2` into the person's direct messages with the
bot (`conversations.open`), since an ephemeral answer cannot hold a file.
The button uploads the same chart into the channel the command was typed
in, saying who shared it. Everything runs on the work queues, after the
acknowledgement; a refused upload is said in one ephemeral line.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Mapping
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.i18n import t
from bot.lookup import Lookup, parse_command
from bot.render import TRENDS_SHARE, action_pattern, error_message
from bot.render.blocks import Message, context
from bot.render.layout import message as build_message
from bot.render.trends import chart_alt_text
from bot.slack import files
from bot.slack.work import Workers
from bot.weekly.trends import Trends

log = logging.getLogger(__name__)

Deliver = Callable[..., None]
_USER_RE = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def is_trends(text: str | None) -> bool:
    """Whether `/papers <text>` asks for the trends chart."""
    return parse_command(text).kind == "trends"


def _notice(text: str) -> Message:
    return build_message(text, [context([text], bid="trends:notice")])


def _chart(data: Trends, *, lang: str, stamp: dt.date) -> dict[str, Any]:
    """The chart rendered, as `bot.slack.files.upload`'s arguments (but the comment)."""
    from bot.charts import trends_chart

    chart = trends_chart(data, lang=lang)
    scope = "-".join(t.slug for t in data.topics) if len(data.topics) == 1 else "all"
    return {
        "content": chart.png,
        "filename": f"digest-bot-trends-{scope}-{stamp.isoformat()}.png",
        "title": chart.title,
        "alt_txt": chart_alt_text(data, lang=lang),
    }


def command_job(
    command: Mapping[str, Any], *, lookup: Lookup, client: WebClient, work: Workers, deliver: Deliver, lang: str
) -> Callable[[], None]:
    """The answers-queue job for `/papers trends …`: answer with the numbers, chart to the DM."""
    url, text, user = command.get("response_url"), command.get("text") or "", str(command.get("user_id") or "")
    arg = parse_command(text).arg

    def job() -> None:
        try:
            message, data = lookup.trends(arg, share=True, note=t(lang, "trends_chart_sent_dm"))
        except Exception:
            log.exception("could not answer /papers trends %r", arg)
            failed = error_message("unknown", lang=lang)
            work.send(lambda: deliver(url, failed, response_type="ephemeral"), "trends answer")
            return
        if data.empty:
            work.send(lambda: deliver(url, lookup.trends(arg)[0], response_type="ephemeral"), "trends answer")
            return
        work.send(lambda: deliver(url, message, response_type="ephemeral"), "trends answer")
        error: str | None = "user_not_found"
        if _USER_RE.match(user):
            title = t(lang, "trends_chart_title", n=len(data.weeks))
            chart = _chart(data, lang=lang, stamp=lookup.today())
            error = files.upload_to_dm(client, user, initial_comment=f"📈 {title}", **chart)
        if error:
            log.warning("the trends chart for %s was not uploaded: %s", user, error)
            notice = _notice(t(lang, "trends_chart_failed", error=error))
            work.send(lambda: deliver(url, notice, response_type="ephemeral", replace_original=False), "trends notice")

    return job


def register(app: App, *, lookup: Lookup, client: WebClient, work: Workers, deliver: Deliver, lang: str) -> None:
    """"Share the chart in channel": the same chart, uploaded where the command was typed."""

    @app.action(action_pattern(TRENDS_SHARE))
    def share(ack: Ack, action: Mapping[str, Any], body: Mapping[str, Any]) -> None:
        ack()
        url = body.get("response_url")
        user = str((body.get("user") or {}).get("id") or "")
        channel = str((body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or "")
        value = str(action.get("value") or "*")

        def job() -> None:
            _, data = lookup.trends("" if value == "*" else value)
            if data.empty or not channel:
                return
            shared_by = f"<@{user}>" if _USER_RE.match(user) else "…"
            title = t(lang, "trends_chart_title", n=len(data.weeks))
            comment = t(lang, "trends_shared_by", title=title, user=shared_by)
            error = files.upload(client, channel, initial_comment=comment, **_chart(data, lang=lang, stamp=lookup.today()))
            if error:
                notice = _notice(t(lang, "trends_chart_failed", error=error))
                work.send(lambda: deliver(url, notice, response_type="ephemeral", replace_original=False), "notice")

        if not work.answers.submit(job, "trends chart share"):
            busy = error_message("busy", lang=lang)
            work.send(lambda: deliver(url, busy, response_type="ephemeral", replace_original=False), "busy")
