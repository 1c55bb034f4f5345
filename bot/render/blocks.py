"""Tiny Block Kit builders: one place that knows the JSON shape of each block.

They take text that is already safe (escaped mrkdwn, or `plain()` text) and
never shorten it; the callers decide what fits. Every mrkdwn object is
`verbatim` so Slack doesn't auto-link names or URLs inside archive text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from bot.render.mrkdwn import BUTTON_TEXT, ID_LENGTH, is_linkable, truncate

Block = dict[str, Any]
Message = dict[str, Any]


def mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def plain_text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


_ID_UNSAFE = re.compile(r"[^A-Za-z0-9._:/-]")


def block_id(*parts: str) -> str:
    """A block or action id from parts: ASCII only, within Slack's 255 characters."""
    return _ID_UNSAFE.sub("_", ":".join(parts))[:ID_LENGTH]


def header(text: str, *, bid: str | None = None) -> Block:
    block: Block = {"type": "header", "text": plain_text(text)}
    if bid:
        block["block_id"] = block_id(bid)
    return block


def section(text: str, *, bid: str | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if bid:
        block["block_id"] = block_id(bid)
    return block


def context(elements: Sequence[str], *, bid: str | None = None) -> Block:
    """A context block of mrkdwn elements (empty ones dropped; the caller keeps ≤ 10)."""
    block: Block = {"type": "context", "elements": [mrkdwn(e) for e in elements if e.strip()]}
    if bid:
        block["block_id"] = block_id(bid)
    return block


def divider() -> Block:
    return {"type": "divider"}


def actions(elements: Sequence[dict[str, Any]], *, bid: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": list(elements)}
    if bid:
        block["block_id"] = block_id(bid)
    return block


def button(
    label: str,
    *,
    action_id: str,
    value: str | None = None,
    url: str | None = None,
    style: str | None = None,
) -> dict[str, Any]:
    """A button; `label` is plain text (shortened to 75), `url` only if safe to open."""
    element: dict[str, Any] = {
        "type": "button",
        "text": plain_text(truncate(label, BUTTON_TEXT) or "…"),
        "action_id": block_id(action_id),
    }
    if value:
        element["value"] = value
    if url and is_linkable(url):
        element["url"] = url
    if style:
        element["style"] = style
    return element
