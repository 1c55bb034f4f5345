"""response_url in the fake: payloads recorded, expired after five uses.

Driven with the real slack_sdk WebClient, so a test that passes against the fake
exercises the same bytes as production.
"""

from __future__ import annotations

import json

from slack_sdk.webhook import WebhookClient

from tests.fake.conftest import section
from tests.support.fake_slack import FakeSlack


def test_response_url_records_payloads_and_expires_after_five_uses(fake: FakeSlack) -> None:
    url = fake.new_response_url()
    webhook = WebhookClient(url)
    first = webhook.send(text="results", blocks=[section("r")], response_type="ephemeral")
    assert (first.status_code, first.body) == (200, "ok")
    webhook.send(text="page 2", replace_original=True)

    bad = webhook.send(text="x", blocks=[section("")])
    assert bad.status_code == 400 and "invalid_blocks" in bad.body

    for _ in range(3):
        webhook.send(text="more")
    expired = webhook.send(text="sixth")
    assert expired.status_code == 404 and json.loads(expired.body) == {"error": "expired_url"}

    payloads = fake.responses(url)
    assert len(payloads) == 5
    assert payloads[0]["response_type"] == "ephemeral" and payloads[0]["blocks"] == [section("r")]
    assert payloads[1]["replace_original"] is True
    assert [c.status for c in fake.calls("response_url")] == [200, 200, 400, 200, 200, 200, 404]
