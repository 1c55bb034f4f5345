"""Browsing the archive: the topic list, a topic's digest, a week, an unknown topic.

A real digest holds 100+ papers, far more than one message: digests are shown a
page of cards at a time, with a "More" button that carries where to go on.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from bot.i18n import papers, t
from bot.model import Digest, Paper, ThreadInfo, Topic
from bot.render import actions as act
from bot.render.blocks import Block, Message, actions, button, context, header, section
from bot.render.cards import paper_card
from bot.render.labels import topic_names, week_range
from bot.render.layout import did_you_mean, lines_to_sections, message, pack_cards
from bot.render.mrkdwn import (
    HEADER_TEXT,
    MAX_BLOCKS,
    MESSAGE_TEXT_BUDGET,
    bold,
    clean,
    code,
    fit,
    link,
    plain,
)
from bot.store.catalog import TopicStats, WeekStats

_MAX_TOPIC_BUTTONS = 5


def topic_list(stats: Sequence[TopicStats], *, lang: str = "en") -> Message:
    """Every topic: its names, slug, papers, weeks and newest week."""
    shown = [s for s in stats if not s.topic.aggregate]
    blocks: list[Block] = [header(plain(t(lang, "topics_title"), HEADER_TEXT), bid="topics:header")]
    if not shown:
        blocks.append(section(t(lang, "no_topics"), bid="topics:none"))
        return message(t(lang, "topics_title"), blocks)
    lines = []
    for s in shown:
        last = s.last_week.isoformat() if s.last_week else "–"
        stats_text = t(
            lang, "topic_stats", papers=papers(lang, s.papers), weeks=f"{s.digests:,}", last=last
        )
        lines.append(
            f"• {bold(fit(topic_names(s.topic), 120))}  {code(s.topic.slug, 40)}  {stats_text}"
        )
    blocks += lines_to_sections(
        lines,
        lang=lang,
        bid="topics:list",
        max_blocks=MAX_BLOCKS - 3,
        budget=MESSAGE_TEXT_BUDGET - 1000,
    )
    example = fit(clean(shown[0].topic.slug).replace("`", ""), 40) or "sd"
    blocks.append(context([t(lang, "topics_hint", example=example)], bid="topics:hint"))
    fallback = t(lang, "topics_title") + ": " + ", ".join(s.topic.slug for s in shown)
    return message(fallback, blocks)


def _digest_link(digest: Digest, lang: str) -> str:
    return link(digest.url, t(lang, "open_digest")) if digest.url else ""


def _paged_cards(
    blocks: list[Block],
    items: Sequence[Paper],
    *,
    offset: int,
    page_size: int,
    threads: Mapping[str, ThreadInfo],
    lang: str,
    bid: str,
    more: Callable[[int], tuple[str, str]],
) -> None:
    """A page of cards from `offset` with its "Papers 6–10 of 136" line and "More" button.

    `more(next_offset)` gives the button's (action_id, value).
    """
    total = len(items)
    offset = max(0, offset)
    page = items[offset : offset + max(1, page_size)]
    if not page:
        key = "no_papers" if total == 0 else "no_more_papers"
        blocks.append(section(t(lang, key), bid=f"{bid}:empty"))
        return
    info_at = len(blocks)

    def info(shown: int) -> Block:
        text = t(
            lang,
            "page_info",
            start=f"{offset + 1:,}",
            end=f"{offset + shown:,}",
            total=f"{total:,}",
        )
        return context([text], bid=f"{bid}:page")

    blocks.append(info(len(page)))
    cards = (
        paper_card(p, lang=lang, thread=threads.get(p.arxiv_id), index=offset + i + 1)
        for i, p in enumerate(page)
    )
    shown = pack_cards(blocks, cards)
    blocks[info_at] = info(shown)
    if offset + shown < total:
        action_id, value = more(offset + shown)
        blocks.append(
            actions(
                [button(t(lang, "more_button"), action_id=action_id, value=value)],
                bid=f"{bid}:more",
            )
        )


def topic_week(
    digest: Digest,
    *,
    lang: str = "en",
    threads: Mapping[str, ThreadInfo] | None = None,
    page_size: int = 5,
    offset: int = 0,
) -> Message:
    """A topic's digest of one week, a page of cards at a time (`/papers topic …`)."""
    names = topic_names(digest.topic)
    span = week_range(lang, digest.week_start, digest.week_end)
    count = len(digest.papers)
    blocks: list[Block] = [
        header(plain(f"📰 {names}", HEADER_TEXT), bid="topic:header"),
        context(
            [
                f"🗓️ {span}",
                papers(lang, count),
                code(digest.topic.slug, 40),
                _digest_link(digest, lang),
            ],
            bid="topic:info",
        ),
    ]
    slug, week = digest.topic.slug, digest.week_start
    _paged_cards(
        blocks,
        digest.papers,
        offset=offset,
        page_size=page_size,
        threads=threads or {},
        lang=lang,
        bid="topic",
        more=lambda nxt: (act.action_id(act.TOPIC_MORE, nxt), act.topic_value(slug, week, nxt)),
    )
    return message(
        t(lang, "topic_fallback", topic=names, range=span, papers=papers(lang, count)), blocks
    )


