"""The Home tab: this week's digest per topic, what is new for you, your saved papers, hot threads.

A pure function of a `HomeData` value, like every renderer: the view
(`{"type": "home", "blocks": [...]}`) always holds at most 100 blocks and
stays inside every text limit, whatever the person follows or saved (50
follows, 1,000 saved papers) and whatever the archive holds. Each section
has a fixed budget of blocks; what does not fit is counted and pointed to
the command that shows it. Buttons: follow a topic, unfollow, save a new
paper, remove a saved one, mute or unmute the weekly DM.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.i18n import papers as papers_label
from bot.i18n import t
from bot.model import Paper, ThreadInfo, Topic
from bot.render import actions as act
from bot.render.blocks import Block, actions, block_id, button, context, divider, header, section
from bot.render.cards import card_suffix, thread_link
from bot.render.mrkdwn import (
    BUTTON_VALUE,
    HEADER_TEXT,
    clean,
    fit,
    link,
    plain,
    text_len,
    truncate_escaped,
)
from bot.render.personal import follow_button, query_label

#: Slack's limit for a Home tab.
MAX_VIEW_BLOCKS = 100
#: Blocks per section: the week's topics, new for you, saved papers, hot threads.
TOPICS_SHOWN = 10
PER_TOPIC = 3
NEW_SHOWN = 10
SAVED_SHOWN = 10
HOT_SHOWN = 5
FOLLOWS_LISTED = 10
_TITLE = 160


@dataclass(frozen=True, slots=True)
class TopicWeek:
    """One topic's digest of this week: the topic, how many papers, the first few."""

    topic: Topic
    paper_count: int
    papers: tuple[Paper, ...]
    followed: bool = False


@dataclass(frozen=True, slots=True)
class HomeData:
    """Everything one person's Home tab shows (their own follows and papers only)."""

    user_id: str
    week: dt.date | None = None
    topics: tuple[TopicWeek, ...] = ()
    follows: tuple[tuple[int, str], ...] = ()  # (follow id, query)
    new: tuple[Paper, ...] = ()
    new_total: int = 0
    saved: tuple[Paper, ...] = ()
    saved_total: int = 0
    saved_ids: frozenset[str] = frozenset()
    hot: tuple[tuple[Paper, ThreadInfo], ...] = ()
    threads: Mapping[str, ThreadInfo] = field(default_factory=dict)
    dm_muted: bool = False


def _paper_line(paper: Paper, thread: ThreadInfo | None, lang: str) -> str:
    title = clean(paper.title) or clean(paper.arxiv_id) or "…"
    line = link(paper.abs_url, title, limit=_TITLE, strong=True)
    title_ja = clean(paper.title_ja)
    if title_ja and title_ja != title:
        line += f"\n{fit(title_ja, 120)}"
    if thread is not None:
        line += f"\n{thread_link(thread, lang=lang)}"
    return line


def _paper_block(paper: Paper, data: HomeData, *, where: str, lang: str) -> Block:
    """A paper as one section, with Save (or Remove) beside it."""
    block = section(_paper_line(paper, data.threads.get(paper.arxiv_id), lang), bid=f"home:{where}:{card_suffix(paper, None)}")
    value = paper.arxiv_id if 0 < text_len(paper.arxiv_id) <= BUTTON_VALUE else None
    if value:
        saved = paper.arxiv_id in data.saved_ids
        name = act.PAPER_UNSAVE if saved else act.PAPER_SAVE
        label = t(lang, "unsave_button" if saved else "save_button")
        block["accessory"] = button(label, action_id=block_id(act.action_id(name, f"{where}-{paper.arxiv_id}")), value=value)
    return block


