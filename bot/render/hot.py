"""`/papers hot`: the papers most discussed and voted for lately, each linked to its thread;
`/papers hot votes`: the most voted (what a reading group picks next)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.i18n import t
from bot.model import Paper, ThreadInfo
from bot.render.blocks import Block, Message, context, header, section
from bot.render.cards import thread_link
from bot.render.layout import message, pack_lines
from bot.render.mrkdwn import HEADER_TEXT, SECTION_TEXT, fit, link, plain

_TITLE = 160
_MAX_LINES = 15


@dataclass(frozen=True, slots=True)
class Discussed:
    """A paper with its thread and how much it was discussed in the window."""

    paper: Paper
    thread: ThreadInfo
    replies: int
    participants: int
    votes: int = 0


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
        thread = ThreadInfo(
            item.thread.channel, item.thread.ts, item.thread.permalink, item.replies, votes=item.votes
        )
        stats = t(lang, "hot_line", replies=thread_link(thread, lang=lang), people=_people(lang, item.participants))
        lines.append(f"{number}. {heading}{subtitle}\n      {stats}")
    blocks += [section(chunk, bid=f"hot:{i}") for i, chunk in enumerate(pack_lines(lines, limit=SECTION_TEXT - 100))]
    blocks.append(context([fit(t(lang, "hot_votes_hint" if votes else "help_hot"), 300)], bid="hot:hint"))
    return message(title, blocks)
