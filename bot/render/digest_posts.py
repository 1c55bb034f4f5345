"""The weekly publisher's posts: a digest's header message, then one message per paper.

Each paper is its own message so that it gets its own thread. A paper already
posted in the channel from another topic is not posted again: the header links
to its earlier message instead.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.i18n import papers, t
from bot.model import Digest, Paper
from bot.render.blocks import Block, Message, context, header, section
from bot.render.cards import card_fallback, paper_card
from bot.render.labels import topic_names, week_range
from bot.render.layout import lines_to_sections, message
from bot.render.mrkdwn import (
    HEADER_TEXT,
    MAX_BLOCKS,
    bold,
    clean,
    fit,
    link,
    plain,
)

#: Text budget of the "already posted" links: the rest of the header is small.
_ALREADY_BUDGET = 8000
_ALREADY_TITLE = 120


def _already_lines(digest: Digest, already_posted: Mapping[str, str]) -> list[str]:
    """One linked line per paper posted before, in the digest's order, then any others."""
    titles = {p.arxiv_id: clean(p.title) for p in digest.papers}
    order = [p.arxiv_id for p in digest.papers if p.arxiv_id in already_posted]
    order += sorted(a for a in already_posted if a not in titles)
    lines = []
    for arxiv_id in order:
        label = titles.get(arxiv_id) or arxiv_id
        linked = link(already_posted[arxiv_id], label, limit=_ALREADY_TITLE)
        lines.append(f"• {linked or fit(arxiv_id, 60)}")
    return lines


def digest_header(
    digest: Digest,
    *,
    lang: str = "en",
    paper_count: int,
    already_posted: Mapping[str, str] | None = None,
) -> Message:
    """The message that opens a digest in its channel: topic, week, paper count, link."""
    names = topic_names(digest.topic)
    span = week_range(lang, digest.week_start, digest.week_end)
    facts = [bold(span), papers(lang, paper_count)]
    if digest.url:
        facts.append(link(digest.url, t(lang, "open_digest")))
    blocks: list[Block] = [
        header(plain(f"📰 {names}", HEADER_TEXT), bid="digest:header"),
        section("  ·  ".join(f for f in facts if f), bid="digest:facts"),
        context([t(lang, "digest_intro")], bid="digest:intro"),
    ]
    lines = _already_lines(digest, already_posted or {})
    if lines:
        blocks += lines_to_sections(
            [bold(t(lang, "already_posted")), *lines],
            lang=lang,
            bid="digest:already",
            max_blocks=MAX_BLOCKS - len(blocks),
            budget=_ALREADY_BUDGET,
        )
    fallback = t(lang, "topic_fallback", topic=names, range=span, papers=papers(lang, paper_count))
    return message(fallback, blocks)


def digest_paper(paper: Paper, digest: Digest, *, lang: str = "en") -> Message:
    """One paper of a digest, posted in the channel to open its discussion thread."""
    blocks = paper_card(paper, lang=lang, full=True, share=False)
    blocks.append(context([t(lang, "digest_discuss")], bid=f"digest:discuss:{paper.arxiv_id[:40]}"))
    prefix = clean(digest.topic.name_ja) or clean(digest.topic.slug)
    return message(f"[{prefix}] {card_fallback(paper)}", blocks)


def digest_held_back(digest: Digest, *, lang: str = "en", held: int, cap: int) -> Message:
    """The reply in a digest header's thread saying how many papers were not posted, and why.

    Sent when a digest holds more papers than a digest may post
    (DIGEST_MAX_PAPERS_PER_DIGEST); edited to say so once none is held back.
    """
    if held <= 0:
        text = t(lang, "digest_none_held_back")
    else:
        text = t(lang, "digest_held_back", n=f"{held:,}", cap=f"{cap:,}", date=digest.week_start.isoformat())
    blocks: list[Block] = [section(text, bid="digest:held_back")]
    if held > 0 and digest.url:
        blocks.append(context([link(digest.url, t(lang, "open_digest"))], bid="digest:held_back:link"))
    return message(text, blocks)
