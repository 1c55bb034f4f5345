"""Slack Web API clients, all pointed at SLACK_API_URL, all with retry handlers.

Three flavours, on purpose:

- `web_client` (lookups, answers, reactions): retries connection errors, and
  429s only when Slack asks to wait a moment (`Retry-After` of at most
  `LOOKUP_MAX_RETRY_AFTER` s, once). Its calls run on the delivery threads
  that answer `/papers`: sleeping out a long rate limit there starved every
  lookup (a Home-tab storm delayed answers by 46-60 s).
- `without_rate_limit_retries(client)`: the same client, a 429 raised at once
  (`SlackApiError`, status 429, `Retry-After` header), for a caller that waits
  it out on a thread of its own (the Home tab's queue, `bot.slack.work`).
- `posting_client` (the weekly publisher): retries 429s only. A connection that
  drops after Slack accepted a `chat.postMessage` would make slack_sdk's
  connection-error handler post the same message again; the publisher instead
  looks the message up by its metadata before it tries again (exactly once).
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

from bot.config import DEFAULT_API_URL

#: Rate-limit retries per call: Slack's 429s are common when a digest is posted.
RATE_LIMIT_RETRIES = 5
CONNECTION_RETRIES = 2
TIMEOUT_SECONDS = 15
#: The longest `Retry-After` a lookup's call waits out (on a delivery thread), and how often.
LOOKUP_MAX_RETRY_AFTER = 2
LOOKUP_RATE_LIMIT_RETRIES = 1


def retry_after(response: HttpResponse | None) -> int | None:
    """Seconds in a 429's `Retry-After` header (None: none, or not a number)."""
    if response is None:
        return None
    for name, values in response.headers.items():
        if name.lower() == "retry-after":
            value = values[0] if isinstance(values, list) and values else values
            text = str(value).strip()
            return int(text) if text.isdigit() else None
    return None


class ShortRateLimitRetryHandler(RateLimitErrorRetryHandler):
    """Retries a 429 only when Slack asks to wait at most `max_wait` seconds; a longer
    wait is the caller's to handle (the call fails with the 429), not a thread's to sleep."""

    def __init__(self, *, max_wait: int = LOOKUP_MAX_RETRY_AFTER, max_retry_count: int = LOOKUP_RATE_LIMIT_RETRIES) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if not super()._can_retry(state=state, request=request, response=response, error=error):
            return False
        wait = retry_after(response)
        return wait is not None and wait <= self.max_wait


def web_client(token: str | None, base_url: str = DEFAULT_API_URL) -> WebClient:
    """A client for ordinary calls: connection-error retries, short rate limits waited out."""
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=TIMEOUT_SECONDS,
        retry_handlers=[
            ShortRateLimitRetryHandler(),
            ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
        ],
    )


def without_rate_limit_retries(client: WebClient) -> WebClient:
    """The same client (token, URL, timeout), raising a 429 at once instead of sleeping on it."""
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        retry_handlers=[h for h in client.retry_handlers if not isinstance(h, RateLimitErrorRetryHandler)],
    )


def rate_limit_wait(err: SlackApiError) -> int | None:
    """The `Retry-After` of a `SlackApiError` that is a 429 (None: not a rate limit)."""
    response = err.response
    if getattr(response, "status_code", None) != 429:
        return None
    headers = getattr(response, "headers", {}) or {}
    for name, value in headers.items():
        if name.lower() == "retry-after":
            text = str(value[0] if isinstance(value, list) and value else value).strip()
            return int(text) if text.isdigit() else 1
    return 1


def posting_client(token: str | None, base_url: str = DEFAULT_API_URL) -> WebClient:
    """A client for posts that must happen exactly once: 429 retries only."""
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=TIMEOUT_SECONDS,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)],
    )
