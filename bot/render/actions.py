"""The interactive elements' action ids and button values: the contract with the Slack app.

Action ids are unique within a message, so every id is `<name>:<suffix>`; the
Slack app matches the name with `action_pattern(name)`. Values are short JSON
objects (`{"q": ..., "o": 5}`) that the app reads back with the `parse_*`
functions, which answer None for anything malformed instead of raising.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Final

from bot.render.mrkdwn import BUTTON_VALUE, text_len

#: The deepest offset a button value may carry: deeper than any list the bot
#: pages through (5 a page: 2,000 clicks on "More"). A value asking for more was
#: not made by the bot: a results_more offset of 1,000,000,000 reached tantivy
#: and killed the process (a 64 GB allocation).
MAX_OFFSET: Final = 10_000

#: "Share in channel" on a card; value: the arXiv id.
PAPER_SHARE: Final = "paper_share"
#: The PDF url button on a card (Slack still sends an action: ack it); value: the arXiv id.
PAPER_PDF: Final = "paper_pdf"
#: Next page of search results; value: {"q": query, "o": offset}.
RESULTS_MORE: Final = "results_more"
#: Run a "did you mean" suggestion; value: {"q": suggestion, "o": 0} (same shape as above).
RESULTS_SUGGEST: Final = "results_suggest"
#: Next page of a topic's digest; value: {"t": slug, "w": "YYYY-MM-DD", "o": offset}.
TOPIC_MORE: Final = "topic_more"
#: Open a topic's newest digest (from "did you mean"); value: {"t": slug, "o": 0}.
TOPIC_SHOW: Final = "topic_show"
#: Next page of a week overview; value: {"w": "YYYY-MM-DD", "o": offset}.
WEEK_MORE: Final = "week_more"
#: Save a paper to the clicker's reading list / remove it; value: the arXiv id.
PAPER_SAVE: Final = "paper_save"
PAPER_UNSAVE: Final = "paper_unsave"
#: Follow a query (a suggestion, a topic, "follow anyway"); value: {"q": query}.
FOLLOW: Final = "follow"
#: Unfollow one of the clicker's follows; value: the follow's id.
UNFOLLOW: Final = "unfollow"
#: Next page of `/papers saved`; value: {"o": offset}.
SAVED_MORE: Final = "saved_more"
#: Weekly DMs on / off for the clicker; value: "on" or "off".
DMS_TOGGLE: Final = "dms_toggle"

#: Share the trends chart in the channel `/papers trends` was typed in; value: a topic slug or "*".
TRENDS_SHARE: Final = "trends_share"
#: Share an answer of `/papers ask` in the channel; value: {"q": question} (asked again on click).
ANSWER_SHARE: Final = "answer_share"


def action_id(name: str, suffix: str | int) -> str:
    """`name:suffix`, unique within a message as long as the suffix is."""
    return f"{name}:{suffix}"


def action_pattern(name: str) -> re.Pattern[str]:
    """The regex a Bolt listener registers for every `name:*` action id."""
    return re.compile(rf"^{re.escape(name)}(:.*)?$")


def action_name(action_id_: str) -> str:
    """The name part of an action id (`paper_share:2408.00707` → `paper_share`)."""
    return action_id_.split(":", 1)[0]


def _dumps(data: dict[str, Any]) -> str:
    """Compact JSON; `<`, `>` and `&` as \\u escapes so no value can even look like a mention."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def results_value(query: str, offset: int) -> str:
    """`{"q": query, "o": offset}`, the query cut (no "…") so the value stays ≤ 2,000."""
    value = _dumps({"q": query, "o": offset})
    if text_len(value) <= BUTTON_VALUE:
        return value
    low, high = 0, len(query)
    while low < high:  # the longest prefix of the query whose JSON fits
        mid = (low + high + 1) // 2
        if text_len(_dumps({"q": query[:mid].rstrip(), "o": offset})) <= BUTTON_VALUE:
            low = mid
        else:
            high = mid - 1
    return _dumps({"q": query[:low].rstrip(), "o": offset})


def topic_value(slug: str, week: dt.date | None, offset: int) -> str:
    data: dict[str, Any] = {"t": slug}
    if week is not None:
        data["w"] = week.isoformat()
    data["o"] = offset
    return _dumps(data)


def week_value(week: dt.date, offset: int) -> str:
    return _dumps({"w": week.isoformat(), "o": offset})


def _load(raw: str | None) -> dict[str, Any] | None:
    try:
        data = json.loads(raw or "")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _offset(data: dict[str, Any]) -> int | None:
    """The value's offset, or None when it is not a whole number in [0, MAX_OFFSET]."""
    offset = data.get("o", 0)
    return (
        offset if isinstance(offset, int) and not isinstance(offset, bool) and 0 <= offset <= MAX_OFFSET else None
    )


def _week(data: dict[str, Any]) -> dt.date | None:
    try:
        return dt.date.fromisoformat(data["w"]) if isinstance(data.get("w"), str) else None
    except ValueError:
        return None


def parse_results_value(raw: str | None) -> tuple[str, int] | None:
    """(query, offset) from a `results_more` / `results_suggest` value, or None."""
    data = _load(raw)
    if data is None or not isinstance(data.get("q"), str) or (offset := _offset(data)) is None:
        return None
    return data["q"], offset


def parse_topic_value(raw: str | None) -> tuple[str, dt.date | None, int] | None:
    """(slug, week or None for the newest, offset) from a `topic_more` / `topic_show` value."""
    data = _load(raw)
    if data is None or not isinstance(data.get("t"), str) or not data["t"]:
        return None
    if (offset := _offset(data)) is None or ("w" in data and _week(data) is None):
        return None
    return data["t"], _week(data), offset


def follow_value(query: str) -> str | None:
    """A follow button's value, `{"q": query}` (None when it cannot fit in a value)."""
    value = _dumps({"q": query})
    return value if query and text_len(value) <= BUTTON_VALUE else None


def parse_follow_value(raw: str | None) -> str | None:
    """The query of a `follow` value, or None."""
    data = _load(raw)
    query = data.get("q") if data is not None else None
    return query if isinstance(query, str) and query.strip() else None


def saved_value(offset: int) -> str:
    return _dumps({"o": offset})


def parse_saved_value(raw: str | None) -> int | None:
    """The offset of a `saved_more` value, or None."""
    data = _load(raw)
    return None if data is None else _offset(data)


def parse_week_value(raw: str | None) -> tuple[dt.date, int] | None:
    """(week start, offset) from a `week_more` value, or None."""
    data = _load(raw)
    if data is None or (week := _week(data)) is None or (offset := _offset(data)) is None:
        return None
    return week, offset


def answer_value(question: str) -> str:
    """`{"q": question}` for "Share in channel" on an answer (the question cut to fit)."""
    return results_value(question, 0)


def parse_answer_value(raw: str | None) -> str | None:
    """The question an answer's share button carries, or None for anything malformed."""
    parsed = parse_results_value(raw)
    return parsed[0] if parsed and parsed[0].strip() else None
