"""A person's own answers: saved papers, follows, confirmations, BibTeX as text, forget me.

Pure functions like every renderer: values in, `{"text", "blocks"}` out,
within Block Kit's limits whatever the archive or the person typed (a follow's
query is user text: cleaned, shortened and escaped like archive text). These
answers go to one person only (ephemeral, their DM or their Home tab).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bot.i18n import papers, t
from bot.model import Paper, ThreadInfo
from bot.render import actions as act
from bot.render.blocks import Block, Message, actions, button, context, header, section
from bot.render.cards import paper_card
from bot.render.layout import message, pack_cards
from bot.render.mrkdwn import (
    BOLD_SAFE_STAR,
    BUTTON_TEXT,
    HEADER_TEXT,
    MAX_BLOCKS,
    MESSAGE_TEXT_BUDGET,
    SECTION_TEXT,
    clean,
    escape,
    fit,
    plain,
    text_len,
    truncate_escaped,
)

#: How much of a follow's query a line shows.
QUERY_SHOWN = 120
#: Follows listed with their own Unfollow button (the rest as numbered lines).
FOLLOW_BUTTONS = 40


def query_label(query: str, limit: int = QUERY_SHOWN) -> str:
    """A follow's query as mrkdwn (user text, plain: cleaned, escaped once, shortened)."""
    return fit(clean(query), limit) or "…"


def bold_query_label(query: str, limit: int = QUERY_SHOWN) -> str:
    """`query_label` for inside `*…*`: a `*` (or a backtick) of the query would end the bold early."""
    return query_label(query.replace("*", BOLD_SAFE_STAR).replace("`", "ʼ"), limit)


def code_inner(query: str, limit: int = QUERY_SHOWN) -> str:
    """A query for inside a code span the text around it opens and closes (backticks
    of the query would end it early: replaced)."""
    return fit(clean(query).replace("`", "ʼ"), limit) or "…"


def _code(query: str, limit: int = QUERY_SHOWN) -> str:
    """A query as a code span of its own."""
    return f"`{code_inner(query, limit)}`"


def notice(key: str, *, lang: str = "en", **params: object) -> Message:
    """A one-line answer ("Saved …", "Unfollowed …"): parameters are user or archive text."""
    safe = {k: v if isinstance(v, int) else fit(clean(str(v)), 200) for k, v in params.items()}
    raw = {k: v if isinstance(v, int) else clean(str(v))[:200] for k, v in params.items()}
    return message(t(lang, key, **raw), [section(t(lang, key, **safe), bid=f"notice:{key[:40]}")])


def follow_button(label: str, query: str, *, index: int | str, anyway: bool = False, lang: str = "en") -> dict[str, object] | None:
    """A button that follows `query` (plain text) for the clicker (None when the query cannot be a value).

    The value is read back like text typed in Slack (`bot.personal.follows.follow_query`), so it
    carries the query as Slack would send it: `&` as `&amp;`."""
    value = act.follow_value(query.replace("&", "&amp;"))
    if value is None:
        return None
    text = t(lang, "follow_anyway_button") if anyway else t(lang, "follow_button", what=plain(label, BUTTON_TEXT - 12))
    return button(plain(text, BUTTON_TEXT), action_id=act.action_id(act.FOLLOW, index), value=value)


def follow_saved(query: str, *, recent: int, weeks: int, dropped_dates: bool, lang: str = "en") -> Message:
    """`/papers follow …` saved: how much it matched lately, and what the DM will be."""
    text = t(lang, "follow_done", query=query_label(query), n=papers(lang, recent), weeks=weeks)
    blocks: list[Block] = [section(text, bid="follow:done")]
    if dropped_dates:
        blocks.append(context([t(lang, "follow_no_dates")], bid="follow:dates"))
    fallback = t(lang, "follow_done", query=clean(query)[:200], n=papers(lang, recent), weeks=weeks)
    return message(fallback, blocks)


def follow_nothing(query: str, suggestions: Sequence[str], *, lang: str = "en") -> Message:
    """A follow that matches nothing: not saved; suggestions to follow instead, or anyway."""
    blocks: list[Block] = [section(f"🔎 {t(lang, 'follow_nothing', query=query_label(query))}", bid="follow:nothing")]
    shown = [s for s in dict.fromkeys(clean(s) for s in suggestions) if s][:5]
    buttons = [b for i, s in enumerate(shown) if (b := follow_button(s, s, index=i, lang=lang)) is not None]
    if buttons:
        listed = ", ".join(_code(s, 80) for s in shown)
        blocks.append(section(f"{t(lang, 'follow_try')}: {listed}", bid="follow:try"))
    anyway = follow_button(query, query, index="anyway", anyway=True, lang=lang)
    if anyway is not None:
        buttons.append(anyway)
    if buttons:
        blocks.append(actions(buttons, bid="follow:buttons"))
    return message(t(lang, "follow_nothing", query=clean(query)[:200]), blocks)


