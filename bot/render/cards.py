"""A paper as a Slack card: both titles, authors, summary bullets, metadata, buttons.

One card is a few blocks (text, metadata, buttons) that any message can hold
several of: every block and action id carries the card's suffix. Sizes are
fixed per field so that five compact cards always fit in one message, and a
full card (one paper) stays well inside the message budget whatever the archive
holds (150 authors, a 20,000-character comment, 40 bullets, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.i18n import replies, t, votes_label
from bot.model import Paper, ThreadInfo
from bot.render import actions as act
from bot.render.blocks import Block, actions, block_id, button, context, section
from bot.render.mrkdwn import (
    BUTTON_VALUE,
    SECTION_TEXT,
    bold,
    clean,
    fit,
    is_linkable,
    link,
    text_len,
    truncate_escaped,
)


@dataclass(frozen=True, slots=True)
class _Sizes:
    """How much of each field a card shows (UTF-16 units, after escaping)."""

    title: int
    title_ja: int
    bullets: int
    bullet: int
    authors_head: int  # shown before "… last (+N more)" when there are too many
    authors_max: int  # at most this many names are shown in full
    author: int
    authors_line: int
    meta: int
    remark: int
    comment: int


COMPACT = _Sizes(
    title=240,
    title_ja=140,
    bullets=4,
    bullet=200,
    authors_head=3,
    authors_max=6,
    author=60,
    authors_line=300,
    meta=300,
    remark=0,
    comment=0,
)
FULL = _Sizes(
    title=400,
    title_ja=300,
    bullets=8,
    bullet=400,
    authors_head=10,
    authors_max=15,
    author=80,
    authors_line=900,
    meta=500,
    remark=800,
    comment=800,
)
_MAX_TOPICS = 5
_MAX_CATEGORIES = 3
_MAX_PERMALINK = 500
_MAX_SUFFIX_ID = 40


def card_suffix(paper: Paper, index: int | None) -> str:
    """What makes this card's ids unique in a message: its position and/or arXiv id."""
    arxiv_id = paper.arxiv_id[:_MAX_SUFFIX_ID]
    return arxiv_id if index is None else f"{index}-{arxiv_id}"


def authors_line(authors: Sequence[str], *, lang: str, full: bool = False) -> str:
    """`A, B, C, … Z (+N more)` when there are many: who wrote it, at a glance."""
    sizes = FULL if full else COMPACT
    names = [n for n in (clean(a) for a in authors) if n]
    if len(names) > sizes.authors_max:
        hidden = len(names) - sizes.authors_head - 1
        shown = [*names[: sizes.authors_head], "…", names[-1]]
        more = f" ({t(lang, 'authors_more', n=hidden)})"
    else:
        shown, more = names, ""
    parts = [name if name == "…" else fit(name, sizes.author) for name in shown]
    line = ", ".join(parts).replace(", …,", " …")
    return truncate_escaped(line, sizes.authors_line - text_len(more)) + more if line else ""


def _join_lines(head: list[str], items: list[str], *, hidden: int, limit: int, lang: str) -> str:
    """Head lines, then as many item lines as fit in `limit`, then "…and N more points"."""
    text = "\n".join(head)
    for i, item in enumerate(items):
        rest = len(items) - i - 1 + hidden
        more = t(lang, "summary_more", n=rest) if rest else ""
        candidate = f"{text}\n{item}" if text else item
        if text_len(candidate) + text_len(more) + 1 > limit:
            hidden += len(items) - i
            break
        text = candidate
    return f"{text}\n{t(lang, 'summary_more', n=hidden)}" if hidden else text


def _main_text(paper: Paper, sizes: _Sizes, *, lang: str, index: int | None) -> str:
    title = clean(paper.title) or clean(paper.arxiv_id) or "…"
    first = link(paper.abs_url, title, limit=sizes.title, strong=True)
    if index is not None:
        first = f"{index}. {first}"
    head = [first]
    title_ja = clean(paper.title_ja)
    if title_ja and title_ja != title:
        head.append(fit(title_ja, sizes.title_ja))
    bullets = [f"• {fit(b, sizes.bullet)}" for b in (clean(s) for s in paper.summary) if b]
    shown = bullets[: sizes.bullets]
    return _join_lines(
        head, shown, hidden=len(bullets) - len(shown), limit=SECTION_TEXT - 100, lang=lang
    )


