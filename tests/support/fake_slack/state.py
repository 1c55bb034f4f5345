"""`FakeState`: the fake's state and the helpers every API family reads it through.

One lock (`_cond`) guards it all, so tests configure the fake from their own thread
while the bot talks to it; the families are mixins over this base.
"""

from __future__ import annotations

import contextlib
import copy
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from tests.support.fake_slack.errors import ApiError
from tests.support.fake_slack.records import Call, Channel, UploadedFile
from tests.support.fake_slack.wire import format_ts
from tests.support.fake_slack.workspace import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID


class FakeState:
    """The fake's state, set by `FakeSlack._restore`; helpers to be called with the lock held."""

    _cond: threading.Condition
    _version: int
    _last_ts_us: int
    _clock: Callable[[], float]
    tokens: set[str]
    not_member: set[str]
    users: dict[str, str]
    scopes: set[str] | None
    _channels: dict[str, Channel]
    _views: dict[str, list[dict[str, Any]]]
    _files: dict[str, UploadedFile]
    _uploads: dict[str, str]
    _calls: list[Call]
    _responses: dict[str, list[dict[str, Any]]]
    _composer_unfurls: dict[str, dict[str, Any]]

    @property
    def url(self) -> str:
        raise NotImplementedError  # the server's root; FakeSlack knows its port

    @contextlib.contextmanager
    def _changed(self) -> Iterator[None]:
        """Hold the lock for a change, then wake every `wait_for`."""
        with self._cond:
            yield
            self._version += 1
            self._cond.notify_all()

    def _known(self, channel: str) -> Channel:
        chan = self._channels.get(channel)
        if chan is None:
            raise KeyError(f"unknown channel {channel!r}; known: {sorted(self._channels)}")
        return chan

    def _channel(self, params: Mapping[str, Any], *, member: bool = True) -> Channel:
        """The channel a call names (an id or "#name"), checked like Slack does."""
        ref = params.get("channel")
        chan = self._channels.get(ref) if isinstance(ref, str) else None
        if chan is None and isinstance(ref, str) and ref.startswith("#"):
            chan = next((c for c in self._channels.values() if c.name == ref[1:]), None)
        if chan is None:
            raise ApiError("channel_not_found")
        if member and chan.id in self.not_member:
            raise ApiError("not_in_channel")
        return chan

    def _next_ts(self) -> str:
        """Unique, strictly increasing, near the clock: like Slack's ts."""
        us = max(int(self._clock() * 1_000_000), self._last_ts_us + 1)
        self._last_ts_us = us
        return format_ts(us)

    def _thread_root(self, chan: Channel, thread_ts: str) -> str:
        """A reply to a reply lands in the parent's thread, as in Slack."""
        parent = chan.find(thread_ts)
        if parent is None:
            raise ApiError("thread_not_found")
        return str(parent.get("thread_ts", parent["ts"]))

    def _store(
        self,
        chan: Channel,
        *,
        text: str,
        user: str,
        blocks: list[Any] | None = None,
        attachments: list[Any] | None = None,
        metadata: dict[str, Any] | None = None,
        thread_ts: str | None = None,
        broadcast: bool = False,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"type": "message", "user": user, "text": text or ""}
        message["ts"] = self._next_ts()
        message["team"] = TEAM_ID
        if user == BOT_USER_ID:
            message.update(bot_id=BOT_ID, app_id=APP_ID)
        if blocks:
            message["blocks"] = copy.deepcopy(blocks)
        if attachments:
            message["attachments"] = copy.deepcopy(attachments)
        if metadata:
            message["metadata"] = copy.deepcopy(metadata)
        if thread_ts is not None:
            message["thread_ts"] = thread_ts
            if broadcast:
                message["subtype"] = "thread_broadcast"
        chan.messages.append(message)
        return message

    @staticmethod
    def _view(
        message: dict[str, Any], threads: Mapping[str, list[dict[str, Any]]], *, metadata: bool
    ) -> dict[str, Any]:
        """A message as the API returns it: a copy, thread fields on parents."""
        out = copy.deepcopy(message)
        if not metadata:
            out.pop("metadata", None)
        replies = threads.get(message["ts"]) if "thread_ts" not in message else None
        if replies:
            users = list(dict.fromkeys(r["user"] for r in replies))
            out.update(
                thread_ts=message["ts"],
                reply_count=len(replies),
                reply_users=users,
                reply_users_count=len(users),
                latest_reply=replies[-1]["ts"],
            )
        return out

    def _channel_info(self, chan: Channel) -> dict[str, Any]:
        if chan.im_user is not None:
            return {"id": chan.id, "is_im": True, "user": chan.im_user, "is_open": True}
        return {
            "id": chan.id,
            "name": chan.name,
            "is_channel": not chan.private,
            "is_group": chan.private,
            "is_im": False,
            "is_private": chan.private,
            "is_archived": chan.archived,
            "is_member": chan.id not in self.not_member,
        }

    def _require_scope(self, scope: str) -> None:
        if self.scopes is not None and scope not in self.scopes:
            raise ApiError("missing_scope", extra={"needed": scope, "provided": ",".join(sorted(self.scopes))})

    def _need_scope(self, private: bool) -> None:
        """Reading channels needs channels:read (public) or groups:read (private)."""
        needed = "groups:read" if private else "channels:read"
        if self.scopes is not None and needed not in self.scopes:
            raise ApiError("missing_scope", extra={"needed": needed, "provided": ",".join(sorted(self.scopes))})

    def _visible(self, chan: Channel) -> bool:
        """A private channel is seen only by its members (the bot among them)."""
        return not chan.private or chan.id not in self.not_member
