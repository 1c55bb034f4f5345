"""The fake Slack's own tests (tests/support/fake_slack/), one file per API family.

Two clients drive it: `client`, built as the bot builds its own (429s and connection
errors retried), and `plain_client`, slack_sdk's client with its defaults, as the
personal layer's methods were first tested. `section` and `api_error` are the helpers
every family uses.
"""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import FixedValueRetryIntervalCalculator
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)

from tests.support.fake_slack import BOT_TOKEN, FakeSlack


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def api_error(call: Any) -> SlackApiError:
    with pytest.raises(SlackApiError) as info:
        call()
    return info.value


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    """The client the bot is meant to build: rate limits and connection errors retried."""
    return WebClient(
        token=BOT_TOKEN,
        base_url=fake.api_url,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(
                max_retry_count=2, interval_calculator=FixedValueRetryIntervalCalculator(0.01)
            ),
        ],
    )


@pytest.fixture
def plain_client(fake: FakeSlack) -> WebClient:
    """slack_sdk's client with its default retry handlers only."""
    return WebClient(token=BOT_TOKEN, base_url=fake.api_url)
