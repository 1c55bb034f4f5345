"""A local fake of an OpenAI-compatible server: `POST /v1/chat/completions`, programmable.

It serves on 127.0.0.1 (a free port) in a thread, records every request's JSON body
and headers, and answers as told: a reply (with its `finish_reason`), an HTTP error,
a body that is not JSON, or no answer at all until the fake is closed (`hang`), so
the model writer is tested through the real `openai` client over real HTTP.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

PATH = "/v1/chat/completions"
#: The longest a hung request is held: closing the fake ends it long before.
HANG_BOUND = 30.0
#: How often the serving loop looks for `close()` (so a test's teardown takes no longer).
POLL = 0.02


@dataclass(frozen=True)
class Received:
    """One request as the fake read it."""

    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))


@dataclass(frozen=True)
class Behaviour:
    """What the fake does with a request."""

    kind: str  # "reply", "fail", "hang", "garbage"
    text: str = ""
    finish_reason: str = "stop"
    status: int = 200
    content_type: str = "application/json"


@dataclass
class _State:
    standing: Behaviour = field(default_factory=lambda: Behaviour("reply", text="No answer set [1]."))
    queued: deque[Behaviour] = field(default_factory=deque)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    closing: threading.Event = field(default_factory=threading.Event)

    def next(self) -> Behaviour:
        with self.lock:
            return self.queued.popleft() if self.queued else self.standing


class FakeLlm:
    """The fake server; a context manager. Behaviours set with `once=True` serve the next request only."""

    def __init__(self) -> None:
        self._state = _State()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self._state))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": POLL}, name="fake-llm", daemon=True
        )
        self._thread.start()
        self._closed = False

    @property
    def url(self) -> str:
        """The base URL a client is given (`…/v1`)."""
        host, port = self._server.server_address[:2]
        assert isinstance(host, str)  # an AF_INET server's address (bytes only for AF_UNIX)
        return f"http://{host}:{port}/v1"

    @property
    def requests(self) -> list[Received]:
        with self._state.lock:
            return list(self._state.requests)

    def reply(self, text: str, finish_reason: str = "stop", *, once: bool = False) -> None:
        self._set(Behaviour("reply", text=text, finish_reason=finish_reason), once)

    def fail(self, status: int = 500, *, once: bool = False) -> None:
        self._set(Behaviour("fail", status=status), once)

    def hang(self, *, once: bool = False) -> None:
        self._set(Behaviour("hang"), once)

    def garbage(self, content_type: str = "application/json", *, once: bool = False) -> None:
        self._set(Behaviour("garbage", content_type=content_type), once)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._state.closing.set()  # releases every hung request at once
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _set(self, behaviour: Behaviour, once: bool) -> None:
        with self._state.lock:
            if once:
                self._state.queued.append(behaviour)
            else:
                self._state.standing = behaviour
                self._state.queued.clear()


def completion(text: str, finish_reason: str, model: str) -> dict[str, Any]:
    """A chat.completion body as OpenAI's API returns it."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
    }


def _handler(state: _State) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                self._send(400, {"error": {"message": "not JSON", "type": "invalid_request_error"}})
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            with state.lock:
                state.requests.append(Received(self.path, headers, body))
            if self.path != PATH:
                self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
                return
            behaviour = state.next()
            if behaviour.kind == "hang":
                state.closing.wait(HANG_BOUND)
                return
            if behaviour.kind == "fail":
                error = {"message": "the fake fails as told", "type": "server_error"}
                self._send(behaviour.status, {"error": error})
            elif behaviour.kind == "garbage":
                self._send_raw(200, b"<html>this is not JSON", behaviour.content_type)
            else:
                model = str(body.get("model", "fake"))
                self._send(200, completion(behaviour.text, behaviour.finish_reason, model))

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            self._send_raw(status, json.dumps(payload).encode(), "application/json")

        def _send_raw(self, status: int, data: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
