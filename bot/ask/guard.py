"""A language model's answer made safe to post: pure functions over its text and the sources.

Everything a model writes is treated as hostile. What it may keep: plain words,
citations `[n]` of sources it was given, and links to those sources' own pages.
What it may not: Slack mentions (`<@U…>`, `<!channel>`, a bare `@here`), links
the sources don't hold, Slack markup from outside text, more than `limit`
characters. An answer that cites no source is not grounded, so it is refused
(None) rather than shown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bot.ask.model import Source
from bot.render.mrkdwn import ELLIPSIS, clean, escape, link, text_len

#: The most of a model's text read at all (a hostile server may send megabytes).
MAX_INPUT = 20_000
#: Private-use characters marking a kept link while the rest of the text is rewritten.
_OPEN, _CLOSE = "\ue000", "\ue001"
_TOKEN_RE = re.compile(f"{_OPEN}(\\d+){_CLOSE}")

#: Slack's special syntax: user and channel mentions, `<!here>`, `<!subteam^…>`, dates.
_SLACK_SPECIAL_RE = re.compile(r"<[@!#][^<>]*>")
#: A bare broadcast word Slack (or a reader) may take for a mention.
_BROADCAST_RE = re.compile(r"(?<![\w@＠])@(here|channel|everyone)\b", re.IGNORECASE)
_MARKDOWN_LINK_RE = re.compile(r"\[([^\[\]\n]*)\]\(\s*<?([^\s()<>]+)>?(?:\s+\"[^\"\n]*\")?\s*\)")
_SLACK_LINK_RE = re.compile(r"<([a-z][a-z0-9+.-]*:[^<>|\s]*)(?:\|([^<>]*))?>", re.IGNORECASE)
#: What Slack would turn into a link by itself: a URL with a scheme, or a `www.` address.
_BARE_URL_RE = re.compile(r"\b(?:(?:https?|ftp)://|www\.)[^\s<>()\[\]\"'`]+", re.IGNORECASE)
#: Punctuation that ends a sentence rather than a bare URL.
_URL_TRAILING = ".,;:!?'\"。、，．）」』"

#: A citation group: `[1]`, `[1, 7]`, `[2-4]`, `［3］` (full width, as Japanese text writes it).
_GROUP_RE = re.compile(r"[ \t]*[\[［]\s*(\d{1,3}(?:\s*[-–~〜,，、;]\s*\d{1,3})*)\s*[\]］]")
_RANGE_RE = re.compile(r"(\d+)\s*[-–~〜]\s*(\d+)")
#: The widest range `[a-b]` read as a list of citations.
_MAX_RANGE = 10
#: One citation in cleaned text; a kept link (`<…>`, the only `<` left) is read over whole.
_CITATION_RE = re.compile(r"<[^<>]*>|\[(\d+)\]")

_HEADING_RE = re.compile(r"^[ \t]*#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
_BOLD_RE = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__")
_BULLET_RE = re.compile(r"^[ \t]*[-*+•・][ \t]+", re.MULTILINE)
_NUMBERED_RE = re.compile(r"^[ \t]*\d{1,2}[.)][ \t]+", re.MULTILINE)
_TRAILING_SPACE_RE = re.compile(r"[ \t]+$", re.MULTILINE)
_BLANK_LINES_RE = re.compile(r"\n{3,}")
_SPACES_RE = re.compile(r"(?<=\S)[ \t]{2,}")
_SPACE_BEFORE_STOP_RE = re.compile(r"[ \t]+([.,;:!?。、])(?=\s|$)")
#: Where a sentence ends: its punctuation and the citations after it, then a space or the end.
_SENTENCE_END_RE = re.compile(r"(?:[.!?](?=\s|\[|$)|[。！？])(?:\s*\[\d+\])*")


@dataclass(frozen=True, slots=True)
class Cleaned:
    """A model's text fit to post, and the source numbers it cites in order of first citation."""

    text: str
    cited: tuple[int, ...]


def clean_model_text(text: str, sources: Sequence[Source], *, limit: int = 2800) -> Cleaned | None:
    """The model's `text` as Slack mrkdwn holding nothing but words, valid citations and source links.

    None when nothing is left, or when no citation of a given source remains.
    """
    numbers = {source.n for source in sources}
    allowed = _allowed_urls(sources)
    kept: list[str] = []

    def keep(rendered: str) -> str:
        kept.append(rendered)
        return f"{_OPEN}{len(kept) - 1}{_CLOSE}"

    text = clean((text or "")[: max(MAX_INPUT, 2 * limit)], multiline=True)
    text = text.replace(_OPEN, "").replace(_CLOSE, "")
    text = _SLACK_SPECIAL_RE.sub("", text)
    text = _replace_links(text, allowed, keep)
    text = _BROADCAST_RE.sub(lambda m: f"＠{m.group(1)}", text)
    text = _markdown_to_slack(text)
    text = _GROUP_RE.sub(lambda m: _citation_group(m, numbers), text)
    text = escape(text)
    text = _TOKEN_RE.sub(lambda m: kept[int(m.group(1))], text)
    text = _tidy(text)
    text = cut(text, limit)
    cited = citations(text)
    if not text or not cited:
        return None
    return Cleaned(text=text, cited=cited)


