"""A local fake of the Slack Web API, served over real HTTP for offline tests.

Why a server and not a mocked client: the bot must be exercised through the real
`slack_sdk.WebClient` (its JSON-vs-form bodies, retry handlers and error mapping),
and end-to-end tests run the bot as a subprocess that only knows `SLACK_API_URL`.

    with FakeSlack() as fake:
        client = WebClient(token="xoxb-test", base_url=fake.api_url)
        client.chat_postMessage(channel="C0SD", text="hi")
        assert fake.messages("C0SD")[0]["text"] == "hi"

The fake answers like Slack where tests depend on it (error codes, Block Kit
validation, ts ordering, pagination, metadata) and records every request. The
personal layer's methods are here too: `conversations.open` (a DM channel per
person: `dms(user)`), `views.publish` (a Home tab, validated: `home(user)`), the
three steps of `files_upload_v2` (`files.getUploadURLExternal`, the upload URL,
`files.completeUploadExternal`: `files()` holds the bytes), and `react()` changes
a message's reactions and hands back the `reaction_added`/`_removed` event. Faults
(rate limits: every n-th call, or a tier's calls per window; errors, 5xx, dropped
connections, latency, calls held until released, an HTTP 200 whose body is not
JSON, a hook between "accepted" and "answered") are injected at run time, from
any thread.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import copy
import dataclasses
import json
import math
import secrets
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, TypeVar
from urllib.parse import SplitResult, parse_qs, urlsplit

from bot.render.limits import blocks_text_len
from tests.support.block_kit import slack_problems

T = TypeVar("T")

TEAM_ID = "T0TEAM"
TEAM_NAME = "Fake Team"
APP_ID = "A0APP"
BOT_ID = "B0BOT"
BOT_USER_ID = "U0BOT"
BOT_TOKEN = "xoxb-test"
USER_ID = "U0USER"
WORKSPACE_URL = "https://fake.slack.com"
DEFAULT_CHANNELS: Mapping[str, str] = {
    "C0SD": "sd",
    "C0FL": "fl",
    "C0ALL": "all",
    "CGENERAL": "general",
}
DEFAULT_USERS: Mapping[str, str] = {USER_ID: "alice", BOT_USER_ID: "digest-bot"}

MAX_BLOCKS = 50
#: A view (the Home tab, a modal) holds up to 100 blocks.
MAX_VIEW_BLOCKS = 100
MAX_BLOCKS_TEXT = 12_000
MAX_TEXT = 40_000
RESPONSE_URL_USES = 5

_JSON_FIELDS = ("blocks", "attachments", "metadata", "view", "files")
#: The path uploads go to (files.getUploadURLExternal hands out URLs under it).
UPLOAD_PATH = "/upload/v1/"


class ApiError(Exception):
    """A Slack error answer; handlers raise it and the server turns it into JSON."""

    def __init__(
        self,
        error: str,
        messages: Iterable[str] = (),
        *,
        status: int = 200,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages)
        self.status = status
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        """The JSON Slack sends: pointer messages go to `response_metadata.messages`."""
        body: dict[str, Any] = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            body["errors"] = [m.removeprefix("[ERROR] ") for m in self.messages]
            body["response_metadata"] = {"messages": self.messages}
        return body


# --------------------------------------------------------------------------------------
# Message validation (shared by chat.* and response_url)


def validate_blocks(blocks: list[Any], *, max_blocks: int = MAX_BLOCKS, text_limit: bool = True) -> None:
    """Raise `ApiError` as Slack would for these blocks (count, schema, ids, total text).

    Messages hold 50 blocks and about 12,000 characters of text; views
    (`max_blocks=100`, `text_limit=False`) hold 100 blocks.
    """
    if len(blocks) > max_blocks:
        raise ApiError(
            "invalid_blocks",
            [f"[ERROR] no more than {max_blocks} items allowed [json-pointer:/blocks]"],
        )
    problems = slack_problems(blocks)
    if problems:
        raise ApiError("invalid_blocks", problems)
    if text_limit and blocks_text_len(blocks) > MAX_BLOCKS_TEXT:
        raise ApiError(
            "msg_blocks_too_long",
            [f"[ERROR] more than {MAX_BLOCKS_TEXT} characters of text [json-pointer:/blocks]"],
        )


def validate_message(text: Any = None, blocks: Any = None, attachments: Any = None) -> None:
    """Raise `ApiError` for a message Slack would reject (`no_text`, `msg_too_long`, ...).

    Public so that rendering tests can check their output against the same rules.
    """
    if blocks is not None and not isinstance(blocks, list):
        raise ApiError(
            "invalid_blocks_format", ["[ERROR] must be a JSON array [json-pointer:/blocks]"]
        )
    if attachments is not None and not isinstance(attachments, list):
        raise ApiError("invalid_attachments")
    if not text and not blocks and not attachments:
        raise ApiError("no_text")
    if isinstance(text, str) and len(text) > MAX_TEXT:
        raise ApiError("msg_too_long")
    if blocks:
        validate_blocks(blocks)


#: Top-level fields of a Home tab view, and the length limits Slack sets on them.
_VIEW_FIELDS = {"type", "blocks", "private_metadata", "callback_id", "external_id"}
_VIEW_LIMITS = {"private_metadata": 3000, "callback_id": 255, "external_id": 255}


def validate_view(view: Any, *, kinds: Iterable[str] = ("home",)) -> None:
    """Raise `ApiError` for a view Slack would reject (views.publish: a Home tab).

    Public so that rendering tests can check a Home tab against the same rules.
    """
    if not isinstance(view, dict):
        raise ApiError("invalid_arguments", ["[ERROR] must be an object [json-pointer:/view]"])
    if view.get("type") not in tuple(kinds):
        raise ApiError("invalid_arguments", ["[ERROR] must be a valid enum value [json-pointer:/view/type]"])
    extra = sorted(set(view) - _VIEW_FIELDS)
    if extra:
        raise ApiError(
            "invalid_arguments",
            [f"[ERROR] invalid additional property: {extra[0]} [json-pointer:/view/{extra[0]}]"],
        )
    for name, limit in _VIEW_LIMITS.items():
        value = view.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise ApiError(
                "invalid_arguments",
                [f"[ERROR] must be less than {limit + 1} characters [json-pointer:/view/{name}]"],
            )
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        raise ApiError("invalid_arguments", ["[ERROR] missing required field: blocks [json-pointer:/view]"])
    try:
        validate_blocks(blocks, max_blocks=MAX_VIEW_BLOCKS, text_limit=False)
    except ApiError as exc:
        raise ApiError(
            "invalid_arguments",
            [m.replace("[json-pointer:/blocks", "[json-pointer:/view/blocks") for m in exc.messages],
        ) from None


def _metadata(value: Any) -> dict[str, Any] | None:
    """Message metadata as Slack stores it; malformed metadata is rejected, not dropped."""
    if value in (None, "", {}):
        return None
    if isinstance(value, str):
        raise ApiError("invalid_metadata_format")
    if (
        not isinstance(value, dict)
        or not isinstance(value.get("event_type"), str)
        or not value["event_type"]
        or not isinstance(value.get("event_payload", {}), dict)
    ):
        raise ApiError("invalid_metadata_schema")
    return {"event_type": value["event_type"], "event_payload": value.get("event_payload", {})}


# --------------------------------------------------------------------------------------
# Small parsing helpers


def _flag(value: Any) -> bool:
    """Slack booleans arrive as true/false (JSON) or "1"/"0"/"true" (form, query)."""
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _ts_us(ts: Any, error: str = "invalid_ts") -> int:
    """A Slack ts ("1700000000.000100") as integer microseconds, for exact comparisons."""
    try:
        return int(Decimal(str(ts)) * 1_000_000)
    except (InvalidOperation, ValueError, OverflowError) as exc:
        raise ApiError(error) from exc


def _format_ts(us: int) -> str:
    return f"{us // 1_000_000}.{us % 1_000_000:06d}"


def _encode_cursor(ts: str) -> str:
    """Opaque cursors like Slack's: base64 of "next_ts:<ts>"."""
    return base64.b64encode(f"next_ts:{_ts_us(ts)}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        kind, _, value = base64.b64decode(cursor, validate=True).decode().partition(":")
        if kind != "next_ts":
            raise ValueError(kind)
        return int(value)
    except ValueError as exc:
        raise ApiError("invalid_cursor") from exc


def _parse_params(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """Query string, then a JSON or form body; JSON-in-a-string fields are decoded."""
    params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    kind = content_type.split(";")[0].strip().lower()
    if body:
        if kind == "application/json":
            try:
                data = json.loads(body)
            except ValueError as exc:
                raise ApiError("invalid_json") from exc
            if not isinstance(data, dict):
                raise ApiError("invalid_json")
            params.update(data)
        elif kind in ("application/x-www-form-urlencoded", ""):
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
            params.update({k: v[-1] for k, v in form.items()})
        else:
            raise ApiError("invalid_form_data")
    for name in _JSON_FIELDS:
        value = params.get(name)
        if isinstance(value, str) and value.strip():
            try:
                params[name] = json.loads(value)
            except ValueError:
                pass  # left as a string: the method answers invalid_*_format
    return params


def _recorded(params: dict[str, Any]) -> dict[str, Any]:
    """A call's params as recorded: an upload's bytes become their length (JSON-friendly)."""
    out = copy.deepcopy(params)
    if isinstance(out.get("content"), bytes):
        out["content"] = f"<{len(out['content'])} bytes>"
    return out


# --------------------------------------------------------------------------------------
# Records


@dataclass(frozen=True)
class Call:
    """One request the fake received, as tests inspect it.

    `method` is the Web API method ("chat.postMessage"), "response_url" for posts to a
    response URL, or the path for anything else. `params` holds the parsed body and
    query (blocks/metadata decoded even when sent as JSON strings); `headers` have
    lower-cased names. `received` is time.monotonic() on arrival. `status` is None
    when the connection was dropped instead of answered.
    """

    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]
    received: float
    status: int | None = None
    response: Any = None
    fault: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the client got a successful answer."""
        if self.status != 200:
            return False
        return not isinstance(self.response, dict) or bool(self.response.get("ok", True))

    @property
    def error(self) -> str | None:
        """The `error` the fake answered (or would have, for a dropped connection)."""
        return self.response.get("error") if isinstance(self.response, dict) else None

    @property
    def token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            return auth.removeprefix("Bearer ").strip()
        token = self.params.get("token")
        return token if isinstance(token, str) else None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class _Channel:
    id: str
    name: str
    messages: list[dict[str, Any]] = field(default_factory=list)  # ts order
    private: bool = False
    archived: bool = False
    im_user: str | None = None  # a direct message channel with this user

    def find(self, ts: Any) -> dict[str, Any] | None:
        return next((m for m in self.messages if m["ts"] == ts), None)

    def threads(self) -> dict[str, list[dict[str, Any]]]:
        """Replies per parent ts, oldest first."""
        replies: dict[str, list[dict[str, Any]]] = {}
        for m in self.messages:
            if "thread_ts" in m:
                replies.setdefault(m["thread_ts"], []).append(m)
        return replies


@dataclass
class UploadedFile:
    """A file uploaded through files.getUploadURLExternal + the upload URL (+ completion).

    `content` holds the bytes the client sent; `channel`/`thread_ts` are set by
    files.completeUploadExternal, which shares the file there.
    """

    id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    completed: bool = False

    @property
    def text(self) -> str:
        """The content as UTF-8 text (what a BibTeX or CSV file holds)."""
        return (self.content or b"").decode("utf-8")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["content"] = base64.b64encode(self.content or b"").decode()
        return data


@dataclass
class _Fault:
    kind: str  # "drop", "drop_after", "server_error", "fail", "garble_after"
    method: str
    times: int
    error: str = ""
    status: int = 0
    channel: str | None = None
    body: str = ""

    def matches(self, kind: str, method: str, params: Mapping[str, Any]) -> bool:
        return (
            self.kind == kind
            and self.method in (method, "*")
            and (self.channel is None or self.channel == params.get("channel"))
        )


@dataclass
class _RateLimit:
    every: int
    retry_after: int
    seen: int = 0


@dataclass
class _Window:
    """At most `per_window` calls in any `window` seconds; beyond, 429 until the oldest leaves."""

    per_window: int
    window: float
    retry_after: int | None
    accepted: collections.deque[float] = field(default_factory=collections.deque)


@dataclass
class _Outcome:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    fault: str | None = None
    drop: bool = False


# --------------------------------------------------------------------------------------
# The fake


class FakeSlack:
    """A Slack Web API on 127.0.0.1 (free port), with recording and fault injection.

    All state sits behind one lock, so tests may configure faults or membership from
    their own thread while the bot talks to the server.
    """

    def __init__(
        self,
        *,
        tokens: Iterable[str] = (BOT_TOKEN,),
        channels: Mapping[str, str] | Iterable[str] = DEFAULT_CHANNELS,
        users: Mapping[str, str] = DEFAULT_USERS,
        not_member: Iterable[str] = (),
        clock: Callable[[], float] = time.time,
        scopes: Iterable[str] | None = None,
    ) -> None:
        """`channels` maps id -> name (or is a list of ids); `clock` seeds message ts;
        `scopes`, when given, are the only ones the bot token has."""
        names = channels if isinstance(channels, Mapping) else {c: c.lower() for c in channels}
        self._initial = (frozenset(tokens), dict(names), dict(users), frozenset(not_member))
        self._clock = clock
        self._cond = threading.Condition(threading.RLock())
        self._version = 0  # bumped on every change, so wait_for never misses one
        self._last_ts_us = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._methods: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.delete": self._chat_delete,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "conversations.info": self._conversations_info,
            "conversations.join": self._conversations_join,
            "conversations.list": self._conversations_list,
            "users.info": self._users_info,
            "chat.unfurl": self._chat_unfurl,
            "conversations.open": self._conversations_open,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }
        self.tokens: set[str] = set()
        """Valid bot tokens; change at run time to simulate a revoked token."""
        self.not_member: set[str] = set()
        """Channels the bot is not in (`not_in_channel`); add/discard at run time."""
        self.users: dict[str, str] = {}
        """Known user ids -> names, for users.info."""
        self._initial_scopes = None if scopes is None else frozenset(scopes)
        self.scopes: set[str] | None = None
        """The bot token's scopes, or None for every scope. Checked by the methods that
        read channels (conversations.info / .list): `missing_scope`, as Slack answers."""
        self._restore()

    def _restore(self) -> None:
        """Set every piece of state to the constructor's values (in place: tests may
        hold `fake.tokens` or `fake.not_member`)."""
        tokens, channels, users, not_member = self._initial
        for live, initial in ((self.tokens, tokens), (self.not_member, not_member)):
            live.clear()
            live.update(initial)
        self.users.clear()
        self.users.update(users)
        self.scopes = None if self._initial_scopes is None else set(self._initial_scopes)
        self._channels = {cid: _Channel(cid, name) for cid, name in channels.items()}
        self._views: dict[str, list[dict[str, Any]]] = {}
        self._files: dict[str, UploadedFile] = {}
        self._uploads: dict[str, str] = {}  # upload URL token -> file id
        self._calls: list[Call] = []
        self._responses: dict[str, list[dict[str, Any]]] = {}
        self._faults: list[_Fault] = []
        self._rate_limits: dict[str, _RateLimit] = {}
        self._windows: dict[str, _Window] = {}
        self._latency: dict[str | None, float] = {}
        for gate in getattr(self, "_holds", {}).values():
            gate.set()  # nothing stays parked across a reset
        self._holds: dict[str, threading.Event] = {}
        self._on_post: Callable[[Call], None] | None = None
        self._composer_unfurls: dict[str, dict[str, Any]] = {}

    # ---- lifecycle ---------------------------------------------------------------

    def start(self) -> Self:
        """Serve on a free port in a daemon thread (idempotent)."""
        if self._server is None:
            self._server = _Server(("127.0.0.1", 0), _Handler, self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},  # so stop() returns quickly
                name=f"FakeSlack:{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The server root, e.g. for the `/_fake/...` control API."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """What the bot gets as SLACK_API_URL / `WebClient(base_url=...)`."""
        return f"{self.url}/api/"

    # ---- setup -------------------------------------------------------------------

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
            chan = self._channels.setdefault(channel_id, _Channel(channel_id, name or channel_id.lower()))
            chan.private, chan.archived = private, archived
            (self.not_member.discard if member else self.not_member.add)(channel_id)

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

    def new_response_url(self) -> str:
        """A fresh response_url (like a slash command's) whose posts are recorded."""
        with self._changed():
            response_id = secrets.token_hex(8)
            self._responses[response_id] = []
        return f"{self.url}/response/{response_id}"

    def reset(self) -> None:
        """Back to the constructor's state; the server, its port and ts order carry on."""
        with self._changed():
            self._restore()

    # ---- fault injection -----------------------------------------------------------

    def rate_limit(self, method: str, every: int = 3, retry_after: int = 1) -> None:
        """Answer HTTP 429 + `Retry-After` on every `every`-th call of `method` from now on.

        `every=1` limits every call; `every=0` removes the limit. `retry_after` must be
        whole seconds: slack_sdk parses the header with int().
        """
        with self._changed():
            if every <= 0:
                self._rate_limits.pop(method, None)
            else:
                self._rate_limits[method] = _RateLimit(every, int(retry_after))

    def rate_limit_window(
        self, method: str, per_window: int, window: float = 60.0, *, retry_after: int | None = None
    ) -> None:
        """Slack's tiers: at most `per_window` accepted calls of `method` in any `window`
        seconds (Tier 4, views.publish: about 100 a minute); beyond, HTTP 429 with
        `Retry-After` the whole seconds until the oldest accepted call leaves the window
        (or `retry_after`). Refused calls do not count. `per_window=0` removes it."""
        with self._changed():
            if per_window <= 0:
                self._windows.pop(method, None)
            else:
                self._windows[method] = _Window(per_window, float(window), retry_after)

    def fail(self, method: str, error: str, times: int = 1, channel: str | None = None) -> None:
        """The next `times` calls of `method` (in `channel`, if given) answer `ok: false`."""
        self._add_fault(_Fault("fail", method, times, error=error, channel=channel))

    def server_error(self, method: str, status: int = 503, times: int = 1) -> None:
        """The next `times` calls of `method` answer an HTTP 5xx."""
        self._add_fault(_Fault("server_error", method, times, status=status))

    def drop_connection(self, method: str, times: int = 1, *, after_accept: bool = False) -> None:
        """Close the socket without answering the next `times` calls of `method`.

        With `after_accept`, the call is processed first (a post is stored), so the
        client sees a connection error for something Slack did: with slack_sdk's default
        ConnectionErrorRetryHandler that becomes a duplicate post.
        """
        kind = "drop_after" if after_accept else "drop"
        self._add_fault(_Fault(kind, method, times))

    def garble(self, method: str, times: int = 1, body: str = "<html><body>502 Bad Gateway</body></html>") -> None:
        """Process the next `times` calls of `method` (a post is stored), then answer
        HTTP 200 with `body`, which is not JSON: the outcome is unknown to the client."""
        self._add_fault(_Fault("garble_after", method, times, body=body))

    def hold(self, method: str) -> threading.Event:
        """Park calls of `method` (e.g. "response_url") until the returned event is set.

        Parked requests wait outside the fake's lock, so everything else is served;
        `clear_faults()` and `reset()` release them too.
        """
        with self._changed():
            gate = self._holds.get(method)
            if gate is None or gate.is_set():
                gate = self._holds[method] = threading.Event()
            return gate

    def latency(self, seconds: float, method: str | None = None) -> None:
        """Delay answers (of `method`, or of every call); 0 removes the delay."""
        with self._changed():
            self._latency[method] = seconds

    def on_post(self, callback: Callable[[Call], None] | None) -> None:
        """Call `callback(call)` after a chat.postMessage is stored, before it is answered.

        It runs in the server thread; if it raises, the connection is dropped, like a
        crash between Slack accepting a post and the bot hearing about it.
        """
        with self._changed():
            self._on_post = callback

    def clear_faults(self) -> None:
        """Remove every injected fault, rate limit, latency and hook."""
        with self._changed():
            self._faults.clear()
            self._rate_limits.clear()
            self._windows.clear()
            self._latency.clear()
            for gate in self._holds.values():
                gate.set()
            self._holds.clear()
            self._on_post = None

    def _add_fault(self, fault: _Fault) -> None:
        with self._changed():
            if fault.times > 0:
                self._faults.append(fault)

    def _take_fault(self, kind: str, method: str, params: Mapping[str, Any]) -> _Fault | None:
        for fault in self._faults:
            if fault.matches(kind, method, params):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    # ---- inspection ----------------------------------------------------------------

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded requests (of one method), oldest first."""
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

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

    def responses(self, url_or_id: str) -> list[dict[str, Any]]:
        """Payloads accepted on a response_url, oldest first."""
        response_id = url_or_id.rstrip("/").rsplit("/", 1)[-1]
        with self._cond:
            if response_id not in self._responses:
                raise KeyError(f"no such response_url: {url_or_id}")
            return copy.deepcopy(self._responses[response_id])

    def dm_channel(self, user: str) -> str | None:
        """The id of the bot's direct message channel with `user`, once conversations.open made it."""
        with self._cond:
            return next((c.id for c in self._channels.values() if c.im_user == user), None)

    def dms(self, user: str) -> list[dict[str, Any]]:
        """The bot's direct messages with `user` (empty before any conversations.open)."""
        channel = self.dm_channel(user)
        return self.messages(channel) if channel is not None else []

    def views(self, user: str) -> list[dict[str, Any]]:
        """Every view published to `user`'s Home tab, oldest first."""
        with self._cond:
            return copy.deepcopy(self._views.get(user, []))

    def home(self, user: str) -> dict[str, Any] | None:
        """The Home tab `user` sees now (the last view published), or None."""
        views = self.views(user)
        return views[-1] if views else None

    def files(self, channel: str | None = None) -> list[UploadedFile]:
        """Uploaded files (those shared in `channel`, if given), in upload order."""
        with self._cond:
            return [
                dataclasses.replace(f)
                for f in self._files.values()
                if channel is None or (f.completed and f.channel == channel)
            ]

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

    def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Return the predicate's first truthy value; wakes on every change of the fake.

        Polls at least every 50 ms too, so predicates about other things (a subprocess,
        a flag) work as well. Raises TimeoutError, naming the recent calls.
        """
        deadline = time.monotonic() + timeout
        while True:
            version = self._version
            result = predicate()
            if result:
                return result
            with self._cond:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    recent = [
                        f"{c.method}->{c.status}:{c.error or 'ok'}" for c in self._calls[-10:]
                    ]
                    raise TimeoutError(
                        f"condition not met within {timeout}s; recent calls: {recent}"
                    )
                if self._version == version:
                    self._cond.wait(min(0.05, remaining))

    # ---- state helpers (call with the lock held) ----------------------------------

    @contextlib.contextmanager
    def _changed(self) -> Iterator[None]:
        """Hold the lock for a change, then wake every `wait_for`."""
        with self._cond:
            yield
            self._version += 1
            self._cond.notify_all()

    def _known(self, channel: str) -> _Channel:
        chan = self._channels.get(channel)
        if chan is None:
            raise KeyError(f"unknown channel {channel!r}; known: {sorted(self._channels)}")
        return chan

    def _channel(self, params: Mapping[str, Any], *, member: bool = True) -> _Channel:
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
        return _format_ts(us)

    def _thread_root(self, chan: _Channel, thread_ts: str) -> str:
        """A reply to a reply lands in the parent's thread, as in Slack."""
        parent = chan.find(thread_ts)
        if parent is None:
            raise ApiError("thread_not_found")
        return str(parent.get("thread_ts", parent["ts"]))

    def _store(
        self,
        chan: _Channel,
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

    def _channel_info(self, chan: _Channel) -> dict[str, Any]:
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

    def _visible(self, chan: _Channel) -> bool:
        """A private channel is seen only by its members (the bot among them)."""
        return not chan.private or chan.id not in self.not_member

    # ---- Web API methods (lock held; raise ApiError to answer ok: false) ------------

    def _auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"{WORKSPACE_URL}/",
            "team": TEAM_NAME,
            "user": self.users.get(BOT_USER_ID, "bot"),
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, p: dict[str, Any]) -> dict[str, Any]:
        chan = self._channel(p)
        validate_message(p.get("text"), p.get("blocks"), p.get("attachments"))
        metadata = _metadata(p.get("metadata"))
        thread_ts = self._thread_root(chan, p["thread_ts"]) if p.get("thread_ts") else None
        message = self._store(
            chan,
            text=p.get("text") or "",
            user=BOT_USER_ID,
            blocks=p.get("blocks"),
            attachments=p.get("attachments"),
            metadata=metadata,
            thread_ts=thread_ts,
            broadcast=_flag(p.get("reply_broadcast")),
        )
        view = self._view(message, {}, metadata=True)
        return {"channel": chan.id, "ts": message["ts"], "message": view}

    def _own_message(self, chan: _Channel, ts: Any, cant: str) -> dict[str, Any]:
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
        metadata = _metadata(p.get("metadata"))
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

    def _page(
        self, messages: list[dict[str, Any]], p: Mapping[str, Any], *, newest_first: bool
    ) -> tuple[list[dict[str, Any]], str]:
        """Apply oldest/latest/inclusive, order, cursor and limit; return (page, next_cursor)."""
        inclusive = _flag(p.get("inclusive"))
        oldest = _ts_us(p["oldest"], "invalid_ts_oldest") if p.get("oldest") else None
        latest = _ts_us(p["latest"], "invalid_ts_latest") if p.get("latest") else None

        def in_window(t: int) -> bool:
            above = oldest is None or t > oldest or (inclusive and t == oldest)
            below = latest is None or t < latest or (inclusive and t == latest)
            return above and below

        items = [m for m in messages if in_window(_ts_us(m["ts"]))]
        if newest_first:
            items.reverse()
        if p.get("cursor"):
            start = _decode_cursor(str(p["cursor"]))
            items = [
                m
                for m in items
                if (_ts_us(m["ts"]) <= start if newest_first else _ts_us(m["ts"]) >= start)
            ]
        limit = _int(p.get("limit"), 100)
        limit = 100 if limit <= 0 else min(limit, 999)
        page, rest = items[:limit], items[limit:]
        return page, _encode_cursor(rest[0]["ts"]) if rest else ""

    def _conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        chan = self._channel(p)
        top_level = [
            m
            for m in chan.messages
            if "thread_ts" not in m or m.get("subtype") == "thread_broadcast"
        ]
        page, next_cursor = self._page(top_level, p, newest_first=True)
        threads, metadata = chan.threads(), _flag(p.get("include_all_metadata"))
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
        metadata = _flag(p.get("include_all_metadata"))
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
            and not (c.archived and _flag(p.get("exclude_archived")))
        ]
        start = 0
        if p.get("cursor"):
            ids = [c.id for c in wanted]
            try:
                start = ids.index(base64.b64decode(str(p["cursor"])).decode().removeprefix("next_id:"))
            except (ValueError, UnicodeDecodeError):
                raise ApiError("invalid_cursor") from None
        limit = _int(p.get("limit"), 100)
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
            answer: dict[str, Any] = {"channel": self._channel_info(existing)} if _flag(p.get("return_im")) else {"channel": {"id": existing.id}}
            return {**answer, "no_op": True, "already_open": True}
        chan = _Channel(f"D{user.lstrip('UW')}", user.lower(), im_user=user)
        self._channels[chan.id] = chan
        return {"channel": self._channel_info(chan) if _flag(p.get("return_im")) else {"id": chan.id}}

    def _views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        """Publish a Home tab: type home, at most 100 valid blocks; `hash` guards a stale update."""
        user = p.get("user_id")
        if not isinstance(user, str) or not user:
            raise ApiError("invalid_arguments", ["[ERROR] missing required field: user_id"])
        if user not in self.users:
            raise ApiError("user_not_found")
        if isinstance(p.get("view"), str):
            raise ApiError("invalid_arguments", ["[ERROR] view must be a JSON object [json-pointer:/view]"])
        validate_view(p.get("view"))
        history = self._views.setdefault(user, [])
        if p.get("hash") and history and p["hash"] != history[-1]["hash"]:
            raise ApiError("hash_conflict")
        view = {
            **copy.deepcopy(p["view"]),
            "id": f"V{len(history) + 1:04d}{user}",
            "team_id": TEAM_ID,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "hash": f"{int(self._clock())}.{secrets.token_hex(4)}",
        }
        history.append(view)
        return {"view": copy.deepcopy(view)}

    def _files_get_upload_url(self, p: dict[str, Any]) -> dict[str, Any]:
        """Step 1 of an upload (scope files:write): a file id and the URL to send its bytes to."""
        self._require_scope("files:write")
        filename = p.get("filename")
        if not isinstance(filename, str) or not filename.strip():
            raise ApiError("invalid_arguments", ["[ERROR] missing required field: filename"])
        length = _int(p.get("length"), -1)
        if length < 1:
            raise ApiError("invalid_arguments", ["[ERROR] length must be a positive integer"])
        file_id = f"F{len(self._files) + 1:06d}{secrets.token_hex(2).upper()}"
        token = secrets.token_hex(8)
        self._files[file_id] = UploadedFile(file_id, filename, length)
        self._uploads[token] = file_id
        return {"upload_url": f"{self.url}{UPLOAD_PATH}{token}", "file_id": file_id}

    def _file_upload(self, p: dict[str, Any]) -> dict[str, Any]:
        """Step 2: the bytes, POSTed to the upload URL (answered with plain text, like Slack)."""
        file_id = self._uploads.get(str(p.get("token")))
        if file_id is None:
            raise ApiError("upload_url_not_found", status=404)
        upload = self._files[file_id]
        content = p.get("content") or b""
        if len(content) != upload.length:
            raise ApiError("length_mismatch", status=400)
        upload.content = bytes(content)
        return {}

    def _files_complete_upload(self, p: dict[str, Any]) -> dict[str, Any]:
        """Step 3: share the uploaded files in `channel_id` (a thread with `thread_ts`)."""
        self._require_scope("files:write")
        items = p.get("files")
        if not isinstance(items, list) or not items:
            raise ApiError("invalid_arguments", ["[ERROR] files must be a non-empty JSON array"])
        uploads: list[tuple[UploadedFile, dict[str, Any]]] = []
        for item in items:
            upload = self._files.get(item.get("id")) if isinstance(item, dict) else None
            if upload is None:
                raise ApiError("file_not_found")
            if upload.content is None:
                raise ApiError("file_upload_not_completed")
            uploads.append((upload, item))
        chan = self._channel({"channel": p["channel_id"]}) if p.get("channel_id") else None
        thread_ts = None
        if chan is not None and p.get("thread_ts"):
            thread_ts = self._thread_root(chan, str(p["thread_ts"]))
        shared = []
        for upload, item in uploads:
            upload.title = str(item.get("title") or upload.filename)
            upload.completed = True
            if chan is not None:
                upload.channel, upload.thread_ts = chan.id, thread_ts
            upload.initial_comment = p.get("initial_comment") or None
            shared.append({"id": upload.id, "name": upload.filename, "title": upload.title, "size": upload.length})
        if chan is not None:
            message = self._store(chan, text=str(p.get("initial_comment") or ""), user=BOT_USER_ID, thread_ts=thread_ts)
            message["files"] = copy.deepcopy(shared)
            message["upload"] = True
        return {"files": shared}

    def _users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user_id = p.get("user")
        if user_id not in self.users:
            raise ApiError("user_not_found")
        name = self.users[user_id]
        return {
            "user": {
                "id": user_id,
                "team_id": TEAM_ID,
                "name": name,
                "real_name": name.title(),
                "is_bot": user_id == BOT_USER_ID,
                "tz": "Asia/Tokyo",
                "profile": {"display_name": name, "real_name": name.title()},
            }
        }

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

    # ---- request processing --------------------------------------------------------

    def _process(
        self, method: str, path: str, params: dict[str, Any], token: str | None
    ) -> _Outcome:
        """Decide the answer to one request, faults first; called with the lock held."""
        if self._take_fault("drop", method, params):
            return _Outcome(0, None, fault="dropped", drop=True)
        fault = self._take_fault("server_error", method, params)
        if fault:
            error = {500: "internal_error", 503: "service_unavailable"}.get(
                fault.status, "fatal_error"
            )
            return _Outcome(fault.status, {"ok": False, "error": error}, fault="server_error")
        limit = self._rate_limits.get(method)
        if limit is not None:
            limit.seen += 1
            if limit.seen % limit.every == 0:
                return _Outcome(
                    429,
                    {"ok": False, "error": "ratelimited"},
                    headers={"Retry-After": str(limit.retry_after)},
                    fault="rate_limited",
                )
        window = self._windows.get(method)
        if window is not None:
            now = time.monotonic()
            while window.accepted and window.accepted[0] <= now - window.window:
                window.accepted.popleft()
            if len(window.accepted) >= window.per_window:
                wait = window.retry_after
                if wait is None:
                    wait = max(1, math.ceil(window.accepted[0] + window.window - now))
                return _Outcome(
                    429,
                    {"ok": False, "error": "ratelimited"},
                    headers={"Retry-After": str(wait)},
                    fault="rate_limited",
                )
            window.accepted.append(now)
        if method == "response_url":
            outcome = self._response_post(path, params)
        elif method == "file_upload":
            outcome = self._upload_post(params)
        else:
            outcome = self._api_call(method, params, token)
        if outcome.status == 200 and self._take_fault("drop_after", method, params):
            outcome.fault, outcome.drop = "dropped_after_accept", True
        elif outcome.status == 200 and (garble := self._take_fault("garble_after", method, params)):
            outcome.body, outcome.fault = garble.body, "garbled_after_accept"
            outcome.headers["Content-Type"] = "text/html; charset=utf-8"
        return outcome

    def _api_call(self, method: str, params: dict[str, Any], token: str | None) -> _Outcome:
        handler = self._methods.get(method)
        try:
            if handler is None:
                raise ApiError("unknown_method")
            if not token:
                raise ApiError("not_authed")
            if token not in self.tokens:
                raise ApiError("invalid_auth")
            fault = self._take_fault("fail", method, params)
            if fault:
                return _Outcome(200, {"ok": False, "error": fault.error}, fault="failed")
            return _Outcome(200, {"ok": True, **handler(params)})
        except ApiError as exc:
            return _Outcome(exc.status, exc.body())

    def _upload_post(self, params: dict[str, Any]) -> _Outcome:
        """The upload URL: no token (the URL is the credential), a plain-text answer."""
        if self._take_fault("fail", "file_upload", params):
            return _Outcome(500, "upload failed", fault="failed")
        try:
            self._file_upload(params)
        except ApiError as exc:
            return _Outcome(exc.status, exc.error)
        return _Outcome(200, f"OK - {len(params.get('content') or b'')}")

    def _response_post(self, path: str, payload: dict[str, Any]) -> _Outcome:
        """Slack's response_url: 200 "ok", at most RESPONSE_URL_USES accepted posts."""
        posts = self._responses.get(path.rsplit("/", 1)[-1])
        if posts is None:
            return _Outcome(404, {"ok": False, "error": "unknown_response_url"})
        if len(posts) >= RESPONSE_URL_USES:
            return _Outcome(404, {"error": "expired_url"})
        if not _flag(payload.get("delete_original")):
            try:
                validate_message(
                    payload.get("text"), payload.get("blocks"), payload.get("attachments")
                )
            except ApiError as exc:
                return _Outcome(400, exc.body())
        posts.append(copy.deepcopy(payload))
        return _Outcome(200, "ok")

    def _control(self, url: SplitResult) -> tuple[int, Any]:
        """GET /_fake/{messages,calls,responses}: the inspection API for subprocess tests."""
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            if url.path == "/_fake/messages":
                return 200, {"ok": True, "messages": self.messages(query.get("channel", ""))}
            if url.path == "/_fake/calls":
                calls = [c.to_dict() for c in self.calls(query.get("method"))]
                return 200, {"ok": True, "calls": calls}
            if url.path == "/_fake/responses":
                return 200, {"ok": True, "responses": self.responses(query.get("id", ""))}
            if url.path == "/_fake/files":
                return 200, {"ok": True, "files": [f.to_dict() for f in self.files(query.get("channel"))]}
            if url.path == "/_fake/views":
                return 200, {"ok": True, "views": self.views(query.get("user", ""))}
        except KeyError as exc:
            return 404, {"ok": False, "error": str(exc.args[0])}
        return 404, {"ok": False, "error": "unknown_control_path"}

    def _serve(self, handler: _Handler) -> None:
        """Handle one HTTP request: parse, maybe delay, decide, record, hook, answer."""
        received = time.monotonic()
        url = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in handler.headers.items()}
        if url.path.startswith("/_fake/"):
            _write(handler, *self._control(url))
            return
        parse_error: ApiError | None = None
        if url.path.startswith(UPLOAD_PATH):
            # An upload's bytes are the body itself, whatever its content type says.
            method = "file_upload"
            params: dict[str, Any] = {"token": url.path.removeprefix(UPLOAD_PATH), "content": body}
        else:
            if url.path.startswith("/api/"):
                method = url.path.removeprefix("/api/")
            elif url.path.startswith("/response/"):
                method = "response_url"
            else:
                method = url.path
            try:
                params = _parse_params(url.query, body, headers.get("content-type", ""))
            except ApiError as exc:
                params, parse_error = {}, exc
        delay = self._latency.get(method, self._latency.get(None, 0.0))
        if delay:
            time.sleep(delay)
        with self._cond:
            gate = self._holds.get(method)
        if gate is not None:
            gate.wait()

        auth = headers.get("authorization", "")
        token = (
            auth.removeprefix("Bearer ").strip()
            if auth.startswith("Bearer ")
            else params.get("token")
        )
        with self._changed():
            try:
                if parse_error is not None:
                    outcome = _Outcome(parse_error.status, parse_error.body())
                elif method.startswith("/"):
                    outcome = _Outcome(404, {"ok": False, "error": "unknown_path"})
                else:
                    outcome = self._process(method, url.path, params, token)
            except Exception as exc:  # noqa: BLE001 - a fake's bug must answer, not hang the client
                traceback.print_exc()
                outcome = _Outcome(500, {"ok": False, "error": f"fake_slack_bug: {exc!r}"})
            call = Call(
                method=method,
                path=url.path,
                params=_recorded(params),
                headers=headers,
                received=received,
                status=None if outcome.drop else outcome.status,
                response=outcome.body,
                fault=outcome.fault,
            )
            self._calls.append(call)
            hook = self._on_post if method == "chat.postMessage" and call.ok else None

        if hook is not None:
            try:
                hook(call)
            except Exception:  # noqa: BLE001 - by contract: a raising hook drops the connection
                outcome.drop = True
                with self._changed():
                    index = next(i for i, c in enumerate(self._calls) if c is call)
                    self._calls[index] = dataclasses.replace(call, status=None, fault="hook_raised")
        if outcome.drop:
            handler.close_connection = True
            return
        _write(handler, outcome.status, outcome.body, outcome.headers)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # a bot's worker pool may open many connections at once

    def __init__(self, address: tuple[str, int], handler: type[_Handler], fake: FakeSlack) -> None:
        self.fake = fake
        super().__init__(address, handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        self.server.fake._serve(self)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet; the fake records calls instead."""


def _write(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: Any,
    headers: Mapping[str, str] | None = None,
) -> None:
    """Send an answer; a client that went away (e.g. killed by a hook) is not an error."""
    if isinstance(body, str):
        data, content_type = body.encode(), "text/plain; charset=utf-8"
    else:
        data, content_type = json.dumps(body).encode(), "application/json; charset=utf-8"
    extra = dict(headers or {})
    content_type = extra.pop("Content-Type", content_type)
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in extra.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
    except (BrokenPipeError, ConnectionResetError):
        pass