def _notes_text(paper: Paper, sizes: _Sizes, *, lang: str) -> str:
    """The editor's remark and arXiv comment, for a full card."""
    parts = []
    remark = clean(paper.remark, multiline=True)
    if remark:
        parts.append(f"💡 {bold(t(lang, 'remark'))}  {fit(remark, sizes.remark)}")
    comment = clean(paper.comment, multiline=True)
    if comment:
        parts.append(f"📝 {bold(t(lang, 'comment'))}  {fit(comment, sizes.comment)}")
    return "\n".join(parts)


def meta_line(paper: Paper, *, lang: str, full: bool = False) -> str:
    """Topics (Japanese name + slug), categories (shortened) and the posted date."""
    sizes = FULL if full else COMPACT
    parts: list[str] = []
    topics = [
        f"{fit(clean(tp.name) or tp.slug, 40)} ({fit(clean(tp.slug), 20)})" for tp in paper.topics
    ]
    if topics:
        extra = f" +{len(topics) - _MAX_TOPICS}" if len(topics) > _MAX_TOPICS else ""
        parts.append("🏷️ " + ", ".join(topics[:_MAX_TOPICS]) + extra)
    categories = [fit(c, 24) for c in (clean(c) for c in paper.categories) if c]
    if categories:
        shown = ", ".join(categories[:_MAX_CATEGORIES])
        if len(categories) > _MAX_CATEGORIES:
            shown += " " + t(lang, "categories_more", n=len(categories) - _MAX_CATEGORIES)
        parts.append(shown)
    if paper.posted_at is not None:
        parts.append("📅 " + t(lang, "posted", date=paper.posted_at.strftime("%Y-%m-%d")))
    return truncate_escaped("  ·  ".join(parts), sizes.meta)


def thread_link(thread: ThreadInfo, *, lang: str) -> str:
    """The reply count linked to the thread ("💬 Discuss in thread" before any reply),
    and the paper's votes beside it once it has some ("👍 3 votes")."""
    label = replies(lang, thread.reply_count)
    url = thread.permalink or ""
    shown = link(url, label) if is_linkable(url) and text_len(url) <= _MAX_PERMALINK else fit(label, 80)
    return f"{shown} · {votes_label(lang, thread.votes)}" if thread.votes > 0 else shown


def paper_card(
    paper: Paper,
    *,
    lang: str = "en",
    thread: ThreadInfo | None = None,
    full: bool = False,
    index: int | None = None,
    share: bool = True,
    save: bool = True,
    saved: bool = False,
) -> list[Block]:
    """The blocks of one paper: titles + bullets, (notes), metadata, buttons.

    `index` numbers the card ("3.") and keeps its ids unique in a list; `share`
    adds the "Share in channel" button (not wanted where the card is already
    posted in a channel); `save` the "Save" button (a reading list is personal:
    the click answers only the person who clicked), or "Remove" when `saved`.
    """
    sizes = FULL if full else COMPACT
    sfx = card_suffix(paper, index)
    blocks: list[Block] = [
        section(_main_text(paper, sizes, lang=lang, index=index), bid=f"card:{sfx}:main")
    ]
    if full:
        notes = _notes_text(paper, sizes, lang=lang)
        if notes:
            blocks.append(section(notes, bid=f"card:{sfx}:notes"))
    meta = [
        authors_line(paper.authors, lang=lang, full=full),
        meta_line(paper, lang=lang, full=full),
    ]
    if thread is not None:
        meta.append(thread_link(thread, lang=lang))
    if any(m.strip() for m in meta):
        blocks.append(context(meta, bid=f"card:{sfx}:meta"))
    buttons = []
    value = paper.arxiv_id if 0 < text_len(paper.arxiv_id) <= BUTTON_VALUE else None
    if share and value:
        buttons.append(
            button(
                t(lang, "share_button"),
                action_id=block_id(act.action_id(act.PAPER_SHARE, sfx)),
                value=value,
            )
        )
    if value and is_linkable(paper.pdf_url):
        buttons.append(
            button(
                t(lang, "pdf_button"),
                action_id=block_id(act.action_id(act.PAPER_PDF, sfx)),
                value=value,
                url=paper.pdf_url,
            )
        )
    if save and value:
        name = act.PAPER_UNSAVE if saved else act.PAPER_SAVE
        label = t(lang, "unsave_button" if saved else "save_button")
        buttons.append(button(label, action_id=block_id(act.action_id(name, sfx)), value=value))
    if buttons:
        blocks.append(actions(buttons, bid=f"card:{sfx}:actions"))
    return blocks


def card_fallback(paper: Paper) -> str:
    """The notification text for a card: English title, then the Japanese one."""
    title = clean(paper.title) or clean(paper.arxiv_id) or "…"
    title_ja = clean(paper.title_ja)
    return f"{title} / {title_ja}" if title_ja and title_ja != title else title
