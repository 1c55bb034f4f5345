"""Block Kit as readable terminal text, for the bot's preview mode and CLI answers.

What a developer sees is what Slack would show: links as `label (url)`,
entities decoded, `*bold*` left as it reads, buttons as `[Label]`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from bot.render.mrkdwn import unescape

_RULE = "─" * 40
_BOLD_LINK_RE = re.compile(r"\*<([^<>|]+)\|([^<>]*)>\*")
_LINK_RE = re.compile(r"<([^<>|]+)\|([^<>]*)>")
_BARE_RE = re.compile(r"<([^<>|]+)>")


def _special(target: str) -> str:
    """`<@U123>` → `@U123`, `<!here>` → `@here`, `<#C1>` → `#C1`, `<https://…>` → the URL."""
    if target.startswith(("@", "#")):
        return target
    if target.startswith("!"):
        return "@" + target[1:].split("^", 1)[0]
    return target


def mrkdwn_to_text(text: str) -> str:
    """One mrkdwn string as plain text: links spelt out, entities decoded."""
    text = _BOLD_LINK_RE.sub(
        lambda m: f"*{m.group(2) or m.group(1)}* ({unescape(m.group(1))})", text
    )
    text = _LINK_RE.sub(
        lambda m: f"{m.group(2)} ({unescape(m.group(1))})" if m.group(2) else unescape(m.group(1)),
        text,
    )
    text = _BARE_RE.sub(lambda m: _special(unescape(m.group(1))), text)
    return unescape(text)


def _width(text: str) -> int:
    """Columns a terminal gives `text`: wide (CJK, emoji) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _text(obj: Any) -> str:
    if not isinstance(obj, Mapping):
        return ""
    value = str(obj.get("text", ""))
    return mrkdwn_to_text(value) if obj.get("type") == "mrkdwn" else value


def _button(element: Mapping[str, Any]) -> str:
    label = _text(element.get("text"))
    return f"[{label} → {element['url']}]" if element.get("url") else f"[{label}]"


def _element(element: Any) -> str:
    if not isinstance(element, Mapping):
        return ""
    if element.get("type") == "button":
        return _button(element)
    if element.get("type") == "image":
        return f"[image: {element.get('alt_text', '')}]"
    return _text(element)


def _block(block: Mapping[str, Any]) -> list[str]:
    kind = block.get("type")
    if kind == "header":
        title = _text(block.get("text"))
        return [title, "═" * min(60, max(8, _width(title)))]
    if kind == "divider":
        return [_RULE]
    if kind == "section":
        lines = [_text(block["text"])] if block.get("text") else []
        lines += [f"  {_text(f)}" for f in block.get("fields", [])]
        if isinstance(block.get("accessory"), Mapping):
            lines.append(_element(block["accessory"]))
        return lines
    if kind == "context":
        return ["   ".join(e for e in map(_element, block.get("elements", [])) if e)]
    if kind == "actions":
        return ["  ".join(e for e in map(_element, block.get("elements", [])) if e)]
    return [f"[{kind} block]"]


def message_to_text(message: Mapping[str, Any]) -> str:
    """A rendered message (`{"text", "blocks"}`) as the text a terminal shows."""
    blocks = message.get("blocks") or []
    if not blocks:
        return mrkdwn_to_text(str(message.get("text", "")))
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Mapping):
            lines += _block(block)
    return "\n".join(lines).rstrip() + "\n"
