"""The Slack-call layer: every Web API call the publisher makes, and what its outcome means.

Every call ends in one of three ways: an answer, `SlackRefused` (Slack said
no, with one of its error codes: the call certainly did not take effect) or
`SlackUncertain` (no usable answer: a connection error, a 5xx, a body that is
not JSON or not Slack's shape; it may have). The exactly-once steps of `bot.publisher.posting` rest
on that distinction, so it is drawn here, once, for every method the
publisher calls, along with the sets of Slack errors that mean something to
it (a refused token, an unknown outcome, a message gone). Writes are paced
per channel and 429s waited out here; retrying an uncertain call is not this
layer's decision (the publisher looks the post up first).
"""

from __future__ import annotations

import datetime as dt
import http.client
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web import SlackResponse

from bot.publisher.clock import RunClock

#: 429s the publisher itself waits out per call (after the client's own retries).
RATE_LIMIT_RETRIES = 5
HISTORY_PAGE = 200
#: Slack's per-channel pace for posting: about one message per second.
MIN_INTERVAL = 1.0

#: Errors that mean the token is unusable: every channel would fail alike.
AUTH_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "no_permission",
        "team_access_not_granted",
        "ekm_access_denied",
    }
)
#: `ok: false` answers after which the call may or may not have taken effect.
UNCERTAIN_ERRORS = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
#: What Slack's own error codes look like (`not_in_channel`, `invalid_blocks`). An
#: "error" of another shape (slack_sdk's "Received a response in a non-JSON
#: format: …" for an HTML page from a proxy) is no answer from Slack at all.
_ERROR_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
#: Update errors that mean the message is gone or no longer ours: nothing to retry.
GONE_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})


class SlackRefused(Exception):
    """Slack answered with an error: the call certainly did not take effect."""

    def __init__(self, method: str, error: str, details: Sequence[str] = ()) -> None:
        super().__init__(f"{method}: {error}")
        self.method = method
        self.error = error
        self.details = list(details)


class SlackUncertain(Exception):
    """No usable answer (connection error, 5xx): the call may or may not have taken effect."""

    def __init__(self, method: str, detail: str) -> None:
        super().__init__(f"{method}: {detail}")
        self.method = method
        self.detail = detail


