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

The package follows Slack's API families, one module each: `server` (HTTP, lifecycle,
dispatch), `chat`, `conversations`, `files` (upload v2), `views` (views, users, team),
`responses` (response_url), `faults` (rate limits and failure injection), `assistant`
(assistant.threads.setStatus / setSuggestedPrompts / setTitle, the panel's threads), over
`state` (the one lock and what it guards), `validation` (Block Kit), `wire` and
`records`. Tests import every name from here.
"""

from __future__ import annotations

from tests.support.fake_slack.errors import ApiError
from tests.support.fake_slack.records import Call, UploadedFile
from tests.support.fake_slack.server import FakeSlack
from tests.support.fake_slack.validation import (
    validate_blocks,
    validate_message,
    validate_view,
)
from tests.support.fake_slack.workspace import (
    APP_ID,
    BOT_ID,
    BOT_TOKEN,
    BOT_USER_ID,
    DEFAULT_CHANNELS,
    DEFAULT_USERS,
    MAX_BLOCKS,
    MAX_BLOCKS_TEXT,
    MAX_TEXT,
    MAX_VIEW_BLOCKS,
    RESPONSE_URL_USES,
    SCHEMA_ENV,
    TEAM_ID,
    TEAM_NAME,
    UPLOAD_PATH,
    USER_ID,
    WORKSPACE_URL,
)

__all__ = [
    "APP_ID",
    "BOT_ID",
    "BOT_TOKEN",
    "BOT_USER_ID",
    "DEFAULT_CHANNELS",
    "DEFAULT_USERS",
    "MAX_BLOCKS",
    "MAX_BLOCKS_TEXT",
    "MAX_TEXT",
    "MAX_VIEW_BLOCKS",
    "RESPONSE_URL_USES",
    "SCHEMA_ENV",
    "TEAM_ID",
    "TEAM_NAME",
    "UPLOAD_PATH",
    "USER_ID",
    "WORKSPACE_URL",
    "ApiError",
    "Call",
    "FakeSlack",
    "UploadedFile",
    "validate_blocks",
    "validate_message",
    "validate_view",
]
