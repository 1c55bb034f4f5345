"""The trends chart's numbers as text: a table for the terminal and a Block Kit message.

The chart is a picture; its numbers also go out as text, for screen readers,
for search and for whoever wants the figures. Rows are topics (slugs, so the
columns line up in a monospace block; a line names each one), columns are
the digest weeks, the current week last.
"""

from __future__ import annotations

from bot.i18n import t
from bot.render import actions as act
from bot.render.blocks import Block, Message, actions, button, context, header, section
from bot.render.layout import message
from bot.render.mrkdwn import HEADER_TEXT, SECTION_TEXT, clean, fit, plain, truncate
from bot.weekly.trends import Trends

_SLUG = 12
_NAMES = 600


def trends_table(trends: Trends) -> str:
    """A plain-text table: one row per topic, one column per week (MM-DD), then the total."""
    slugs = [truncate(clean(tp.slug), _SLUG) for tp in trends.topics]
    first = max([len("topic"), *(len(s) for s in slugs)])
    weeks = [f"{w:%m-%d}" for w in trends.weeks]
    lines = [" ".join([f"{'topic':<{first}}", *(f"{w:>5}" for w in weeks), f"{'total':>6}"])]
    for slug, topic in zip(slugs, trends.topics, strict=True):
        row = trends.counts[topic.slug]
        lines.append(" ".join([f"{slug:<{first}}", *(f"{n:>5}" for n in row), f"{sum(row):>6}"]))
    totals = [trends.week_total(i) for i in range(len(weeks))]
    lines.append(" ".join([f"{'all':<{first}}", *(f"{n:>5}" for n in totals), f"{sum(totals):>6}"]))
    return "\n".join(lines)


def chart_notes(trends: Trends, *, lang: str = "en") -> list[str]:
    """What the numbers need said beside them: which week the last column is ("this week"
    only when it is the calendar's), and that topic rows overlap when a paper is in two."""
    notes = []
    if trends.current is not None:
        key = "trends_current_this_week" if trends.this_week else "trends_current"
        notes.append(t(lang, key, date=trends.current.isoformat()))
    if trends.overlaps:
        notes.append(t(lang, "counts_overlap"))
    return notes


def chart_alt_text(trends: Trends, *, lang: str = "en", limit: int = 1000) -> str:
    """The chart's alternative text: its numbers and their notes, within Slack's `alt_txt` size."""
    notes = "\n".join(chart_notes(trends, lang=lang))
    table = trends_table(trends)
    if len(table) + len(notes) + 1 > limit:
        table = table[: max(limit - len(notes) - 2, 0)] + "…"
    return f"{notes}\n{table}"[:limit] if notes else table[:limit]


def topic_names(trends: Trends) -> str:
    """`sd: 合成データ (Synthetic Data) · fl: …`: what each slug of the table stands for."""
    return " · ".join(f"{tp.slug}: {tp.label}" for tp in trends.topics)


def trends_message(
    trends: Trends,
    *,
    lang: str = "en",
    topic_missing: str | None = None,
    share: str | None = None,
    note: str | None = None,
) -> Message:
    """`/papers trends`: the numbers in a code block, the topic names below, the week highlighted.

    `share` (a topic slug, or "*" for every topic) adds "Share the chart in
    channel"; `note` says where the chart went (plain words of the bot's own).
    """
    title = t(lang, "trends_chart_title", n=len(trends.weeks))
    blocks: list[Block] = [header(plain(title, HEADER_TEXT), bid="trends:header")]
    if topic_missing is not None:
        blocks.append(section(t(lang, "trends_no_topic", topic=fit(topic_missing, 80)), bid="trends:missing"))
    if trends.empty:
        blocks.append(section(t(lang, "trends_empty"), bid="trends:empty"))
        return message(title, blocks)
    table = fit(trends_table(trends), SECTION_TEXT - 10)
    blocks.append(section(f"```{table}```", bid="trends:table"))
    notes = [fit(topic_names(trends), _NAMES), *chart_notes(trends, lang=lang)]
    blocks.append(context(notes, bid="trends:names"))
    if note:
        blocks.append(context([note], bid="trends:note"))
    if share:
        label = t(lang, "trends_share_button")
        blocks.append(actions([button(label, action_id=act.action_id(act.TRENDS_SHARE, "chart"), value=share[:64])],
                              bid="trends:actions"))
    return message(title, blocks)
