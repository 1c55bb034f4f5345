"""assistant.threads.*: setStatus, setSuggestedPrompts, setTitle (Slack's assistant panel).

Each call is checked like Slack checks it (the required `channel_id`, `thread_ts`, and
`status` / `prompts` / `title`; a channel the fake knows; a thread that exists there),
and what it set is kept per thread: `assistant_thread(channel, thread_ts)`.
`start_assistant_thread(user)` makes the DM and the thread's first message, as Slack
does when a person opens the panel, and hands back the `assistant_thread_started` event.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.support.fake_slack.errors import ApiError
from tests.support.fake_slack.records import Channel
from tests.support.fake_slack.state import FakeState
from tests.support.fake_slack.workspace import BOT_USER_ID, TEAM_ID

#: Suggested prompts Slack accepts at once.
MAX_PROMPTS = 4


def _required(p: dict[str, Any], name: str) -> str:
    value = p.get(name)
    if not isinstance(value, str) or not value.strip():
        raise ApiError("invalid_arguments", [f"[ERROR] missing required field: {name}"])
    return value


class AssistantMethods(FakeState):
    """The assistant panel's thread status, suggested prompts and title."""

    _assistant: dict[tuple[str, str], dict[str, Any]]

    def start_assistant_thread(self, user: str, *, context_channel: str = "C0SD") -> dict[str, Any]:
        """A person opens the assistant panel: their DM with the bot, a new thread in it;
        returns the `assistant_thread_started` event Slack sends (send it with `RunningBot.event`)."""
        with self._changed():
            chan = next((c for c in self._channels.values() if c.im_user == user), None)
            if chan is None:
                chan = Channel(f"D{user.lstrip('UW')}", user.lower(), im_user=user)
                self._channels[chan.id] = chan
            root = self._store(chan, text="New Assistant Thread", user=BOT_USER_ID)
            root["subtype"] = "assistant_app_thread"
            return {
                "type": "assistant_thread_started",
                "assistant_thread": {
                    "user_id": user,
                    "context": {"channel_id": context_channel, "team_id": TEAM_ID, "enterprise_id": None},
                    "channel_id": chan.id,
                    "thread_ts": root["ts"],
                },
                "event_ts": self._next_ts(),
            }

    def assistant_thread(self, channel: str, thread_ts: str) -> dict[str, Any]:
        """What the bot set on one assistant thread: `status`, `prompts` (+ `prompts_title`), `title`."""
        with self._cond:
            return copy.deepcopy(self._assistant.get((channel, thread_ts), {}))

    def _assistant_target(self, p: dict[str, Any]) -> dict[str, Any]:
        channel_id = _required(p, "channel_id")
        thread_ts = _required(p, "thread_ts")
        chan = self._channels.get(channel_id)
        if chan is None:
            raise ApiError("channel_not_found")
        if chan.find(thread_ts) is None:
            raise ApiError("invalid_thread_ts")
        return self._assistant.setdefault((channel_id, thread_ts), {})

    def _assistant_set_status(self, p: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(p.get("status"), str):  # "" clears the status
            raise ApiError("invalid_arguments", ["[ERROR] missing required field: status"])
        self._assistant_target(p)["status"] = p["status"]
        return {}

    def _assistant_set_suggested_prompts(self, p: dict[str, Any]) -> dict[str, Any]:
        prompts = p.get("prompts")
        if isinstance(prompts, str):
            try:
                prompts = json.loads(prompts)
            except ValueError:
                raise ApiError("invalid_arguments", ["[ERROR] prompts must be a JSON array"]) from None
        if not isinstance(prompts, list) or not prompts:
            raise ApiError("invalid_arguments", ["[ERROR] missing required field: prompts"])
        if len(prompts) > MAX_PROMPTS:
            raise ApiError("invalid_arguments", [f"[ERROR] no more than {MAX_PROMPTS} items allowed [json-pointer:/prompts]"])
        for i, prompt in enumerate(prompts):
            if not isinstance(prompt, dict) or not all(
                isinstance(prompt.get(k), str) and prompt[k].strip() for k in ("title", "message")
            ):
                raise ApiError("invalid_arguments", [f"[ERROR] a prompt needs a title and a message [json-pointer:/prompts/{i}]"])
        thread = self._assistant_target(p)
        thread["prompts"] = copy.deepcopy(prompts)
        if p.get("title") is not None:
            thread["prompts_title"] = p["title"]
        return {}

    def _assistant_set_title(self, p: dict[str, Any]) -> dict[str, Any]:
        title = _required(p, "title")
        self._assistant_target(p)["title"] = title
        return {}
