"""views.publish in the fake: the Home tab recorded, views Slack would reject rejected.

Driven with the real slack_sdk WebClient, so a test that passes against the fake
exercises the same bytes as production.
"""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk import WebClient

from tests.fake.conftest import api_error, section
from tests.support.fake_slack import BOT_USER_ID, USER_ID, FakeSlack, validate_view

#: Whom the fake Slack knows: read by the `fake_slack` fixture (tests/conftest.py).
FAKE_SLACK_OPTIONS = {"users": {USER_ID: "alice", "U0BOB": "bob", BOT_USER_ID: "digest-bot"}}


def test_views_publish_records_the_home_tab(fake: FakeSlack, plain_client: WebClient) -> None:
    view = {"type": "home", "blocks": [section("hello")]}
    published = plain_client.views_publish(user_id=USER_ID, view=view)["view"]
    home = fake.home(USER_ID)
    assert home is not None and home["blocks"] == view["blocks"]
    stale = published["hash"]
    plain_client.views_publish(user_id=USER_ID, view={"type": "home", "blocks": [section("v2")]}, hash=stale)
    conflict = api_error(lambda: plain_client.views_publish(user_id=USER_ID, view=view, hash=stale))
    assert conflict.response["error"] == "hash_conflict"
    assert [v["blocks"][0]["text"]["text"] for v in fake.views(USER_ID)] == ["hello", "v2"]
    assert fake.home("U0BOB") is None

@pytest.mark.parametrize(
    ("view", "pointer"),
    [
        ({"type": "modal", "blocks": []}, "/view/type"),
        ({"type": "home", "blocks": [section("x")] * 101}, "/view/blocks"),
        ({"type": "home", "blocks": [section("")]}, "/view/blocks/0/text/text"),
        ({"type": "home", "blocks": [section("x", block_id="a"), section("y", block_id="a")]}, "/view/blocks/1/block_id"),
        ({"type": "home", "blocks": [], "private_metadata": "x" * 3001}, "/view/private_metadata"),
        ({"type": "home", "blocks": [], "title": "nope"}, "/view/title"),
    ],
)
def test_views_slack_would_reject_are_rejected(
    fake: FakeSlack, plain_client: WebClient, view: dict[str, Any], pointer: str
) -> None:
    failure = api_error(lambda: plain_client.views_publish(user_id=USER_ID, view=view))
    assert failure.response["error"] == "invalid_arguments"
    assert any(m.endswith(f"[json-pointer:{pointer}]") for m in failure.response["response_metadata"]["messages"])
    assert fake.home(USER_ID) is None

def test_a_home_tab_of_100_blocks_is_valid_and_needs_no_message_text_budget() -> None:
    validate_view({"type": "home", "blocks": [section("x" * 2900) for _ in range(100)]})
