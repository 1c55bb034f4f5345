"""The weekly recap message: the week's numbers, its most discussed and most voted papers.

Pure, like every renderer: `bot.weekly.recap.Recap` in, Block Kit out. Papers link to
their thread (where the discussion is) and to arXiv; topic names and titles
are archive text, escaped. The chart follows in the message's thread.
"""

from __future__ import annotations

from bot.i18n import papers as papers_count
from bot.i18n import replies as replies_count
from bot.i18n import t
from bot.model import Discussed, ThreadInfo
from bot.render.blocks import Block, Message, context, divider, header, section
from bot.render.cards import thread_link
from bot.render.layout import message, pack_lines
from bot.render.mrkdwn import HEADER_TEXT, SECTION_TEXT, fit, link, plain
from bot.weekly.recap import Recap

_TITLE = 150
_TOPIC = 60


def _ranked_lines(items: tuple[Discussed, ...], *, lang: str, votes: bool) -> list[str]:
    lines = []
    for number, item in enumerate(items, start=1):
        paper = item.paper
        heading = link(paper.abs_url, paper.title or paper.arxiv_id, limit=_TITLE, strong=True)
        subtitle = f"\n      {fit(paper.title_ja, _TITLE)}" if paper.title_ja and paper.title_ja != paper.title else ""
        if votes:
            stat = t(lang, "recap_votes_one" if item.votes == 1 else "recap_votes_many", n=f"{item.votes:,}")
            where = thread_link(item.thread, lang=lang) if item.thread else ""
            stats = f"{stat} · {where}" if where else stat
        else:  # the week's replies, linked to the whole thread
            th = item.thread
            stats = (
                thread_link(ThreadInfo(th.channel, th.ts, th.permalink, item.replies), lang=lang)
                if th
                else replies_count(lang, item.replies)
            )
        lines.append(f"{number}. {heading}{subtitle}\n      {stats}")
    return lines


def recap_message(recap: Recap, *, lang: str = "en") -> Message:
    """Header, the week in numbers, per topic, most discussed, most voted, and where the chart is."""
    span = f"{recap.week_start.isoformat()} – {recap.week_end.isoformat()}"
    title = t(lang, "recap_title", span=span)
    blocks: list[Block] = [header(plain(title, HEADER_TEXT), bid="recap:header")]
    summary = t(lang, "recap_summary", papers=papers_count(lang, recap.papers), replies=f"{recap.replies:,}")
    blocks.append(section(summary, bid="recap:summary"))
    topic_lines = [
        t(
            lang,
            "recap_topic_line",
            topic=fit(tw.topic.label, _TOPIC),
            slug=fit(tw.topic.slug, 20),
            papers=papers_count(lang, tw.papers),
            replies=f"{tw.replies:,}",
        )
        for tw in recap.topics[:25]
    ]
    if topic_lines:
        blocks.append(section(f"*{t(lang, 'recap_per_topic')}*", bid="recap:topics:title"))
        for i, chunk in enumerate(pack_lines(topic_lines, limit=SECTION_TEXT - 100)[:3]):
            blocks.append(section(chunk, bid=f"recap:topics:{i}"))
        if recap.overlaps:
            blocks.append(context([t(lang, "counts_overlap")], bid="recap:topics:overlap"))
    blocks.append(divider())
    for key, items, votes in (("recap_discussed", recap.discussed, False), ("recap_voted", recap.voted, True)):
        heading = f"*{t(lang, key)}*"
        if items:
            lines = _ranked_lines(items, lang=lang, votes=votes)
            for i, chunk in enumerate(pack_lines([heading, *lines], limit=SECTION_TEXT - 100)[:3]):
                blocks.append(section(chunk, bid=f"recap:{key}:{i}"))
        else:
            none = t(lang, "recap_no_votes" if votes else "recap_no_replies")
            blocks.append(section(f"{heading}\n{none}", bid=f"recap:{key}:none"))
    blocks.append(context([t(lang, "recap_chart_below")], bid="recap:chart"))
    return message(title, blocks)


def chart_title(recap: Recap, *, lang: str = "en") -> str:
    """The uploaded chart's title (plain text)."""
    return t(lang, "recap_chart_title", date=recap.week_start.isoformat())
