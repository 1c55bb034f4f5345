"""Slack mrkdwn primitives: escaping, links, bold, cleaning, measuring and shortening.

Archive and user text is never trusted to be mrkdwn: it is cleaned, shortened and
escaped here, so that no title can break a layout, exceed a Block Kit limit or
ping a channel. Lengths are counted in UTF-16 code units, which is never less
than Slack's own count (nor Python's), so an emoji can't push a text over a limit.
"""

from __future__ import annotations

import re
import unicodedata

# Block Kit limits (SLACK_NOTES.md). A message that breaks one is rejected.
MAX_BLOCKS = 50
SECTION_TEXT = 3000
MAX_FIELDS = 10
FIELD_TEXT = 2000
HEADER_TEXT = 150
TEXT_OBJECT = 3000
CONTEXT_ELEMENTS = 10
ACTIONS_ELEMENTS = 25
BUTTON_TEXT = 75
BUTTON_VALUE = 2000
BUTTON_URL = 3000
ID_LENGTH = 255
#: Slack rejects blocks holding ~12,000 characters of text (`msg_blocks_too_long`): stay below.
MESSAGE_TEXT_BUDGET = 11_000
#: The top-level notification text: Slack truncates at 40,000; a notification needs far less.
FALLBACK_TEXT = 3000

ELLIPSIS = "…"
#: Stands in for `*` inside a bold span, where a real `*` would end the span early.
BOLD_SAFE_STAR = "∗"

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
_ESCAPE_RE = re.compile(r"[&<>]")
#: Line breaks of every kind, read as "\n".
_LINE_BREAK_RE = re.compile("[\r\v\f\x85\u2028\u2029]")
#: C0/C1 controls (but "\n"), lone surrogates, bidi embedding/override/isolate controls,
#: the BOM and non-characters.
_DROPPED_RE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]"
)
_BLANK_LINES_RE = re.compile(r"\n{3,}")
_TRAILING_JOINERS = "\u200d\ufe0e\ufe0f\u200c"
#: Longer URLs are not linked: real arXiv and Slack permalinks are far shorter.
_MAX_URL = 2000
_URL_RE = re.compile(r"^https?://[^\s<>|\x00-\x1f\x7f]+$", re.IGNORECASE)


def text_len(text: str) -> int:
    """Length in UTF-16 code units: what the limits are checked against (never undercounts)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def escape(text: str) -> str:
    """Escape the three characters Slack parses (`&`, `<`, `>`), and nothing else."""
    return _ESCAPE_RE.sub(lambda m: _ENTITIES[m.group()], text)


def unescape(text: str) -> str:
    """Undo `escape` (for terminal output of rendered mrkdwn)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def clean(text: str, *, multiline: bool = False) -> str:
    """Drop control characters that would corrupt a message or its layout.

    Removes NUL and other C0/C1 controls, lone surrogates (they can't be encoded to
    send) and bidi embedding/override/isolate controls (an unclosed one flips the
    rest of the card). One-line fields get their whitespace collapsed; with
    `multiline` newlines are kept, but never more than one blank line in a row.
    """
    if not text.isascii() or not text.isprintable():
        text = _LINE_BREAK_RE.sub("\n", text.replace("\r\n", "\n")).replace("\t", " ")
        text = _DROPPED_RE.sub("", text)
    if not multiline:
        return " ".join(text.split())
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return _BLANK_LINES_RE.sub("\n\n", "\n".join(lines)).strip()


def _trim_end(text: str) -> str:
    """Drop what must not end a shortened text: whitespace and dangling joiners."""
    while text and (
        text[-1].isspace() or text[-1] in _TRAILING_JOINERS or unicodedata.combining(text[-1])
    ):
        text = text[:-1]
    return text


def _cut_units(text: str, units: int) -> str:
    """The longest prefix of `text` within `units` UTF-16 code units."""
    used = 0
    for i, ch in enumerate(text):
        used += 2 if ord(ch) > 0xFFFF else 1
        if used > units:
            return text[:i]
    return text


def truncate(text: str, limit: int) -> str:
    """`text` unchanged if it fits in `limit` UTF-16 units, else shortened to end with "…".

    Works on unescaped text: escape afterwards (or use `fit`), so an entity is never cut.
    """
    if limit < 1:
        return ""
    if text_len(text) <= limit:
        return text
    return _trim_end(_cut_units(text, limit - 1)) + ELLIPSIS


def truncate_escaped(mrkdwn: str, limit: int) -> str:
    """Shorten text that is already escaped, never leaving half an entity (`&am…`)."""
    if text_len(mrkdwn) <= limit:
        return mrkdwn
    if limit < 1:
        return ""
    cut = _cut_units(mrkdwn, limit - 1)
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return _trim_end(cut) + ELLIPSIS


def fit(text: str, limit: int) -> str:
    """Escape `text` and shorten it with "…" so that the escaped result fits in `limit`.

    Cuts the raw text before escaping, so `&amp;` is never split in half.
    """
    escaped = escape(text)
    if text_len(escaped) <= limit:
        return escaped
    if limit < 1:
        return ""
    budget = limit - 1
    used = 0
    cut = 0
    for i, ch in enumerate(text):
        used += len(_ENTITIES[ch]) if ch in _ENTITIES else (2 if ord(ch) > 0xFFFF else 1)
        if used > budget:
            break
        cut = i + 1
    return escape(_trim_end(text[:cut])) + ELLIPSIS


def bold(mrkdwn: str) -> str:
    """`*text*` that stays bold: inner `*` replaced, outer spaces moved out; "" for empty."""
    inner = mrkdwn.replace("*", BOLD_SAFE_STAR).strip()
    return f"*{inner}*" if inner else ""


def code(text: str, limit: int) -> str:
    """`text` as an inline code span: escaped, shortened, a backtick inside replaced."""
    inner = fit(clean(text).replace("`", "ˋ"), max(1, limit - 2))
    return f"`{inner}`" if inner.strip() else ""


def is_linkable(url: str) -> bool:
    """True for an http(s) URL that can sit inside `<url|label>` (no `|`, `<`, `>`, spaces)."""
    return bool(url) and text_len(url) <= _MAX_URL and _URL_RE.match(url) is not None


def link_url(url: str) -> str:
    """The URL part of a mrkdwn link: `&` escaped like any other text."""
    return url.replace("&", "&amp;")


def link(url: str, label: str, *, limit: int | None = None, strong: bool = False) -> str:
    """`<url|label>` with the label escaped (and shortened to `limit`, bold with `strong`).

    A URL that can't be linked safely is left out: only the label is shown.
    """
    text = escape(label) if limit is None else fit(label, max(1, limit))
    if strong:
        text = text.replace("*", BOLD_SAFE_STAR)
    if not text.strip():
        text = escape(url) if is_linkable(url) else ""
    if is_linkable(url):
        linked = f"<{link_url(url)}|{text}>"
        return f"*{linked}*" if strong else linked
    return bold(text) if strong else text


def plain(text: str, limit: int) -> str:
    """Archive or user text for a `plain_text` object: cleaned, one line, shortened.

    plain_text never parses mrkdwn or mentions, and is not entity-decoded the same
    way everywhere, so nothing is escaped; `<` and `>` become `‹` `›` so that no
    mention syntax can appear in the message JSON at all.
    """
    return truncate(clean(text).replace("<", "‹").replace(">", "›"), limit)
