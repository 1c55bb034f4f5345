"""Assemble messages from blocks and cards without ever breaking a message-wide limit.

Cards are added while the block count and the text budget allow, so a caller
learns how many really fit (and pages on from there). `message` is the last
guard: should anything still be too big, trailing blocks give way to "…".
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.i18n import t
from bot.render.blocks import Block, Message, actions, context, divider, section
from bot.render.limits import blocks_text_len
from bot.render.mrkdwn import (
    FALLBACK_TEXT,
    MAX_BLOCKS,
    MESSAGE_TEXT_BUDGET,
    SECTION_TEXT,
    clean,
    fit,
    text_len,
)

#: Room kept after the cards for a "…and N more" line and a "More" button.
TAIL_BLOCKS = 2
TAIL_TEXT = 300


def did_you_mean(listed: str, buttons: list[Block], *, lang: str, bid: str) -> list[Block]:
    """"Did you mean: …?" and one button per guess: an unknown topic and an empty search ask alike."""
    return [
        section(f"{t(lang, 'did_you_mean')}: {listed}?", bid=f"{bid}:suggestions"),
        actions(buttons, bid=f"{bid}:suggest"),
    ]


def pack_cards(
    blocks: list[Block],
    cards: Iterable[list[Block]],
    *,
    tail_blocks: int = TAIL_BLOCKS,
    tail_text: int = TAIL_TEXT,
    separator: bool = True,
) -> int:
    """Append cards (each after a divider) to `blocks` while they fit; return how many did."""
    used_text = blocks_text_len(blocks)
    added = 0
    for card in cards:
        extra = [divider(), *card] if separator else list(card)
        card_text = blocks_text_len(card)
        if len(blocks) + len(extra) + tail_blocks > MAX_BLOCKS:
            break
        if used_text + card_text + tail_text > MESSAGE_TEXT_BUDGET:
            break
        blocks.extend(extra)
        used_text += card_text
        added += 1
    return added


def pack_lines(lines: Iterable[str], *, limit: int) -> list[str]:
    """Group mrkdwn lines into texts of at most `limit` (for one section each)."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if current and text_len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def lines_to_sections(
    lines: Sequence[str], *, lang: str, bid: str, max_blocks: int, budget: int
) -> list[Block]:
    """Lines grouped into sections, cut with "…and N more" past `max_blocks` or `budget`."""
    kept: list[str] = []
    used = 0
    for i, line in enumerate(lines):
        if used + text_len(line) + 1 > budget:
            kept.append(t(lang, "and_more", n=len(lines) - i))
            break
        kept.append(line)
        used += text_len(line) + 1
    chunks = pack_lines(kept, limit=SECTION_TEXT - 100)
    if len(chunks) > max_blocks:
        hidden = sum(c.count("\n") + 1 for c in chunks[max_blocks - 1 :])
        chunks = [*chunks[: max_blocks - 1], t(lang, "and_more", n=hidden)]
    return [section(c, bid=f"{bid}:{i}") for i, c in enumerate(chunks)]


def message(fallback: str, blocks: list[Block]) -> Message:
    """`{"text", "blocks"}`: the fallback escaped and shortened, the blocks within limits.

    `fallback` is raw text (it is a notification, parsed as mrkdwn by Slack, so
    it is escaped here like any archive text).
    """
    text = fit(clean(fallback), FALLBACK_TEXT) or "…"
    return {"text": text, "blocks": _guard(blocks)}


def _guard(blocks: list[Block]) -> list[Block]:
    """Drop trailing blocks until the message fits, marking the cut with "…"."""
    if len(blocks) <= MAX_BLOCKS and blocks_text_len(blocks) <= MESSAGE_TEXT_BUDGET:
        return blocks
    kept = list(blocks)
    while kept and (len(kept) > MAX_BLOCKS - 1 or blocks_text_len(kept) > MESSAGE_TEXT_BUDGET - 10):
        kept.pop()
    while kept and kept[-1].get("type") == "divider":
        kept.pop()
    return [*kept, context(["…"])]
