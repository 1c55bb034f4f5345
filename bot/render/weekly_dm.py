"""The weekly DM: a person's new papers of one week, grouped by the follow that found them.

Pure: the groups (already matched and ranked by the search engine) in, one
message out. Each paper is one line (its title linked to arXiv, the Japanese
title, a link to its thread in the channel), at most `PER_FOLLOW` per follow
and `MAX_PAPERS` in all; what does not fit is counted with the search that
shows it. A follow's query is the person's own text (plain): cleaned and
escaped once, a `*` kept from ending the bold it stands in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.i18n import papers as papers_label
from bot.i18n import t
from bot.model import Paper, ThreadInfo
from bot.render.blocks import Block, Message, context, header, section
from bot.render.layout import message, pack_lines
from bot.render.mrkdwn import HEADER_TEXT, SECTION_TEXT, clean, fit, is_linkable, link, plain
from bot.render.personal import bold_query_label, code_inner

#: Papers listed per follow, and in the whole DM.
PER_FOLLOW = 5
MAX_PAPERS = 25
_TITLE = 200
_TITLE_JA = 120


@dataclass(frozen=True, slots=True)
class FollowGroup:
    """The papers one follow found this week (best first), and how many it found in all."""

    query: str
    papers: tuple[Paper, ...]
    total: int


def _line(paper: Paper, thread: ThreadInfo | None, lang: str) -> str:
    title = clean(paper.title) or clean(paper.arxiv_id) or "…"
    line = f"• {link(paper.abs_url, title, limit=_TITLE, strong=True)}"
    title_ja = clean(paper.title_ja)
    if title_ja and title_ja != title:
        line += f"\n      {fit(title_ja, _TITLE_JA)}"
    if thread is not None and thread.permalink and is_linkable(thread.permalink) and len(thread.permalink) <= 500:
        line += f"  {link(thread.permalink, t(lang, 'dm_discuss'))}"
    return line


def weekly_dm(
    week: dt.date,
    groups: Sequence[FollowGroup],
    *,
    threads: Mapping[str, ThreadInfo] | None = None,
    lang: str = "en",
) -> tuple[Message, tuple[str, ...]] | None:
    """The DM for `week` and the arXiv ids it lists, or None when no follow found
    anything (then there is no DM)."""
    threads = threads or {}
    listed: dict[str, None] = {}
    blocks: list[Block] = []
    count = 0
    for i, group in enumerate(groups):
        fresh = [p for p in group.papers if p.arxiv_id not in listed]
        if not fresh:
            continue
        room = min(PER_FOLLOW, MAX_PAPERS - count)
        shown = fresh[:room] if room > 0 else []
        hidden = max(group.total - len([p for p in group.papers if p.arxiv_id in listed]) - len(shown), 0)
        lines = [t(lang, "dm_follow", query=bold_query_label(group.query))]  # "*{query}*"
        lines += [_line(p, threads.get(p.arxiv_id), lang) for p in shown]
        if hidden:
            more = t(lang, "dm_more", n=f"{hidden:,}", query=code_inner(group.query, 120), week=week.isoformat())
            lines.append(more)
        blocks += [section(chunk, bid=f"dm:{i}:{j}") for j, chunk in enumerate(pack_lines(lines, limit=SECTION_TEXT - 100))]
        listed.update(dict.fromkeys(p.arxiv_id for p in shown))
        count += len(shown)
        if len(blocks) > 40:
            break
    if not listed:
        return None
    title = t(lang, "dm_title", week=week.isoformat())
    head: list[Block] = [header(plain(title, HEADER_TEXT), bid="dm:header"), context([t(lang, "dm_intro")], bid="dm:intro")]
    tail: list[Block] = [context([t(lang, "dm_footer")], bid="dm:footer")]
    fallback = t(lang, "dm_fallback", papers=papers_label(lang, len(listed)))
    return message(fallback, [*head, *blocks, *tail]), tuple(listed)
