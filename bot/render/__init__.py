"""Rendering: every message the bot posts, as pure functions returning Block Kit JSON.

Nothing here calls Slack. The Slack app and the weekly publisher call these
functions and send what they return; `message_to_text` shows the same messages
in a terminal. Every message holds Slack's limits by construction (`violations`).
"""

from bot.render.actions import (
    PAPER_PDF,
    PAPER_SHARE,
    RESULTS_MORE,
    RESULTS_SUGGEST,
    TOPIC_MORE,
    TOPIC_SHOW,
    TRENDS_SHARE,
    WEEK_MORE,
    action_name,
    action_pattern,
    parse_results_value,
    parse_topic_value,
    parse_week_value,
)
from bot.render.cards import paper_card
from bot.render.digest_posts import digest_header, digest_paper
from bot.render.limits import unsafe_markup, violations
from bot.render.messages import (
    error_message,
    help_message,
    paper_detail,
    search_results,
    shared_paper,
    topic_list,
    topic_not_found,
    topic_week,
    week_overview,
)
from bot.render.text import message_to_text

__all__ = [
    "PAPER_PDF",
    "PAPER_SHARE",
    "RESULTS_MORE",
    "RESULTS_SUGGEST",
    "TOPIC_MORE",
    "TOPIC_SHOW",
    "TRENDS_SHARE",
    "WEEK_MORE",
    "action_name",
    "action_pattern",
    "digest_header",
    "digest_paper",
    "error_message",
    "help_message",
    "message_to_text",
    "paper_card",
    "paper_detail",
    "parse_results_value",
    "parse_topic_value",
    "parse_week_value",
    "search_results",
    "shared_paper",
    "topic_list",
    "topic_not_found",
    "topic_week",
    "unsafe_markup",
    "violations",
    "week_overview",
]
