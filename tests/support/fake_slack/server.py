"""`FakeSlack`: the HTTP server, its lifecycle, and the dispatch of each request to its API family.

The families are mixins (`chat`, `conversations`, `files`, `views`, `responses`,
`faults`, `assistant`) over one `FakeState`; this module only wires them to HTTP: parse, delay,
fault, answer, record.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Self, TypeVar
from urllib.parse import SplitResult, parse_qs, urlsplit

from tests.support.fake_slack.assistant import AssistantMethods
from tests.support.fake_slack.chat import ChatMethods
from tests.support.fake_slack.conversations import ConversationsMethods
from tests.support.fake_slack.errors import ApiError
from tests.support.fake_slack.faults import Fault, FaultInjection, RateLimit, Window
from tests.support.fake_slack.files import FilesMethods
from tests.support.fake_slack.records import Call, Channel, Outcome, UploadedFile
from tests.support.fake_slack.responses import ResponseUrls
from tests.support.fake_slack.views import ViewsUsersTeam
from tests.support.fake_slack.wire import parse_params, recorded, write_answer
from tests.support.fake_slack.workspace import (
    BOT_TOKEN,
    DEFAULT_CHANNELS,
    DEFAULT_USERS,
    UPLOAD_PATH,
)

T = TypeVar("T")


class FakeSlack(
    ChatMethods, ConversationsMethods, FilesMethods, ViewsUsersTeam, ResponseUrls, FaultInjection, AssistantMethods
):
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
            "assistant.threads.setStatus": self._assistant_set_status,
            "assistant.threads.setSuggestedPrompts": self._assistant_set_suggested_prompts,
            "assistant.threads.setTitle": self._assistant_set_title,
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
        self._channels = {cid: Channel(cid, name) for cid, name in channels.items()}
        self._views: dict[str, list[dict[str, Any]]] = {}
        self._files: dict[str, UploadedFile] = {}
        self._uploads: dict[str, str] = {}  # upload URL token -> file id
        self._calls: list[Call] = []
        self._responses: dict[str, list[dict[str, Any]]] = {}
        self._faults: list[Fault] = []
        self._rate_limits: dict[str, RateLimit] = {}
        self._windows: dict[str, Window] = {}
        self._latency: dict[str | None, float] = {}
        for gate in getattr(self, "_holds", {}).values():
            gate.set()  # nothing stays parked across a reset
        self._holds: dict[str, threading.Event] = {}
        self._on_post: Callable[[Call], None] | None = None
        self._composer_unfurls: dict[str, dict[str, Any]] = {}
        self._assistant: dict[tuple[str, str], dict[str, Any]] = {}

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

    def reset(self) -> None:
        """Back to the constructor's state; the server, its port and ts order carry on."""
        with self._changed():
            self._restore()

    def calls(self, method: str | None = None) -> list[Call]:
        """Recorded requests (of one method), oldest first."""
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

    def wait_for(self, predicate: Callable[[], T | Literal[False] | None], timeout: float = 5.0) -> T:
        """Return the predicate's first truthy value; wakes on every change of the fake.

        A predicate may say "not yet" with False or None (`cond and value`, `d.get(key)`): the value
        returned is typed without them.

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

    # ---- request processing --------------------------------------------------------

    def _process(
        self, method: str, path: str, params: dict[str, Any], token: str | None
    ) -> Outcome:
        """Decide the answer to one request, faults first; called with the lock held."""
        injected = self._injected_before(method, params)
        if injected is not None:
            return injected
        if method == "response_url":
            outcome = self._response_post(path, params)
        elif method == "file_upload":
            outcome = self._upload_post(params)
        else:
            outcome = self._api_call(method, params, token)
        self._injected_after(method, params, outcome)
        return outcome

    def _api_call(self, method: str, params: dict[str, Any], token: str | None) -> Outcome:
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
                return Outcome(200, {"ok": False, "error": fault.error}, fault="failed")
            return Outcome(200, {"ok": True, **handler(params)})
        except ApiError as exc:
            return Outcome(exc.status, exc.body())

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
            write_answer(handler, *self._control(url))
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
                params = parse_params(url.query, body, headers.get("content-type", ""))
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
                    outcome = Outcome(parse_error.status, parse_error.body())
                elif method.startswith("/"):
                    outcome = Outcome(404, {"ok": False, "error": "unknown_path"})
                else:
                    outcome = self._process(method, url.path, params, token)
            except Exception as exc:  # noqa: BLE001 - a fake's bug must answer, not hang the client
                traceback.print_exc()
                outcome = Outcome(500, {"ok": False, "error": f"fake_slack_bug: {exc!r}"})
            call = Call(
                method=method,
                path=url.path,
                params=recorded(params),
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
        write_answer(handler, outcome.status, outcome.body, outcome.headers)


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
