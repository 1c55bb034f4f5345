"""Names of topics and weeks as the messages show them (in either language)."""

from __future__ import annotations

import datetime as dt

from bot.i18n import t
from bot.model import Topic
from bot.render.mrkdwn import clean


def week_range(lang: str, start: dt.date, end: dt.date) -> str:
    """`2025-01-10 – 2025-01-16` (`2025-01-10〜2025-01-16`)."""
    return t(lang, "week_range", start=start.isoformat(), end=end.isoformat())


def topic_names(topic: Topic) -> str:
    """Raw `合成データ · Synthetic Data`: both names, or the one there is, or the slug."""
    name_ja, name_en = clean(topic.name_ja), clean(topic.name_en)
    if name_ja and name_en and name_en != name_ja:
        return f"{name_ja} · {name_en}"
    return name_ja or name_en or clean(topic.slug) or "?"
