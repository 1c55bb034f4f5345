"""An arXiv link's unfurl: the archive's card, small, with the way back to the paper's thread.

What `chat.unfurl` attaches under a message that pasted an arXiv link: the
English and Japanese titles (linked to arXiv), the first summary bullets,
topics and week, and "💬 N replies — join the discussion" linked to the
paper's thread where it has one. Pure: the Slack listener
(`bot.slack.unfurls`) looks the paper and its thread up and sends this.
Archive text is escaped like everywhere else, so no unfurl can mention anyone.
"""

from __future__ import annotations

from bot.i18n import t
from bot.model import Paper, ThreadInfo
from bot.render.blocks import Block, context, section
from bot.render.mrkdwn import (
    SECTION_TEXT,
    clean,
    fit,
    is_linkable,
    link,
    text_len,
    truncate_escaped,
)

#: Summary bullets an unfurl shows: a preview, not the whole card.
UNFURL_BULLETS = 2
_TITLE = 240
_TITLE_JA = 160
_BULLET = 220
_TOPICS = 4
_TOPIC = 40
_META = 400
_MAX_PERMALINK = 500


def join_label(thread: ThreadInfo, *, lang: str) -> str:
    """"💬 N replies — join the discussion" (or the invitation to start it)."""
    n = thread.reply_count
    if n <= 0:
        return t(lang, "unfurl_join_none")
    return t(lang, "unfurl_join_one") if n == 1 else t(lang, "unfurl_join_many", n=f"{n:,}")


def paper_unfurl(paper: Paper, *, lang: str = "en", thread: ThreadInfo | None = None) -> dict[str, list[Block]]:
    """The `unfurls` value for one URL: `{"blocks": [...]}` within Block Kit's limits."""
    title = clean(paper.title) or clean(paper.arxiv_id) or "…"
    lines = [link(paper.abs_url, title, limit=_TITLE, strong=True)]
    title_ja = clean(paper.title_ja)
    if title_ja and title_ja != title:
        lines.append(fit(title_ja, _TITLE_JA))
    bullets = [b for b in (clean(s) for s in paper.summary) if b]
    lines += [f"• {fit(b, _BULLET)}" for b in bullets[:UNFURL_BULLETS]]
    main = truncate_escaped("\n".join(lines), SECTION_TEXT - 100)
    sfx = paper.arxiv_id[:40]
    blocks: list[Block] = [section(main, bid=f"unfurl:{sfx}:main")]
    meta: list[str] = []
    topics = [f"{fit(clean(tp.name) or tp.slug, _TOPIC)}" for tp in paper.topics if (tp.name or tp.slug)]
    if topics:
        extra = f" +{len(topics) - _TOPICS}" if len(topics) > _TOPICS else ""
        meta.append(truncate_escaped("🏷️ " + ", ".join(topics[:_TOPICS]) + extra, _META))
    week = paper.week_start
    if week is not None:
        meta.append(t(lang, "unfurl_week", date=week.isoformat()))
    if thread is not None:
        label = join_label(thread, lang=lang)
        url = thread.permalink or ""
        meta.append(link(url, label) if is_linkable(url) and text_len(url) <= _MAX_PERMALINK else fit(label, 80))
    if meta:
        blocks.append(context(meta, bid=f"unfurl:{sfx}:meta"))
    return {"blocks": blocks}
