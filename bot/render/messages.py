"""Answers to `/papers`: search results, one paper, a shared paper, errors.

The browsing views (topics, weeks) live in `browse`, the help in `help`; they are
re-exported here so that the Slack app finds every reply in one module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.i18n import CATALOG, papers, t
from bot.model import Paper, ThreadInfo
from bot.render import actions as act
from bot.render.blocks import Block, Message, actions, button, context, section
from bot.render.browse import topic_list, topic_not_found, topic_week, week_overview
from bot.render.cards import card_fallback, paper_card
from bot.render.help import help_message
from bot.render.layout import did_you_mean, message, pack_cards
from bot.render.mrkdwn import ACTIONS_ELEMENTS, clean, fit, plain
from bot.search.results import SearchResponse

__all__ = [
    "error_message",
    "help_message",
    "paper_detail",
    "search_results",
    "shared_paper",
    "topic_list",
    "topic_not_found",
    "topic_week",
    "user_mention",
    "week_overview",
]

#: A Slack user id as the payload gives it: the only thing ever rendered as a mention.
USER_ID_RE = re.compile(r"[UW][A-Z0-9]{2,}")
_QUERY_SHOWN = 100
_NOTICE = 300
_MAX_NOTICES = 5
_MAX_SUGGESTIONS = 5


def user_mention(user_id: str | None) -> str:
    """`<@U123>` for a well-formed user id; "" for anything else (never a raw string)."""
    if isinstance(user_id, str) and len(user_id) <= 32 and USER_ID_RE.fullmatch(user_id):
        return f"<@{user_id}>"
    return ""


def _notices(response: SearchResponse) -> list[Block]:
    notices = [n for n in (clean(n) for n in response.notices) if n][:_MAX_NOTICES]
    return (
        [context([f"ℹ️ {fit(n, _NOTICE)}" for n in notices], bid="results:notices")]
        if notices
        else []
    )


def search_results(
    response: SearchResponse,
    *,
    lang: str = "en",
    threads: Mapping[str, ThreadInfo] | None = None,
    page_size: int = 5,
) -> Message:
    """A page of search hits as cards, with "More results" when there are more."""
    threads = threads or {}
    query = clean(response.query)
    if not response.hits:
        return _no_results(response, lang=lang)
    hits = response.hits[: max(1, page_size)]
    start = response.offset + 1

    def heading(shown: int) -> Block:
        text = t(
            lang,
            "results_header",
            start=f"{start:,}",
            end=f"{response.offset + shown:,}",
            total=f"{max(response.total, response.offset + shown):,}",
            query=fit(query, _QUERY_SHOWN),
        )
        return section(f"🔎 {text}", bid="results:header")

    blocks: list[Block] = [heading(len(hits)), *_notices(response)]
    cards = (
        paper_card(
            hit.paper,
            lang=lang,
            thread=threads.get(hit.paper.arxiv_id),
            index=response.offset + i + 1,
        )
        for i, hit in enumerate(hits)
    )
    shown = pack_cards(blocks, cards)
    blocks[0] = heading(shown)
    next_offset = response.offset + shown
    if next_offset < response.total:
        blocks.append(
            actions(
                [
                    button(
                        t(lang, "more_results_button"),
                        action_id=act.action_id(act.RESULTS_MORE, next_offset),
                        value=act.results_value(query, next_offset),
                    )
                ],
                bid="results:more",
            )
        )
    fallback = t(
        lang, "results_fallback", papers=papers(lang, response.total), query=query[:_QUERY_SHOWN]
    )
    return message(fallback, blocks)


def _no_results(response: SearchResponse, *, lang: str) -> Message:
    """Say nothing matched, offer the "did you mean" suggestions (also as buttons) and help."""
    query = clean(response.query)
    blocks: list[Block] = [
        section(f"🔎 {t(lang, 'no_results', query=fit(query, _QUERY_SHOWN))}", bid="results:none"),
        *_notices(response),
    ]
    suggestions = list(dict.fromkeys(s for s in (clean(s) for s in response.suggestions) if s))
    shown = suggestions[: min(_MAX_SUGGESTIONS, ACTIONS_ELEMENTS)]
    if shown:
        listed = ", ".join(f"“{fit(s, 80)}”" for s in shown)
        buttons = [
            button(
                plain(s, 75),
                action_id=act.action_id(act.RESULTS_SUGGEST, i),
                value=act.results_value(s, 0),
            )
            for i, s in enumerate(shown)
        ]
        blocks += did_you_mean(listed, buttons, lang=lang, bid="results")
    blocks.append(context([t(lang, "help_hint")], bid="results:help"))
    return message(t(lang, "no_results", query=query[:_QUERY_SHOWN]), blocks)


def paper_detail(paper: Paper, *, lang: str = "en", thread: ThreadInfo | None = None) -> Message:
    """`/papers id …`: one paper in full (remark and comment included)."""
    return message(card_fallback(paper), paper_card(paper, lang=lang, thread=thread, full=True))


def shared_paper(
    paper: Paper, *, user_id: str | None, lang: str = "en", thread: ThreadInfo | None = None
) -> Message:
    """A paper posted in channel by "Share in channel", saying who shared it."""
    blocks: list[Block] = []
    mention = user_mention(user_id)
    if mention:
        blocks.append(context([t(lang, "shared_by", user=mention)], bid="shared:by"))
    blocks += paper_card(paper, lang=lang, thread=thread, share=False)
    return message(t(lang, "shared_fallback", title=card_fallback(paper)), blocks)


def error_message(key: str, *, lang: str = "en", **params: object) -> Message:
    """A user-facing error (`search_failed`, `query_too_long`, …); unknown keys say "went wrong"."""
    name = f"error_{key}" if f"error_{key}" in CATALOG else "error_unknown"
    safe = {k: fit(clean(str(v)), 200) for k, v in params.items()}
    raw = {k: clean(str(v))[:200] for k, v in params.items()}
    blocks: list[Block] = [section(f"⚠️ {t(lang, name, **safe)}", bid=f"error:{key[:40]}")]
    return message(t(lang, name, **raw), blocks)