def home_view(data: HomeData, *, lang: str = "en") -> dict[str, Any]:
    """The Home tab for one person."""
    blocks: list[Block] = [header(plain(t(lang, "home_title"), HEADER_TEXT), bid="home:title")]

    # New for you (first: it is what changed), with the follows and the DM switch.
    blocks.append(header(plain(t(lang, "home_new"), HEADER_TEXT), bid="home:new"))
    if not data.follows:
        blocks.append(section(t(lang, "home_no_follows"), bid="home:nofollows"))
    elif not data.new:
        blocks.append(section(t(lang, "home_new_none"), bid="home:nonew"))
    for paper in data.new[:NEW_SHOWN]:
        blocks.append(_paper_block(paper, data, where="new", lang=lang))
    if data.new_total > min(len(data.new), NEW_SHOWN):
        blocks.append(context([t(lang, "and_more", n=f"{data.new_total - min(len(data.new), NEW_SHOWN):,}")], bid="home:newmore"))
    if data.follows:
        listed = ", ".join(f"`{query_label(q, 60).replace('`', 'ʼ')}`" for _, q in data.follows[:FOLLOWS_LISTED])
        if len(data.follows) > FOLLOWS_LISTED:
            listed += " " + t(lang, "and_more", n=len(data.follows) - FOLLOWS_LISTED)
        status = t(lang, "dms_status_off" if data.dm_muted else "dms_status_on")
        # `listed` is mrkdwn already (each query escaped once): shortened, not escaped again.
        blocks.append(context([truncate_escaped(t(lang, "home_follows", queries=listed), 1900), status], bid="home:follows"))
        buttons = [
            button(
                plain(f"{t(lang, 'unfollow_button')}: {clean(q)}", 75),
                action_id=act.action_id(act.UNFOLLOW, f"home-{follow_id}"),
                value=str(follow_id),
            )
            for follow_id, q in data.follows[:FOLLOWS_LISTED]
        ]
        buttons.append(
            button(
                t(lang, "dms_on_button" if data.dm_muted else "dms_off_button"),
                action_id=act.action_id(act.DMS_TOGGLE, "home"),
                value="on" if data.dm_muted else "off",
            )
        )
        blocks.append(actions(buttons, bid="home:followbuttons"))
    blocks.append(divider())

    # This week's digest, per topic: the first papers, a button to follow the topic.
    week = data.week.isoformat() if data.week else ""
    blocks.append(header(plain(t(lang, "home_week", week=week) if data.week else t(lang, "home_week_none"), HEADER_TEXT), bid="home:week"))
    follow_buttons: list[dict[str, Any]] = []
    for topic_week in data.topics[:TOPICS_SHOWN]:
        topic = topic_week.topic
        lines = [t(lang, "home_topic", topic=fit(clean(topic.label), 120), papers=papers_label(lang, topic_week.paper_count))]
        for paper in topic_week.papers[:PER_TOPIC]:
            title = clean(paper.title) or clean(paper.arxiv_id) or "…"
            lines.append(f"• {link(paper.abs_url, title, limit=_TITLE)}")
        blocks.append(section("\n".join(lines), bid=f"home:topic:{topic.slug[:60]}"))
        if not topic_week.followed:
            made = follow_button(clean(topic.name_en or topic.name_ja or topic.slug), f"topic:{topic.slug}", index=f"home-{topic.slug[:60]}", lang=lang)
            if made is not None:
                follow_buttons.append(made)
    if follow_buttons:
        blocks.append(actions(follow_buttons[:25], bid="home:followtopics"))
    blocks.append(divider())

    # Saved papers, newest first, each with Remove.
    blocks.append(header(plain(t(lang, "home_saved", n=f"{data.saved_total:,}"), HEADER_TEXT), bid="home:saved"))
    if not data.saved:
        blocks.append(section(t(lang, "saved_none"), bid="home:nosaved"))
    for paper in data.saved[:SAVED_SHOWN]:
        blocks.append(_paper_block(paper, data, where="saved", lang=lang))
    hidden = data.saved_total - min(len(data.saved), SAVED_SHOWN)
    if hidden > 0:
        blocks.append(context([t(lang, "home_saved_more", n=f"{hidden:,}")], bid="home:savedmore"))
    blocks.append(divider())

    # The month's hot threads.
    blocks.append(header(plain(t(lang, "home_hot"), HEADER_TEXT), bid="home:hot"))
    if not data.hot:
        blocks.append(section(t(lang, "hot_none"), bid="home:nohot"))
    for i, (paper, thread) in enumerate(data.hot[:HOT_SHOWN], start=1):
        blocks.append(section(f"{i}. {_paper_line(paper, thread, lang)}", bid=f"home:hot:{i}"))
    blocks.append(context([t(lang, "home_private")], bid="home:private"))
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}

