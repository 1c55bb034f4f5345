"""HTTP mode: Bolt behind Starlette + uvicorn, with `/slack/events` and `/healthz`.

Bolt's own development server is not for production; this serves the same
`App` through an ASGI app. Dispatch runs in a worker thread so one slow
request never stalls the others (Bolt's sync App is thread-safe per request);
the listeners only acknowledge and queue work (`bot.slack.app`).

Whatever arrives is checked before Bolt sees it, so that a stranger's bytes
get a 4xx and one line in the log, never a 500 with a traceback: the body's
size and the time it takes to arrive are bounded (408 for a request that
stops halfway), the signature is verified before the body is parsed, and a
body that is not the JSON or form Slack sends is refused with 400. A
connection that never finishes its request headers is closed
(`HeaderTimeoutProtocol`).
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.starlette.handler import to_starlette_response
from slack_bolt.context.context import BoltContext
from slack_bolt.request.internals import build_context
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.slack import shapes

log = logging.getLogger(__name__)

#: Larger bodies are not Slack's: refuse them before reading them whole.
MAX_BODY_BYTES = 1_000_000
#: Seconds a request's headers, and then its body, may take to arrive.
READ_TIMEOUT = 10.0
#: Seconds an idle kept-alive connection stays open.
KEEP_ALIVE = 5
#: Refused signatures in a row after which the signing secret is suspected (one warning).
SUSPECT_SECRET_AFTER = 5
#: Seconds a signed request's timestamp may be off (Slack's own rule).
SIGNATURE_MAX_AGE = 60 * 5


class HeaderTimeoutProtocol(H11Protocol):
    """uvicorn's h11 protocol, closing connections whose request headers never finish.

    uvicorn times out idle kept-alive connections but waits forever for the
    rest of a request's headers (a "slowloris"); here every request gets
    `READ_TIMEOUT` seconds from its first byte (or from the connection's
    start) to its last header.
    """

    @property
    def header_timeout(self) -> float:
        return READ_TIMEOUT

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._waiting_for_headers():
            self._arm()
        super().data_received(data)
        if not self._waiting_for_headers():
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _waiting_for_headers(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        if getattr(self, "_header_timer", None) is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._headers_timed_out)

    def _disarm(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _headers_timed_out(self) -> None:
        self._header_timer = None
        if self._waiting_for_headers() and not self.transport.is_closing():
            log.info("closed a connection whose request headers did not arrive within %.0f s", self.header_timeout)
            self.transport.close()


class SignatureWatch:
    """Counts signatures refused in a row, so that a wrong `SLACK_SIGNING_SECRET` is said.

    With the wrong secret every `/papers` fails in Slack ("dispatch_failed")
    and the bot only saw refused requests, one INFO line each. After
    `after` refusals in a row (a stranger's stray request is one, not five)
    one WARNING names the setting; a good signature ends the run, and a new
    run is said again. `/healthz` shows `as_dict()`.
    """

    def __init__(self, after: int = SUSPECT_SECRET_AFTER) -> None:
        self.after = after
        self._lock = threading.Lock()
        self._in_a_row = 0

    def refused(self) -> None:
        with self._lock:
            self._in_a_row += 1
            said = self._in_a_row == self.after
        if said:
            log.warning("%s", self.warning(self.after))

    def accepted(self) -> None:
        with self._lock:
            self._in_a_row = 0

    @staticmethod
    def warning(count: int) -> str:
        return (
            f"{count} requests in a row to /slack/events had a wrong signature: is SLACK_SIGNING_SECRET "
            "the app's Signing Secret (api.slack.com/apps → Basic Information → App Credentials)? "
            "Until it is, every /papers fails in Slack"
        )

    def as_dict(self) -> dict[str, Any]:
        with self._lock:
            count = self._in_a_row
        return {"refused_in_a_row": count, "warning": self.warning(count) if count >= self.after else None}


class _BadRequest(Exception):
    """A request refused before Bolt sees it: its status and the one line said about it."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class SlackHttpRequest(BoltRequest):
    """A BoltRequest that reads slash commands whose text contains "payload".

    Bolt takes any form body containing the word "payload" for an
    interactivity payload and, finding no `payload=` field, reads it as empty:
    `/papers adversarial payload attacks` would get a 404. A form body with a
    `command` field and no `payload` field is read as the form it is.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if self.body or not self.raw_body or self.content_type != "application/x-www-form-urlencoded":
            return
        fields = dict(parse_qsl(self.raw_body, keep_blank_values=True))
        if "command" in fields and "payload" not in fields:
            self.body = fields
            self.context = build_context(BoltContext(kwargs.get("context") or {}), self.body)

    def to_copyable(self) -> BoltRequest:
        """Copies (Bolt makes them for lazy listeners) must read the body the same way."""
        body: str | dict[str, Any] = self.raw_body if self.mode == "http" else self.body
        return SlackHttpRequest(
            body=body, query=self.query, headers=self.headers, context=self.context.to_copyable(), mode=self.mode
        )


def create_asgi_app(
    app: App,
    *,
    health: Callable[[], dict[str, Any]] | None = None,
    signing_secret: str | None = None,
    read_timeout: float | None = None,
) -> Starlette:
    """The ASGI app: `POST /slack/events` for Bolt, `GET /healthz` for load balancers.

    `signing_secret` verifies each request before its body is parsed (Bolt
    verifies it again); without it only Bolt checks, after parsing. `health`
    returns the details `/healthz` shows; a `"status"` other than "ok" in them
    answers 503. `read_timeout` bounds the body's arrival (default `READ_TIMEOUT`).
    """
    verifier = SignatureVerifier(signing_secret) if signing_secret else None
    watch = SignatureWatch()

    async def events(request: Request) -> Response:
        timeout = read_timeout if read_timeout is not None else READ_TIMEOUT
        try:
            body = await asyncio.wait_for(_read_body(request), timeout=timeout)
            text = _check(body, request, verifier, watch)
            bolt_request = SlackHttpRequest(body=text, query=request.url.query, headers=dict(request.headers))
        except _BadRequest as bad:
            log.info("refused a request to /slack/events (%d): %s", bad.status, bad.reason)
            return Response(bad.reason, status_code=bad.status)
        except TimeoutError:
            log.info("refused a request to /slack/events (408): its body did not arrive within %.1f s", timeout)
            return Response("request body incomplete", status_code=408)
        except ClientDisconnect:
            return Response("client went away", status_code=400)
        bolt_response = await run_in_threadpool(app.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    async def healthz(_: Request) -> Response:
        try:
            details = await run_in_threadpool(health) if health is not None else {}
        except Exception as err:  # a health check must answer, whatever broke
            log.exception("the health check itself failed")
            details = {"status": "error", "problem": f"{type(err).__name__}: {err}"}
        details = {"status": "ok", **details}
        if verifier is not None:
            details["signatures"] = watch.as_dict()
        return JSONResponse(details, status_code=200 if details["status"] == "ok" else 503)

    return Starlette(
        routes=[
            Route("/slack/events", events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


async def _read_body(request: Request) -> bytes:
    """The body, refused (413) as soon as it is longer than any of Slack's."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        raise _BadRequest(413 if length.isdigit() else 400, "request body too large" if length.isdigit() else "bad Content-Length")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _BadRequest(413, "request body too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _check(body: bytes, request: Request, verifier: SignatureVerifier | None, watch: SignatureWatch) -> str:
    """The body as text once it is signed and shaped like Slack's, else `_BadRequest`.

    A signature that does not match a fresh timestamp counts in `watch` (a
    wrong signing secret); an expired one does not (a replay, or a clock off).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _BadRequest(400, "request body is not UTF-8") from None
    if verifier is not None:
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        if not timestamp or not signature:
            raise _BadRequest(401, "request is not signed")
        if not timestamp.isdigit():
            raise _BadRequest(400, "X-Slack-Request-Timestamp is not a number")
        if abs(time.time() - int(timestamp)) > SIGNATURE_MAX_AGE:
            raise _BadRequest(401, "expired signature (is this machine's clock right?)")
        if not verifier.is_valid(body, timestamp, signature):
            watch.refused()
            raise _BadRequest(401, "invalid signature")
        watch.accepted()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        parsed = _parse_like_bolt(text, content_type)
    except ValueError as err:  # json.JSONDecodeError is a ValueError
        raise _BadRequest(400, f"request body is not Slack's JSON or form: {str(err)[:80]}") from None
    if not isinstance(parsed, dict):
        raise _BadRequest(400, "request body is not a JSON object")
    if (wrong := shapes.problem(parsed)) is not None:
        raise _BadRequest(400, f"request body is not shaped like Slack's: {wrong}")
    return text


def _parse_like_bolt(text: str, content_type: str) -> Any:
    """Parse as Bolt will (`slack_bolt.request.internals.parse_body`), to refuse what it cannot."""
    if not text:
        return {}
    if content_type == "application/json" or text.startswith("{"):
        return json.loads(text)
    fields = dict(parse_qsl(text, keep_blank_values=True))
    if "payload" in fields:
        return json.loads(fields["payload"])
    return fields


def server_config(asgi: Starlette, *, port: int, host: str = "0.0.0.0") -> Any:
    """uvicorn's settings for the bot: h11 with header timeouts, short keep-alive, quiet logs."""
    import uvicorn

    return uvicorn.Config(
        asgi,
        host=host,
        port=port,
        http=HeaderTimeoutProtocol,
        timeout_keep_alive=KEEP_ALIVE,
        log_level="warning",
        access_log=False,
    )


class CannotListen(Exception):
    """The address and port cannot be had; the message is the line that fixes it."""


def bind_socket(host: str, port: int) -> socket.socket:
    """A socket bound to (host, port), not yet listening: taken before anything else starts.

    `serve` listens on it once the bot is ready, so a port that is taken (or an
    address that is not this machine's) stops the start before anything is
    posted, with the setting to change (`CannotListen`). Until then a
    connection is refused, as when the bot is not running.
    """
    where = f"{host} port {port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except (socket.gaierror, UnicodeError) as err:
        raise CannotListen(
            f"cannot listen on {where}: DIGEST_BIND_ADDRESS {host!r} is not an address of this machine ({err}); "
            "set DIGEST_BIND_ADDRESS to 0.0.0.0 (every interface) or 127.0.0.1"
        ) from None
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart's TIME_WAIT is no conflict
        sock.bind(address)
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            fix = "another program (or another digest-bot) listens there; set PORT to a free port, or stop it"
        elif err.errno == errno.EACCES:
            fix = "ports below 1024 need privileges; set PORT to 1024 or above (e.g. 3000)"
        elif err.errno == errno.EADDRNOTAVAIL:
            fix = (
                "that address is not this machine's; "
                "set DIGEST_BIND_ADDRESS to 0.0.0.0 (every interface) or 127.0.0.1"
            )
        else:
            fix = "check PORT and DIGEST_BIND_ADDRESS"
        raise CannotListen(f"cannot listen on {where} ({err.strerror or err}): {fix}") from None
    return sock


def serve(asgi: Starlette, *, port: int, host: str = "0.0.0.0", sock: socket.socket | None = None) -> None:
    """Serve until SIGINT/SIGTERM (uvicorn handles both gracefully), on `sock` if bound already."""
    import signal

    import uvicorn

    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again for
    # the handler it found: make that one return, so the bot exits 0 after a
    # clean stop instead of dying of the signal.
    signal.signal(signal.SIGTERM, lambda *_: log.info("stopped on SIGTERM"))
    if sock is None:
        sock = bind_socket(host, port)
    log.info("HTTP mode: listening on %s:%d (POST /slack/events, GET /healthz)", host, port)
    uvicorn.Server(server_config(asgi, port=port, host=host)).run(sockets=[sock])
