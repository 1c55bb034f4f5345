"""Check a rendered message against every Block Kit limit Slack enforces.

Renderers hold these limits by construction; `violations` is how tests (and a
cautious caller) prove it. Lengths are UTF-16 code units, as in `mrkdwn`,
which is at least what Slack counts. The public JSON Schema of Block Kit is
the tests' (`tests/support/block_kit.py`): the bot never needs it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from bot.render.mrkdwn import (
    ACTIONS_ELEMENTS,
    BUTTON_TEXT,
    BUTTON_URL,
    BUTTON_VALUE,
    CONTEXT_ELEMENTS,
    FALLBACK_TEXT,
    FIELD_TEXT,
    HEADER_TEXT,
    ID_LENGTH,
    MAX_BLOCKS,
    MAX_FIELDS,
    MESSAGE_TEXT_BUDGET,
    SECTION_TEXT,
    TEXT_OBJECT,
    text_len,
)


def blocks_text_len(node: Any) -> int:
    """All `text` strings anywhere in blocks, in UTF-16 units (Slack's ~12k rule)."""
    if isinstance(node, dict):
        return sum(
            text_len(v) if k == "text" and isinstance(v, str) else blocks_text_len(v)
            for k, v in node.items()
        )
    if isinstance(node, list):
        return sum(blocks_text_len(v) for v in node)
    return 0


def _text_objects(node: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every text object (`{"type": "mrkdwn"|"plain_text", "text": ...}`) with its path."""
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text"):
            yield path, node
            return
        for key, value in node.items():
            yield from _text_objects(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _text_objects(value, f"{path}[{i}]")


def _too_long(problems: list[str], path: str, value: Any, limit: int) -> None:
    if isinstance(value, str) and text_len(value) > limit:
        problems.append(f"{path}: {text_len(value)} characters > {limit}")


def _check_block(block: Mapping[str, Any], path: str, problems: list[str]) -> None:
    kind = block.get("type")
    if kind == "header":
        _too_long(problems, f"{path}.text.text", block.get("text", {}).get("text"), HEADER_TEXT)
    elif kind == "section":
        if "text" not in block and "fields" not in block:
            problems.append(f"{path}: section without text or fields")
        _too_long(problems, f"{path}.text.text", block.get("text", {}).get("text"), SECTION_TEXT)
        fields = block.get("fields", [])
        if len(fields) > MAX_FIELDS:
            problems.append(f"{path}.fields: {len(fields)} fields > {MAX_FIELDS}")
        for i, field in enumerate(fields):
            _too_long(problems, f"{path}.fields[{i}].text", field.get("text"), FIELD_TEXT)
    elif kind in ("context", "actions"):
        most = CONTEXT_ELEMENTS if kind == "context" else ACTIONS_ELEMENTS
        count = len(block.get("elements", []))
        if not 1 <= count <= most:
            problems.append(f"{path}.elements: {count} elements, not 1–{most}")
    elements = list(block.get("elements", []))
    if isinstance(block.get("accessory"), dict):
        elements.append(block["accessory"])
    for i, element in enumerate(elements):
        if isinstance(element, dict) and element.get("type") == "button":
            where = f"{path}.elements[{i}]"
            _too_long(
                problems, f"{where}.text.text", element.get("text", {}).get("text"), BUTTON_TEXT
            )
            _too_long(problems, f"{where}.value", element.get("value"), BUTTON_VALUE)
            _too_long(problems, f"{where}.url", element.get("url"), BUTTON_URL)
            if "value" in element and not element["value"]:
                problems.append(f"{where}.value: empty")


def _ids(node: Any, path: str) -> Iterator[tuple[str, str, Any]]:
    """Every (path, "block_id"|"action_id", value) in the blocks."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("block_id", "action_id"):
                yield f"{path}.{key}", key, value
            else:
                yield from _ids(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _ids(value, f"{path}[{i}]")


def violations(
    message: Mapping[str, Any], *, text_budget: int = MESSAGE_TEXT_BUDGET, max_blocks: int = MAX_BLOCKS
) -> list[str]:
    """Every way `message` ({"text", "blocks"}) breaks a Slack limit; empty when it is fine.

    A view (the Home tab) holds up to 100 blocks: `max_blocks=100`.
    """
    problems: list[str] = []
    text = message.get("text")
    if not isinstance(text, str) or not text.strip():
        problems.append("text: the top-level notification text is missing or empty")
    else:
        _too_long(problems, "text", text, FALLBACK_TEXT)
    blocks = message.get("blocks", [])
    if not isinstance(blocks, list):
        return [*problems, "blocks: not a list"]
    return problems + blocks_violations(blocks, text_budget=text_budget, max_blocks=max_blocks)


def blocks_violations(
    blocks: Sequence[Any], *, text_budget: int = MESSAGE_TEXT_BUDGET, max_blocks: int = MAX_BLOCKS
) -> list[str]:
    """Every way a list of blocks breaks a Slack limit (paths as `blocks[3].text.text`).

    The blocks' half of `violations`; the tests' fake Slack applies it when it
    has no Block Kit schema to validate against.
    """
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(f"blocks: {len(blocks)} blocks > {max_blocks}")
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            problems.append(f"blocks[{i}]: not an object")
            continue
        _check_block(block, f"blocks[{i}]", problems)
    for path, obj in _text_objects(blocks, "blocks"):
        value = obj.get("text")
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{path}.text: empty text object")
        else:
            _too_long(problems, f"{path}.text", value, TEXT_OBJECT)
    seen: dict[tuple[str, str], str] = {}
    for path, kind, value in _ids(blocks, "blocks"):
        if not isinstance(value, str) or not value or text_len(value) > ID_LENGTH:
            problems.append(f"{path}: must be 1–{ID_LENGTH} characters")
        elif (kind, value) in seen:
            problems.append(f"{path}: {value!r} repeats {seen[kind, value]}")
        else:
            seen[kind, value] = path
    total = blocks_text_len(blocks)
    if total > text_budget:
        problems.append(f"blocks: {total} characters of text > budget {text_budget}")
    return problems


_ANGLE_RE = re.compile(r"<([^<>]*)>")
_SAFE_LINK_RE = re.compile(r"https?://[^\s<>|]+(\|[^<>]*)?")


def unsafe_markup(message: Mapping[str, Any], *, allowed_mentions: Sequence[str] = ()) -> list[str]:
    """Every `<…>` in the message that is not an http(s) link or an allowed mention.

    Archive and user text must never turn into `<!channel>`, `<@U…>`, `<!subteam^…>`
    or `<#C…>`; the only `<…>` the renderers write are links and the validated
    "shared by" mention (pass it in `allowed_mentions`, e.g. `["<@U123>"]`).
    """
    problems: list[str] = []
    texts: list[tuple[str, str]] = [("text", str(message.get("text", "")))]
    texts += [
        (f"{path}.text", str(obj.get("text", "")))
        for path, obj in _text_objects(message.get("blocks", []), "blocks")
    ]
    for path, text in texts:
        for match in _ANGLE_RE.finditer(text):
            if match.group(0) not in allowed_mentions and not _SAFE_LINK_RE.fullmatch(
                match.group(1)
            ):
                problems.append(f"{path}: {match.group(0)[:80]!r}")
    raw = json.dumps(message, ensure_ascii=False)
    for allowed in allowed_mentions:
        raw = raw.replace(allowed, "")
    for marker in ("<!", "<@", "<#"):
        if marker in raw:
            problems.append(f"message JSON holds {marker!r}")
    return problems
