"""Block Kit validation as Slack answers it, shared by chat.*, response_url, unfurls and views.

Public (`validate_message`, `validate_view`) so rendering tests check their output
against the same rules the fake's methods apply.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.render.limits import blocks_text_len
from tests.support.block_kit import slack_problems
from tests.support.fake_slack.errors import ApiError
from tests.support.fake_slack.workspace import (
    MAX_BLOCKS,
    MAX_BLOCKS_TEXT,
    MAX_TEXT,
    MAX_VIEW_BLOCKS,
)


def validate_blocks(blocks: list[Any], *, max_blocks: int = MAX_BLOCKS, text_limit: bool = True) -> None:
    """Raise `ApiError` as Slack would for these blocks (count, schema, ids, total text).

    Messages hold 50 blocks and about 12,000 characters of text; views
    (`max_blocks=100`, `text_limit=False`) hold 100 blocks.
    """
    if len(blocks) > max_blocks:
        raise ApiError(
            "invalid_blocks",
            [f"[ERROR] no more than {max_blocks} items allowed [json-pointer:/blocks]"],
        )
    problems = slack_problems(blocks)
    if problems:
        raise ApiError("invalid_blocks", problems)
    if text_limit and blocks_text_len(blocks) > MAX_BLOCKS_TEXT:
        raise ApiError(
            "msg_blocks_too_long",
            [f"[ERROR] more than {MAX_BLOCKS_TEXT} characters of text [json-pointer:/blocks]"],
        )


def validate_message(text: Any = None, blocks: Any = None, attachments: Any = None) -> None:
    """Raise `ApiError` for a message Slack would reject (`no_text`, `msg_too_long`, ...).

    Public so that rendering tests can check their output against the same rules.
    """
    if blocks is not None and not isinstance(blocks, list):
        raise ApiError(
            "invalid_blocks_format", ["[ERROR] must be a JSON array [json-pointer:/blocks]"]
        )
    if attachments is not None and not isinstance(attachments, list):
        raise ApiError("invalid_attachments")
    if not text and not blocks and not attachments:
        raise ApiError("no_text")
    if isinstance(text, str) and len(text) > MAX_TEXT:
        raise ApiError("msg_too_long")
    if blocks:
        validate_blocks(blocks)


#: Top-level fields of a Home tab view, and the length limits Slack sets on them.
_VIEW_FIELDS = {"type", "blocks", "private_metadata", "callback_id", "external_id"}
_VIEW_LIMITS = {"private_metadata": 3000, "callback_id": 255, "external_id": 255}


def validate_view(view: Any, *, kinds: Iterable[str] = ("home",)) -> None:
    """Raise `ApiError` for a view Slack would reject (views.publish: a Home tab).

    Public so that rendering tests can check a Home tab against the same rules.
    """
    if not isinstance(view, dict):
        raise ApiError("invalid_arguments", ["[ERROR] must be an object [json-pointer:/view]"])
    if view.get("type") not in tuple(kinds):
        raise ApiError("invalid_arguments", ["[ERROR] must be a valid enum value [json-pointer:/view/type]"])
    extra = sorted(set(view) - _VIEW_FIELDS)
    if extra:
        raise ApiError(
            "invalid_arguments",
            [f"[ERROR] invalid additional property: {extra[0]} [json-pointer:/view/{extra[0]}]"],
        )
    for name, limit in _VIEW_LIMITS.items():
        value = view.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            raise ApiError(
                "invalid_arguments",
                [f"[ERROR] must be less than {limit + 1} characters [json-pointer:/view/{name}]"],
            )
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        raise ApiError("invalid_arguments", ["[ERROR] missing required field: blocks [json-pointer:/view]"])
    try:
        validate_blocks(blocks, max_blocks=MAX_VIEW_BLOCKS, text_limit=False)
    except ApiError as exc:
        raise ApiError(
            "invalid_arguments",
            [m.replace("[json-pointer:/blocks", "[json-pointer:/view/blocks") for m in exc.messages],
        ) from None
