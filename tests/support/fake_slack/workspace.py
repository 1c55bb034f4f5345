"""The fake workspace's ids, the default channels and people, and Slack's size limits.

Tests name these (`BOT_TOKEN`, `USER_ID`) rather than repeat literals, so a test and
the fake always agree on who the bot is.
"""

from __future__ import annotations

from collections.abc import Mapping

TEAM_ID = "T0TEAM"
TEAM_NAME = "Fake Team"
APP_ID = "A0APP"
BOT_ID = "B0BOT"
BOT_USER_ID = "U0BOT"
BOT_TOKEN = "xoxb-test"
USER_ID = "U0USER"
WORKSPACE_URL = "https://fake.slack.com"
DEFAULT_CHANNELS: Mapping[str, str] = {
    "C0SD": "sd",
    "C0FL": "fl",
    "C0ALL": "all",
    "CGENERAL": "general",
}
DEFAULT_USERS: Mapping[str, str] = {USER_ID: "alice", BOT_USER_ID: "digest-bot"}

MAX_BLOCKS = 50
#: A view (the Home tab, a modal) holds up to 100 blocks.
MAX_VIEW_BLOCKS = 100
MAX_BLOCKS_TEXT = 12_000
MAX_TEXT = 40_000
RESPONSE_URL_USES = 5
SCHEMA_ENV = "SLACK_BLOCK_KIT_SCHEMA"

JSON_FIELDS = ("blocks", "attachments", "metadata", "view", "files")
#: The path uploads go to (files.getUploadURLExternal hands out URLs under it).
UPLOAD_PATH = "/upload/v1/"
