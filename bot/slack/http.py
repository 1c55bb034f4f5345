"""HTTP mode: Bolt behind Starlette + uvicorn, with `/slack/events` and `/healthz`.

Bolt's own development server is not for production; this serves the same
`App` through an ASGI app. Dispatch runs in a worker thread so one slow
request never stalls the others (Bolt's sync App is thread-safe per request).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.starlette.handler import to_starlette_response
from slack_bolt.context.context import BoltContext
from slack_bolt.request.internals import build_context
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

log = logging.getLogger(__name__)

#: Larger bodies are not Slack's: refuse them before reading them whole.
MAX_BODY_BYTES = 1_000_000


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


def create_asgi_app(app: App, *, health: Callable[[], dict[str, Any]] | None = None) -> Starlette:
    """The ASGI app: `POST /slack/events` for Bolt, `GET /healthz` for load balancers."""

    async def events(request: Request) -> Response:
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > MAX_BODY_BYTES:
            return Response("request body too large", status_code=413)
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return Response("request body too large", status_code=413)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return Response("request body is not UTF-8", status_code=400)
        bolt_request = SlackHttpRequest(body=text, query=request.url.query, headers=dict(request.headers))
        bolt_response = await run_in_threadpool(app.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    async def healthz(_: Request) -> Response:
        details = await run_in_threadpool(health) if health is not None else {}
        return JSONResponse({"status": "ok", **details})

    return Starlette(
        routes=[
            Route("/slack/events", events, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


def serve(asgi: Starlette, *, port: int, host: str = "0.0.0.0") -> None:
    """Serve until SIGINT/SIGTERM (uvicorn handles both gracefully)."""
    import signal

    import uvicorn

    # uvicorn shuts down gracefully on SIGTERM, then raises the signal again for
    # the handler it found: make that one return, so the bot exits 0 after a
    # clean stop instead of dying of the signal.
    signal.signal(signal.SIGTERM, lambda *_: log.info("stopped on SIGTERM"))
    log.info("HTTP mode: listening on %s:%d (POST /slack/events, GET /healthz)", host, port)
    uvicorn.run(asgi, host=host, port=port, log_level="warning", access_log=False)
