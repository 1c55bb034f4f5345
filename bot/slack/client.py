"""Slack Web API clients, all pointed at SLACK_API_URL, all with retry handlers.

Two flavours, on purpose:

- `web_client` (lookups, answers, reactions): retries 429s after `Retry-After`
  and connection errors, as slack_sdk recommends.
- `posting_client` (the weekly publisher): retries 429s only. A connection that
  drops after Slack accepted a `chat.postMessage` would make slack_sdk's
  connection-error handler post the same message again; the publisher instead
  looks the message up by its metadata before it tries again (exactly once).
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from bot.config import DEFAULT_API_URL

#: Rate-limit retries per call: Slack's 429s are common when a digest is posted.
RATE_LIMIT_RETRIES = 5
CONNECTION_RETRIES = 2
TIMEOUT_SECONDS = 15


def web_client(token: str | None, base_url: str = DEFAULT_API_URL) -> WebClient:
    """A client for ordinary calls: rate-limit and connection-error retries."""
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=TIMEOUT_SECONDS,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
        ],
    )


def posting_client(token: str | None, base_url: str = DEFAULT_API_URL) -> WebClient:
    """A client for posts that must happen exactly once: 429 retries only."""
    return WebClient(
        token=token,
        base_url=base_url,
        timeout=TIMEOUT_SECONDS,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)],
    )
