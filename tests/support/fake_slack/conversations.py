"""conversations.*: history, replies (paged by cursor), info, list, join, open (DMs); scopes.

Seeding (`add_channel`) and the DM look-ups (`dm_channel`, `dms`) sit beside them.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from tests.support.fake_slack.errors import ApiError
from tests.support.fake_slack.records import Channel
from tests.support.fake_slack.state import FakeState
from tests.support.fake_slack.wire import as_int, decode_cursor, encode_cursor, flag, ts_us
from tests.support.fake_slack.workspace import BOT_USER_ID


class ConversationsMethods(FakeState):
    """conversations.* over the fake's channels."""

    if TYPE_CHECKING:  # ChatMethods', beside this class in FakeSlack

        def messages(self, channel: str) -> list[dict[str, Any]]: ...

    def add_channel(
        self,
        channel_id: str,
        name: str | None = None,
        *,
        member: bool = True,
        private: bool = False,
        archived: bool = False,
    ) -> None:
        """Make a channel known (and, unless `member`, one the bot is not in)."""
        with self._changed():
            chan = self._channels.setdefault(channel_id, Channel(channel_id, name or channel_id.lower()))
            chan.private, chan.archived = private, archived
            (self.not_member.discard if member else self.not_member.add)(channel_id)

    def dm_channel(self, user: str) -> str | None:
        """The id of the bot's direct message channel with `user`, once conversations.open made it."""
        with self._cond:
            return next((c.id for c in self._channels.values() if c.im_user == user), None)

    def dms(self, user: str) -> list[dict[str, Any]]:
        """The bot's direct messages with `user` (empty before any conversations.open)."""
        channel = self.dm_channel(user)
        return self.messages(channel) if channel is not None else []

    def _page(
        self, messages: list[dict[str, Any]], p: Mapping[str, Any], *, newest_first: bool
    ) -> tuple[list[dict[str, Any]], str]:
        """Apply oldest/latest/inclusive, order, cursor and limit; return (page, next_cursor)."""
        inclusive = flag(p.get("inclusive"))
        oldest = ts_us(p["oldest"], "invalid_ts_oldest") if p.get("oldest") else None
        latest = ts_us(p["latest"], "invalid_ts_latest") if p.get("latest") else None

        def in_window(t: int) -> bool:
            above = oldest is None or t > oldest or (inclusive and t == oldest)
            below = latest is None or t < latest or (inclusive and t == latest)
            return above and below

        items = [m for m in messages if in_window(ts_us(m["ts"]))]
        if newest_first:
            items.reverse()
        if p.get("cursor"):
            start = decode_cursor(str(p["cursor"]))
            items = [
                m
                for m in items
                if (ts_us(m["ts"]) <= start if newest_first else ts_us(m["ts"]) >= start)
            ]
        limit = as_int(p.get("limit"), 100)
        limit = 100 if limit <= 0 else min(limit, 999)
        page, rest = items[:limit], items[limit:]
        return page, encode_cursor(rest[0]["ts"]) if rest else ""

    def _conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        chan = self._channel(p)
        top_level = [
            m
            for m in chan.messages
            if "thread_ts" not in m or m.get("subtype") == "thread_broadcast"
        ]
        page, next_cursor = self._page(top_level, p, newest_first=True)
        threads, metadata = chan.threads(), flag(p.get("include_all_metadata"))
        return {
            "messages": [self._view(m, threads, metadata=metadata) for m in page],
            "has_more": bool(next_cursor),
            "pin_count": 0,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        chan = self._channel(p)
        if not p.get("ts") or chan.find(p["ts"]) is None:
            raise ApiError("thread_not_found")
        root_ts = self._thread_root(chan, p["ts"])
        parent = chan.find(root_ts)
        if parent is None:
            raise ApiError("thread_not_found")
        threads = chan.threads()
        thread = [parent, *threads.get(root_ts, [])]
        page, next_cursor = self._page(thread, p, newest_first=False)
        metadata = flag(p.get("include_all_metadata"))
        return {
            "messages": [self._view(m, threads, metadata=metadata) for m in page],
            "has_more": bool(next_cursor),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _conversations_info(self, p: dict[str, Any]) -> dict[str, Any]:
        # Only ids here: unlike chat.postMessage, Slack does not take "#name".
        ref = p.get("channel")
        chan = self._channels.get(ref) if isinstance(ref, str) else None
        if chan is None or not self._visible(chan):
            self._need_scope(private=False)
            raise ApiError("channel_not_found")
        self._need_scope(chan.private)
        return {"channel": self._channel_info(chan)}

    def _conversations_list(self, p: dict[str, Any]) -> dict[str, Any]:
        """Public and/or private channels by id, `exclude_archived`, cursor pages of `limit`."""
        types = {t.strip() for t in str(p.get("types") or "public_channel").split(",") if t.strip()}
        if not types <= {"public_channel", "private_channel", "im", "mpim"}:
            raise ApiError("invalid_types")
        if "public_channel" in types:
            self._need_scope(private=False)
        if "private_channel" in types:
            self._need_scope(private=True)
        wanted = [
            c
            for _, c in sorted(self._channels.items())
            if ("private_channel" if c.private else "public_channel") in types
            and self._visible(c)
            and not (c.archived and flag(p.get("exclude_archived")))
        ]
        start = 0
        if p.get("cursor"):
            ids = [c.id for c in wanted]
            try:
                start = ids.index(base64.b64decode(str(p["cursor"])).decode().removeprefix("next_id:"))
            except (ValueError, UnicodeDecodeError):
                raise ApiError("invalid_cursor") from None
        limit = as_int(p.get("limit"), 100)
        limit = 100 if limit <= 0 else min(limit, 1000)
        page, rest = wanted[start : start + limit], wanted[start + limit :]
        cursor = base64.b64encode(f"next_id:{rest[0].id}".encode()).decode() if rest else ""
        return {
            "channels": [self._channel_info(c) for c in page],
            "response_metadata": {"next_cursor": cursor},
        }

    def _conversations_join(self, p: dict[str, Any]) -> dict[str, Any]:
        chan = self._channel(p, member=False)
        answer: dict[str, Any] = {}
        if chan.id not in self.not_member:
            answer["warning"] = "already_in_channel"
        self.not_member.discard(chan.id)
        return {"channel": self._channel_info(chan), **answer}

    def _conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        """A direct message channel with one person (scope im:write): made once, then the same."""
        self._require_scope("im:write")
        if p.get("channel"):
            chan = self._channels.get(str(p["channel"]))
            if chan is None or chan.im_user is None:
                raise ApiError("channel_not_found")
            return {"channel": {"id": chan.id}, "already_open": True}
        users = [u.strip() for u in str(p.get("users") or "").split(",") if u.strip()]
        if not users:
            raise ApiError("users_list_not_supplied")
        if len(users) > 1:
            raise ApiError("not_supported", ["[ERROR] the fake opens one-person DMs only"])
        user = users[0]
        if user not in self.users:
            raise ApiError("user_not_found")
        if user == BOT_USER_ID:
            raise ApiError("cannot_dm_bot")
        existing = next((c for c in self._channels.values() if c.im_user == user), None)
        if existing is not None:
            answer: dict[str, Any] = {"channel": self._channel_info(existing)} if flag(p.get("return_im")) else {"channel": {"id": existing.id}}
            return {**answer, "no_op": True, "already_open": True}
        chan = Channel(f"D{user.lstrip('UW')}", user.lower(), im_user=user)
        self._channels[chan.id] = chan
        return {"channel": self._channel_info(chan) if flag(p.get("return_im")) else {"id": chan.id}}