def week_papers(digests: Sequence[Digest]) -> list[Paper]:
    """The week's distinct papers: in the site's "all" order when there is one, then the rest."""
    ordered = sorted(digests, key=lambda d: (not d.topic.aggregate, d.topic.slug))
    seen: dict[str, Paper] = {}
    for digest in ordered:
        for paper in digest.papers:
            seen.setdefault(paper.arxiv_id, paper)
    return list(seen.values())


def week_overview(
    week: WeekStats,
    digests: Sequence[Digest],
    *,
    lang: str = "en",
    threads: Mapping[str, ThreadInfo] | None = None,
    page_size: int = 5,
    offset: int = 0,
    notice: str | None = None,
) -> Message:
    """One week: papers per topic (first page), then a page of the week's papers as cards.

    `digests` are the week's digests with their papers (`Catalog.digests(week=…, with_papers=True)`).
    `notice` says why this week is shown when another was asked for.
    """
    span = week_range(lang, week.week_start, week.week_end)
    all_papers = week_papers(digests)
    total = max(week.papers, len(all_papers))
    blocks: list[Block] = [
        header(plain(f"🗓️ {t(lang, 'week_title', range=span)}", HEADER_TEXT), bid="week:header"),
        context([papers(lang, total)], bid="week:info"),
    ]
    if notice:
        blocks.append(context([f"ℹ️ {fit(notice, 500)}"], bid="week:notice"))
    topics = sorted(
        (d for d in digests if not d.topic.aggregate), key=lambda d: (-len(d.papers), d.topic.slug)
    )
    if topics and offset <= 0:
        lines = [
            f"• {link(d.url, topic_names(d.topic), limit=100) if d.url else fit(topic_names(d.topic), 100)}"
            f"  {code(d.topic.slug, 40)}  {len(d.papers):,}"
            for d in topics
        ]
        title = bold(t(lang, "by_topic"))
        blocks += lines_to_sections(
            [title, *lines], lang=lang, bid="week:topics", max_blocks=3, budget=2500
        )
        if sum(len(d.papers) for d in topics) > total:  # a paper in two topics is in both lines
            blocks.append(context([t(lang, "counts_overlap")], bid="week:topics:overlap"))
    _paged_cards(
        blocks,
        all_papers,
        offset=offset,
        page_size=page_size,
        threads=threads or {},
        lang=lang,
        bid="week",
        more=lambda nxt: (act.action_id(act.WEEK_MORE, nxt), act.week_value(week.week_start, nxt)),
    )
    return message(f"{t(lang, 'week_title', range=span)}: {papers(lang, total)}", blocks)


def topic_not_found(
    text: str, suggestions: Sequence[Topic], all_topics: Sequence[Topic], *, lang: str = "en"
) -> Message:
    """Say no topic matched, offer the likely ones (as buttons too) and list every topic."""
    asked = clean(text)
    blocks: list[Block] = [
        section(f"🤔 {t(lang, 'topic_not_found', text=fit(asked, 100))}", bid="topic:none")
    ]
    likely = [s for s in suggestions if not s.aggregate][:_MAX_TOPIC_BUTTONS]
    if likely:
        listed = ", ".join(f"{bold(fit(topic_names(s), 80))} {code(s.slug, 40)}" for s in likely)
        buttons = [
            button(
                plain(topic_names(s), 75),
                action_id=act.action_id(act.TOPIC_SHOW, i),
                value=act.topic_value(s.slug, None, 0),
            )
            for i, s in enumerate(likely)
        ]
        blocks += did_you_mean(listed, buttons, lang=lang, bid="topic")
    known = [tp for tp in all_topics if not tp.aggregate]
    if known:
        entries = [f"{code(tp.slug, 40)} {fit(topic_names(tp), 80)}" for tp in known]
        lines = [bold(t(lang, "all_topics")), *(f"• {e}" for e in entries)]
        blocks += lines_to_sections(lines, lang=lang, bid="topic:all", max_blocks=10, budget=6000)
    blocks.append(context([t(lang, "help_hint")], bid="topic:help"))
    return message(t(lang, "topic_not_found", text=asked[:100]), blocks)