class SlackCalls:
    """The publisher's only way to Slack: paced writes, 429s waited out, errors classified.

    `posting_client` already waits out 429s itself (with real time); this layer
    also handles a 429 that reaches it, with the injected sleep, so any client
    works. It never retries an uncertain call: that is the publisher's decision.
    """

    def __init__(
        self,
        client: WebClient,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        min_interval: float = MIN_INTERVAL,
    ) -> None:
        self.client = client
        self.sleep = sleep
        self.monotonic = monotonic
        self.min_interval = min_interval
        self._last_write: dict[str, float] = {}

    @classmethod
    def paced(cls, client: WebClient, clock: RunClock, *, min_interval: float = MIN_INTERVAL) -> SlackCalls:
        """Calls through `client` that wait and pace on `clock` (a run's, or a test's fake)."""
        return cls(client, sleep=clock.sleep, monotonic=clock.monotonic, min_interval=min_interval)

    def post(
        self,
        channel: str,
        message: Mapping[str, Any],
        metadata: Mapping[str, Any],
        thread_ts: str | None = None,
        *,
        pace: str | None = None,
    ) -> str:
        """chat.postMessage (a reply in `thread_ts`'s thread when given); the new message's ts.

        Writes are paced per `pace` (default: the channel); the weekly DMs share
        one pace, since each goes to a channel of its own.
        """
        response = self._write(
            "chat.postMessage",
            pace or channel,
            lambda: self.client.chat_postMessage(
                channel=channel,
                text=message["text"],
                blocks=message.get("blocks"),
                metadata=dict(metadata),
                unfurl_links=False,
                unfurl_media=False,
                thread_ts=thread_ts,  # None is dropped by slack_sdk
            ),
        )
        return str(response["ts"])

    def update(
        self,
        channel: str,
        ts: str,
        message: Mapping[str, Any],
        metadata: Mapping[str, Any],
        *,
        pace: str | None = None,
    ) -> None:
        """chat.update of a message the bot posted (idempotent: safe to repeat)."""
        self._write(
            "chat.update",
            pace or channel,
            lambda: self.client.chat_update(
                channel=channel,
                ts=ts,
                text=message["text"],
                blocks=message.get("blocks") or [],
                metadata=dict(metadata),
            ),
        )

    def open_dm(self, user: str) -> str:
        """conversations.open: the id of the bot's direct message channel with `user`."""
        response = self._call("conversations.open", lambda: self.client.conversations_open(users=user))
        channel = (response.get("channel") or {}).get("id")
        if not isinstance(channel, str) or not channel:
            raise SlackUncertain("conversations.open", "no channel id in the answer")
        return channel

    def permalink(self, channel: str, ts: str) -> str:
        response = self._call(
            "chat.getPermalink",
            lambda: self.client.chat_getPermalink(channel=channel, message_ts=ts),
        )
        return str(response["permalink"])

    def history_page(self, channel: str, oldest: dt.datetime, cursor: str | None) -> SlackResponse:
        """One page of top-level messages with their metadata, newest first."""
        return self._call(
            "conversations.history",
            lambda: self.client.conversations_history(
                channel=channel,
                oldest=f"{max(oldest.timestamp(), 0):.6f}",
                limit=HISTORY_PAGE,
                include_all_metadata=True,
                cursor=cursor,  # None is dropped by slack_sdk
            ),
        )

    def replies_page(self, channel: str, thread_ts: str, cursor: str | None) -> SlackResponse:
        """One page of a thread (its parent first), with the messages' metadata."""
        return self._call(
            "conversations.replies",
            lambda: self.client.conversations_replies(
                channel=channel,
                ts=thread_ts,
                limit=HISTORY_PAGE,
                include_all_metadata=True,
                cursor=cursor,
            ),
        )

    def upload(
        self, channel: str, thread_ts: str | None, content: bytes, *, filename: str, title: str, alt_text: str
    ) -> str:
        """files_upload_v2 of one file into `channel` (in `thread_ts`'s thread); the file's id.

        Three requests in slack_sdk (the upload URL, the upload, the completion):
        an answer that is not a clear refusal at any of them leaves the outcome unknown.
        """
        def call() -> SlackResponse:
            try:
                return self.client.files_upload_v2(
                    channel=channel, thread_ts=thread_ts, content=content, filename=filename, title=title,
                    alt_txt=alt_text,
                )
            except SlackRequestError as err:  # the file was refused before it was shared: not posted
                raise SlackRefused("files_upload_v2", "upload_failed", [str(err)[:200]]) from err

        response = self._write("files.completeUploadExternal", channel, call)
        files = response.get("files") or [response.get("file") or {}]
        file_id = files[0].get("id") if files and isinstance(files[0], Mapping) else None
        if not isinstance(file_id, str) or not file_id:
            raise SlackUncertain("files.completeUploadExternal", "no file id in the answer")
        return file_id

    def _write(self, method: str, channel: str, call: Callable[[], SlackResponse]) -> SlackResponse:
        """A paced call: at most one write per `min_interval` seconds per channel."""
        last = self._last_write.get(channel)
        if last is not None:
            wait = self.min_interval - (self.monotonic() - last)
            if wait > 0:
                self.sleep(wait)
        try:
            return self._call(method, call)
        finally:
            self._last_write[channel] = self.monotonic()

    def _call(self, method: str, call: Callable[[], SlackResponse]) -> SlackResponse:
        for attempt in range(RATE_LIMIT_RETRIES + 1):
            try:
                return call()
            except SlackApiError as err:
                status = err.response.status_code
                error = str(err.response.get("error") or f"http_{status}")
                if status == 429:
                    if attempt < RATE_LIMIT_RETRIES:
                        self.sleep(_retry_after(err.response))
                        continue
                    raise SlackRefused(method, "ratelimited") from err
                if status >= 500 or error in UNCERTAIN_ERRORS or not _is_refusal(err.response):
                    raise SlackUncertain(method, f"HTTP {status} {error[:200]}") from err
                details = (err.response.get("response_metadata") or {}).get("messages") or []
                raise SlackRefused(method, error, details) from err
            except (OSError, http.client.HTTPException) as err:
                raise SlackUncertain(method, f"{type(err).__name__}: {err}") from err
        raise AssertionError("unreachable")  # pragma: no cover


def _is_refusal(response: SlackResponse) -> bool:
    """A clear "no" from Slack: `ok: false` with one of Slack's error codes.

    Anything else (a body that is not JSON, `ok: false` without an error, an
    answer of another shape) says nothing about whether the call took effect.
    """
    data = response.data
    if not isinstance(data, dict) or data.get("ok") is not False:
        return False
    error = data.get("error")
    return isinstance(error, str) and bool(_ERROR_CODE_RE.match(error))


def _retry_after(response: SlackResponse) -> float:
    headers = {str(k).lower(): v for k, v in (response.headers or {}).items()}
    value = headers.get("retry-after")
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return max(float(value), 0.0) if value is not None else 1.0
    except ValueError:
        return 1.0
