"""chat.*: postMessage, update, postEphemeral, delete, getPermalink, unfurl; messages and reactions.

Seeding (`add_message`), inspection (`messages`, `unfurls`) and `react` live beside
the methods that write the same messages.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from tests.support.fake_slack.errors import ApiError
from tests.support.fake_slack.records import Channel
from tests.support.fake_slack.state import FakeState
from tests.support.fake_slack.validation import validate_blocks, validate_message
from tests.support.fake_slack.wire import flag, message_metadata
from tests.support.fake_slack.workspace import BOT_ID, BOT_USER_ID, USER_ID, WORKSPACE_URL


class ChatMethods(FakeState):
    """chat.* and the messages they leave behind."""

    def add_message(
        self,
        channel: str,
        text: str = "",
        *,
        user: str = USER_ID,
        thread_ts: str | None = None,
        blocks: list[Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        """Seed a message (by default a person's) without validation; returns its ts."""
        with self._changed():
            chan = self._known(channel)
            if thread_ts is not None:
                thread_ts = self._thread_root(chan, thread_ts)
            message = self._store(
                chan, text=text, user=user, blocks=blocks, metadata=metadata, thread_ts=thread_ts
            )
            return str(message["ts"])

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The channel as it is now: top-level messages and replies in ts order.

        Messages carry their metadata and, for parents, Slack's thread fields.
        Raises KeyError for a channel the fake does not know.
        """
        with self._cond:
            chan = self._known(channel)
            threads = chan.threads()
            return [self._view(m, threads, metadata=True) for m in chan.messages]

    def unfurls(self, channel: str, ts: str) -> dict[str, Any]:
        """url -> the unfurl attached to that message by chat.unfurl (empty: none)."""
        with self._cond:
            message = self._known(channel).find(ts)
            if message is None:
                raise KeyError(f"no message {ts} in {channel}")
            return copy.deepcopy(message.get("unfurls", {}))

    def composer_unfurls(self, unfurl_id: str, source: str = "composer") -> dict[str, Any]:
        """url -> the unfurl attached to a link still in the composer."""
        with self._cond:
            return copy.deepcopy(self._composer_unfurls.get(f"{source}:{unfurl_id}", {}))

    def react(self, channel: str, ts: str, user: str, reaction: str, *, added: bool = True) -> dict[str, Any]:
        """A person adds (or removes) a reaction on a message; returns the event Slack sends.

        The message's `reactions` change as in Slack; send the returned event to
        the bot (`RunningBot.event`, or `slack_requests.event_body`).
        """
        with self._changed():
            chan = self._known(channel)
            message = chan.find(ts)
            if message is None:
                raise KeyError(f"no message {ts} in {channel}")
            entries = message.setdefault("reactions", [])
            entry = next((r for r in entries if r["name"] == reaction), None)
            if added:
                if entry is None:
                    entry = {"name": reaction, "users": [], "count": 0}
                    entries.append(entry)
                if user not in entry["users"]:
                    entry["users"].append(user)
            elif entry is not None and user in entry["users"]:
                entry["users"].remove(user)
            if entry is not None:
                entry["count"] = len(entry["users"])
                if not entry["users"]:
                    entries.remove(entry)
            if not entries:
                message.pop("reactions", None)
            event_ts = self._next_ts()
            return {
                "type": "reaction_added" if added else "reaction_removed",
                "user": user,
                "reaction": reaction,
                "item_user": message.get("user"),
                "item": {"type": "message", "channel": channel, "ts": ts},
                "event_ts": event_ts,
            }

    def _chat_post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        chan = self._channel(p)
        validate_message(p.get("text"), p.get("blocks"), p.get("attachments"))
        metadata = message_metadata(p.get("metadata"))
        thread_ts = self._thread_root(chan, p["thread_ts"]) if p.get("thread_ts") else None
        message = self._store(
            chan,
            text=p.get("text") or "",
            user=BOT_USER_ID,
            blocks=p.get("blocks"),
            attachments=p.get("attachments"),
            metadata=metadata,
            thread_ts=thread_ts,
            broadcast=flag(p.get("reply_broadcast")),
        )
        view = self._view(message, {}, metadata=True)
        return {"channel": chan.id, "ts": message["ts"], "message": view}

    def _own_message(self, chan: Channel, ts: Any, cant: str) -> dict[str, Any]:
        message = chan.find(ts)
        if message is None:
            raise ApiError("message_not_found")
        if message.get("bot_id") != BOT_ID:
            raise ApiError(cant)
        return message

    def _chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        chan = self._channel(p, member=False)
        message = self._own_message(chan, p.get("ts"), "cant_update_message")
        validate_message(p.get("text"), p.get("blocks"), p.get("attachments"))
        metadata = message_metadata(p.get("metadata"))
        if "text" in p:
            message["text"] = p["text"] or ""
        for name in ("blocks", "attachments"):  # omitted: kept; empty list: removed
            if name in p:
                if p[name]:
                    message[name] = copy.deepcopy(p[name])
                else:
                    message.pop(name, None)
        if metadata is not None:
            message["metadata"] = metadata
        message["edited"] = {"user": BOT_USER_ID, "ts": self._next_ts()}
        view = self._view(message, chan.threads(), metadata=True)
        return {"channel": chan.id, "ts": message["ts"], "text": message["text"], "message": view}

    def _chat_post_ephemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        self._channel(p)
        if p.get("user") not in self.users:
            raise ApiError("user_not_in_channel")
        validate_message(p.get("text"), p.get("blocks"), p.get("attachments"))
        return {"message_ts": self._next_ts()}

    def _chat_delete(self, p: dict[str, Any]) -> dict[str, Any]:
        chan = self._channel(p, member=False)
        message = self._own_message(chan, p.get("ts"), "cant_delete_message")
        chan.messages.remove(message)
        return {"channel": chan.id, "ts": message["ts"]}

    def _chat_get_permalink(self, p: dict[str, Any]) -> dict[str, Any]:
        chan = self._channel(p, member=False)
        message = chan.find(p.get("message_ts"))
        if message is None:
            raise ApiError("message_not_found")
        link = f"{WORKSPACE_URL}/archives/{chan.id}/p{message['ts'].replace('.', '')}"
        if "thread_ts" in message:
            link += f"?thread_ts={message['thread_ts']}&cid={chan.id}"
        return {"channel": chan.id, "permalink": link}

    def _chat_unfurl(self, p: dict[str, Any]) -> dict[str, Any]:
        """Attach unfurls to a message (channel + ts) or to a link in the composer
        (unfurl_id + source), as Slack does: each URL must be in the message, each
        unfurl's blocks valid; a second call for the same URL replaces its unfurl."""
        unfurls = p.get("unfurls")
        if isinstance(unfurls, str):
            try:
                unfurls = json.loads(unfurls)
            except ValueError:
                raise ApiError("invalid_unfurls_format") from None
        if not isinstance(unfurls, dict) or not unfurls:
            raise ApiError("invalid_unfurls_format")
        for url, unfurl in unfurls.items():
            if not isinstance(unfurl, dict) or not (unfurl.get("blocks") or unfurl.get("text")):
                raise ApiError("invalid_unfurls_format")
            if unfurl.get("blocks") is not None:
                if not isinstance(unfurl["blocks"], list):
                    raise ApiError("invalid_unfurls_format")
                validate_blocks(unfurl["blocks"])
        if p.get("unfurl_id") and p.get("source"):
            key = f"{p['source']}:{p['unfurl_id']}"
            self._composer_unfurls.setdefault(key, {}).update(copy.deepcopy(unfurls))
            return {}
        chan = self._channel(p, member=False)
        message = chan.find(p.get("ts"))
        if message is None:
            raise ApiError("cannot_find_message")
        for url in unfurls:
            if url not in message.get("text", ""):
                raise ApiError("cannot_unfurl_url")
        message.setdefault("unfurls", {}).update(copy.deepcopy(unfurls))
        return {}
