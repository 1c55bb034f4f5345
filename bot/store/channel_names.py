"""The channel ids that configured `#names` resolved to, kept for commands that ask no Slack.

`digest-bot run` and `post` resolve `DIGEST_CHANNEL(S)` through Slack
(`bot.slack.channels`) and record what they found here, in the `state`
table, so that `status` (which calls no Slack) plans the next run for the
channel the posts were recorded under, not for a name it cannot look up.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from sqlalchemy import Engine

from bot.store import locks
from bot.store.state import get_state, set_state

_KEY = "channel_ids"


def channel_ids(engine: Engine) -> dict[str, str]:
    """`#name` (as configured) → channel id, as last resolved."""
    with locks.snapshot(engine) as conn:
        raw = get_state(conn, _KEY)
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def save_channel_ids(engine: Engine, resolved: Mapping[str, str]) -> None:
    """Remember what names resolved to (ids resolve to themselves and are not kept)."""
    names = {given: cid for given, cid in resolved.items() if given != cid}
    if not names:
        return
    with engine.begin() as conn:
        raw = get_state(conn, _KEY)
        known = json.loads(raw) if raw else {}
        if not isinstance(known, dict):
            known = {}
        known.update(names)
        set_state(conn, _KEY, json.dumps(known, sort_keys=True))
