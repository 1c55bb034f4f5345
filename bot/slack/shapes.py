"""Whether a signed request's body has the shape Slack gives it, before any listener reads it.

A signature proves who sent a body, not that its fields have the types the
listeners expect: `actions: []`, `user` as a string in a button click, a
reaction whose `item` is a list, a numeric `channel`, an `event_ts` of
"Infinity" used to reach Bolt or a worker and end as a 500 with a traceback
(or an exception in the writes worker). `problem` names the first field that
is not shaped like Slack's, so `bot.slack.http` refuses the request with a 400
and one log line. Pure: no I/O, never raises.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: A Slack timestamp: seconds (at most 10 digits: up to the year 2286), then microseconds.
SLACK_TS = re.compile(r"\d{1,10}(\.\d{1,9})?")

#: Fields of an interaction payload that are objects whenever Slack sends them.
_INTERACTION_OBJECTS = ("user", "team", "container", "channel", "view", "message")
_INTERACTION_TEXTS = ("response_url", "trigger_id", "type")

#: The events the bot listens to, and which of their fields are text / Slack timestamps.
_EVENT_TEXTS = (
    "type", "user", "channel", "text", "reaction", "item_user", "tab", "subtype",
    "bot_id", "channel_type", "message_ts", "unfurl_id", "source",
)
_TIMED_EVENTS = frozenset({"message", "app_mention", "reaction_added", "reaction_removed", "app_home_opened"})
_EVENT_TIMES = ("ts", "thread_ts", "event_ts")


def is_slack_ts(value: Any) -> bool:
    """A Slack ts ("1737700000.000100"): digits, not "Infinity", "1e400" or "nan"."""
    return isinstance(value, str) and SLACK_TS.fullmatch(value) is not None


def problem(body: Mapping[str, Any]) -> str | None:
    """What in a parsed body is not shaped like Slack's (None: nothing found)."""
    kind = body.get("type")
    if kind == "event_callback":
        return _event_problem(body.get("event"))
    if kind in ("block_actions", "interactive_message", "view_submission", "view_closed", "shortcut", "message_action"):
        return _interaction_problem(body)
    return None


def _interaction_problem(body: Mapping[str, Any]) -> str | None:
    for name in _INTERACTION_OBJECTS:
        if body.get(name) is not None and not isinstance(body[name], dict):
            return f"`{name}` is not an object"
    for name in _INTERACTION_TEXTS:
        if body.get(name) is not None and not isinstance(body[name], str):
            return f"`{name}` is not text"
    user = body.get("user")
    if isinstance(user, dict) and user.get("id") is not None and not isinstance(user["id"], str):
        return "`user.id` is not text"
    if body.get("type") != "block_actions":
        return None
    actions = body.get("actions")
    if not isinstance(actions, list) or not actions:
        return "`actions` is not a list of actions"
    for action in actions:
        if not isinstance(action, dict) or not isinstance(action.get("action_id"), str):
            return "an action is not an object with an `action_id`"
        if action.get("value") is not None and not isinstance(action["value"], str):
            return "an action's `value` is not text"
    return None


def _event_problem(event: Any) -> str | None:
    if not isinstance(event, dict):
        return "`event` is not an object"
    for name in _EVENT_TEXTS:
        if event.get(name) is not None and not isinstance(event[name], str):
            return f"`event.{name}` is not text"
    if event.get("type") in _TIMED_EVENTS:
        for name in _EVENT_TIMES:
            if event.get(name) is not None and not is_slack_ts(event[name]):
                return f"`event.{name}` is not a Slack timestamp"
    item = event.get("item")
    if item is not None:
        if not isinstance(item, dict):
            return "`event.item` is not an object"
        for name in ("type", "channel"):
            if item.get(name) is not None and not isinstance(item[name], str):
                return f"`event.item.{name}` is not text"
        if item.get("ts") is not None and not is_slack_ts(item["ts"]):
            return "`event.item.ts` is not a Slack timestamp"
    thread = event.get("assistant_thread")
    if thread is not None:  # the assistant panel's events (bolt reads channel_id and thread_ts)
        if not isinstance(thread, dict):
            return "`event.assistant_thread` is not an object"
        if not isinstance(thread.get("channel_id"), str) or not is_slack_ts(thread.get("thread_ts")):
            return "`event.assistant_thread` has no channel_id and Slack thread_ts"
        if thread.get("context") is not None and not isinstance(thread["context"], dict):
            return "`event.assistant_thread.context` is not an object"
    links = event.get("links")
    if links is not None and (
        not isinstance(links, list) or not all(isinstance(link, dict) and isinstance(link.get("url"), str) for link in links)
    ):
        return "`event.links` is not a list of links"
    return None