def following_list(
    follows: Sequence[tuple[int, str, int]], *, muted: bool, weeks: int, lang: str = "en"
) -> Message:
    """`/papers following`: (follow id, query, recent matches) each with Unfollow; the DM switch."""
    title = t(lang, "following_title", n=len(follows))
    blocks: list[Block] = [header(plain(title, HEADER_TEXT), bid="following:header")]
    if not follows:
        blocks.append(section(t(lang, "following_none"), bid="following:none"))
    rest: list[str] = []
    for i, (follow_id, query, recent) in enumerate(follows, start=1):
        # The line's template puts the query in `code` itself.
        line = t(lang, "following_line", i=i, query=code_inner(query), n=papers(lang, recent), weeks=weeks)
        if i > FOLLOW_BUTTONS:
            rest.append(line)
            continue
        block = section(line, bid=f"following:{follow_id}")
        block["accessory"] = button(
            t(lang, "unfollow_button"), action_id=act.action_id(act.UNFOLLOW, follow_id), value=str(follow_id)
        )
        blocks.append(block)
    if rest:
        text = "\n".join(rest)
        blocks.append(section(truncate_escaped(text, SECTION_TEXT - 10), bid="following:rest"))
    status = t(lang, "dms_status_off" if muted else "dms_status_on")
    blocks.append(context([status], bid="following:status"))
    toggle = button(
        t(lang, "dms_on_button" if muted else "dms_off_button"),
        action_id=act.action_id(act.DMS_TOGGLE, "following"),
        value="on" if muted else "off",
    )
    blocks.append(actions([toggle], bid="following:dms"))
    return message(title, blocks)


def saved_list(
    papers: Sequence[Paper],
    *,
    total: int,
    offset: int,
    threads: Mapping[str, ThreadInfo] | None = None,
    page_size: int = 5,
    lang: str = "en",
) -> Message:
    """`/papers saved`: a page of the reading list, newest first, each with Remove."""
    title = t(lang, "saved_title", n=f"{total:,}")
    blocks: list[Block] = [header(plain(title, HEADER_TEXT), bid="saved:header")]
    if not papers:
        blocks.append(section(t(lang, "saved_none" if total == 0 else "and_more", n=total), bid="saved:none"))
        return message(title, blocks)
    threads = threads or {}
    cards = (
        paper_card(p, lang=lang, thread=threads.get(p.arxiv_id), index=offset + i + 1, saved=True)
        for i, p in enumerate(papers[: max(1, page_size)])
    )
    shown = pack_cards(blocks, cards, tail_blocks=3)
    page = t(lang, "saved_page", start=f"{offset + 1:,}", end=f"{offset + shown:,}", total=f"{total:,}")
    blocks.append(context([page, t(lang, "saved_hint")], bid="saved:hint"))
    if offset + shown < total:
        more = button(
            t(lang, "more_button"), action_id=act.action_id(act.SAVED_MORE, offset + shown), value=act.saved_value(offset + shown)
        )
        blocks.append(actions([more], bid="saved:more"))
    return message(title, blocks)


def bibtex_text(text: str, count: int, *, lang: str = "en") -> Message:
    """The BibTeX in the message itself (when the upload failed), cut at entries to fit."""
    entries = [e for e in text.split("\n@") if e.strip()]
    entries = [e if e.startswith("@") else f"@{e}" for e in entries]
    blocks: list[Block] = [section(t(lang, "bibtex_text", n=count), bid="bibtex:intro")]
    budget = MESSAGE_TEXT_BUDGET - 600
    used = 0
    chunk: list[str] = []
    shown = 0

    def flush() -> None:
        if chunk:
            blocks.append(section("```" + escape("\n".join(chunk)) + "```", bid=f"bibtex:{len(blocks)}"))
            chunk.clear()

    for entry in entries:
        size = text_len(escape(entry)) + 1
        if used + size > budget or len(blocks) >= MAX_BLOCKS - 3 or size > SECTION_TEXT - 20:
            break
        if text_len(escape("\n".join([*chunk, entry]))) > SECTION_TEXT - 20:
            flush()
        chunk.append(entry.rstrip("\n"))
        used += size
        shown += 1
    flush()
    if shown < len(entries):
        blocks.append(context([t(lang, "bibtex_cut", n=len(entries) - shown)], bid="bibtex:cut"))
    return message(t(lang, "bibtex_comment", n=count), blocks)


def forget_done(counts: Mapping[str, int], *, lang: str = "en") -> Message:
    """`/papers forget me`: what was deleted."""
    params = {k: f"{counts.get(k, 0):,}" for k in ("follows", "saved", "votes", "replies", "dms")}
    return message(t(lang, "forget_done", **params), [section(t(lang, "forget_done", **params), bid="forget:done")])


__all__ = [
    "bibtex_text",
    "bold_query_label",
    "code_inner",
    "follow_button",
    "follow_nothing",
    "follow_saved",
    "following_list",
    "forget_done",
    "notice",
    "query_label",
    "saved_list",
]