def citations(text: str) -> tuple[int, ...]:
    """The numbers `text` cites as `[n]`, in order of first citation (link labels not read)."""
    seen: dict[int, None] = {}
    for match in _CITATION_RE.finditer(text):
        if match.group(1) is not None:
            seen.setdefault(int(match.group(1)), None)
    return tuple(seen)


def renumber(text: str, cited: Sequence[int]) -> str:
    """Citations renumbered 1..k in the order of `cited`; a number `cited` lacks is dropped."""
    new = {old: i for i, old in enumerate(dict.fromkeys(cited), start=1)}

    def one(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return match.group(0)
        number = new.get(int(match.group(1)))
        return f"[{number}]" if number is not None else ""

    return _CITATION_RE.sub(one, text)


def cut(text: str, limit: int) -> str:
    """`text` within `limit` UTF-16 units, ended at a line or sentence with "…" when it is cut.

    Never inside a citation, a link or an entity (`&amp;`): at a sentence or line end
    where there is one, else at a space, else at the last safe character.
    """
    if text_len(text) <= limit:
        return text
    room = limit - text_len(ELLIPSIS)
    if room <= 0:
        return ""
    safe = _safe_positions(text)
    ends = sorted(
        {m.end() for m in _SENTENCE_END_RE.finditer(text)} | {m.start() for m in re.finditer("\n", text)}
    )
    spaces = [m.start() for m in re.finditer(r"\s", text)]
    # A head of `room` UTF-16 units holds at most `room` characters: later ends never fit.
    for candidates in (ends, spaces, range(min(len(text), room), 0, -1)):
        for end in sorted((e for e in candidates if e <= room), reverse=True):
            head = text[:end].rstrip()
            if head and end in safe and text_len(head) <= room:
                return head + ELLIPSIS
    return ""


def _safe_positions(text: str) -> set[int]:
    """Offsets where text may be cut: not inside `<…>`, `[n]` or an `&…;` entity."""
    inside: set[int] = set()
    for match in re.finditer(r"<[^<>]*>|\[\d+\]|&(?:amp|lt|gt);", text):
        inside.update(range(match.start() + 1, match.end()))
    return set(range(len(text) + 1)) - inside


def _allowed_urls(sources: Sequence[Source]) -> set[str]:
    urls: set[str] = set()
    for source in sources:
        for url in (source.link, source.thread, f"https://arxiv.org/abs/{source.arxiv_id}"):
            if url:
                urls.add(_comparable(url))
    return urls


def _comparable(url: str) -> str:
    return url.strip().rstrip("/")


def _replace_links(text: str, allowed: set[str], keep: Callable[[str], str]) -> str:
    """Links to the sources' pages become tokens for Slack links; any other keeps only its words."""

    def linked(url: str, label: str) -> str:
        if _comparable(url) in allowed:
            return keep(link(url, label.strip() or url))
        return label

    text = _MARKDOWN_LINK_RE.sub(lambda m: linked(m.group(2), m.group(1)), text)
    text = _SLACK_LINK_RE.sub(lambda m: linked(m.group(1), m.group(2) or ""), text)

    def bare(match: re.Match[str]) -> str:
        url = match.group(0)
        stripped = url.rstrip(_URL_TRAILING)
        return linked(stripped, "") + url[len(stripped):]

    return _BARE_URL_RE.sub(bare, text)


def _markdown_to_slack(text: str) -> str:
    """Markdown's headings, bold and list markers as Slack writes them."""

    def heading(match: re.Match[str]) -> str:
        words = match.group(1).replace("**", "").replace("*", "").strip()
        return f"*{words}*" if words else ""

    text = _HEADING_RE.sub(heading, text)
    text = _BOLD_RE.sub(lambda m: f"*{m.group(1) or m.group(2)}*", text)
    text = _NUMBERED_RE.sub("• ", text)
    return _BULLET_RE.sub("• ", text)


def _tidy(text: str) -> str:
    """The gaps what was removed leaves: doubled spaces, a space before punctuation, blank lines."""
    text = _SPACES_RE.sub(" ", text)
    text = _SPACE_BEFORE_STOP_RE.sub(r"\1", text)
    return _BLANK_LINES_RE.sub("\n\n", _TRAILING_SPACE_RE.sub("", text)).strip()


def _citation_group(match: re.Match[str], numbers: set[int]) -> str:
    """`[1, 7]` → `[1]` when only 1 is a source; nothing when none is (with the space before)."""
    leading = match.group(0)[: len(match.group(0)) - len(match.group(0).lstrip(" \t"))]
    wanted: list[int] = []
    for part in re.split(r"\s*[,，、;]\s*", match.group(1)):
        span = _RANGE_RE.fullmatch(part)
        if span:
            first, last = int(span.group(1)), int(span.group(2))
            if 0 <= last - first < _MAX_RANGE:
                wanted.extend(range(first, last + 1))
        elif part.isdigit():
            wanted.append(int(part))
    valid = [n for n in dict.fromkeys(wanted) if n in numbers]
    if not valid:
        return ""
    return leading + "".join(f"[{n}]" for n in valid)
