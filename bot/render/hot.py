"""`/papers hot`: the papers most discussed and voted for lately, each linked to its thread;
`/papers hot votes`: the most voted (what a reading group picks next)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.i18n import replies as replies_count
from bot.i18n import t
from bot.model import Discussed, ThreadInfo
from bot.render.blocks import Block, Message, context, header, section
from bot.render.cards import thread_link
from bot.render.layout import message, pack_lines
from bot.render.mrkdwn import HEADER_TEXT, SECTION_TEXT, fit, link, plain

_TITLE = 160
_MAX_LINES = 15


def _people(lang: str, n: int) -> str:
    return t(lang, "hot_people_one") if n == 1 else t(lang, "hot_people_many", n=f"{n:,}")


def hot_papers(
    items: Sequence[Discussed], *, lang: str = "en", period: str = "week", by: str = "discussion"
) -> Message:
    """Numbered lines: title (linked to arXiv), Japanese title, replies linked to the thread
    and votes. `by="votes"` titles it as the most voted."""
    votes = by == "votes"
    month = period == "month"
    key = ("hot_title_votes_" if votes else "hot_title_") + ("month" if month else "week")
    title = t(lang, key)
    blocks: list[Block] = [header(plain(title, HEADER_TEXT), bid="hot:header")]
    if not items:
        blocks.append(section(t(lang, "hot_votes_none" if votes else "hot_none"), bid="hot:none"))
        return message(title, blocks)
    lines = []
    for number, item in enumerate(items[:_MAX_LINES], start=1):
        paper = item.paper
        heading = link(paper.abs_url, paper.title, limit=_TITLE, strong=True)
        subtitle = f"\n      {fit(paper.title_ja, _TITLE)}" if paper.title_ja else ""
        # The count is of replies in the window; the link opens the whole thread.
        th = item.thread
        replies = (
            thread_link(ThreadInfo(th.channel, th.ts, th.permalink, item.replies, votes=item.votes), lang=lang)
            if th
            else replies_count(lang, item.replies)
        )
        stats = t(lang, "hot_line", replies=replies, people=_people(lang, item.participants))
        lines.append(f"{number}. {heading}{subtitle}\n      {stats}")
    blocks += [section(chunk, bid=f"hot:{i}") for i, chunk in enumerate(pack_lines(lines, limit=SECTION_TEXT - 100))]
    blocks.append(context([fit(t(lang, "hot_votes_hint" if votes else "help_hot"), 300)], bid="hot:hint"))
    return message(title, blocks)
