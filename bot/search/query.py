"""The query language: free words, "quoted phrases", filters and arXiv ids.

`parse_query` turns whatever a person typed (or Slack sent) into a frozen
`Query`, and never raises: what it cannot use it drops or reads as words, and
says so in `notices`. Filter values stay as typed; the engine resolves them
(a topic by slug or name, an author by fuzzy name) against the archive.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from bot.archive.arxiv_id import parse_arxiv_id
from bot.search.normalize import has_terms

#: Longer input is cut: nobody types more, and a chat bot must not chew on megabytes.
MAX_QUERY_CHARS = 1000
#: Words past this many are dropped (each one costs an index lookup).
MAX_WORDS = 32

#: Filter names as people type them (casefolded), to their canonical key.
FILTER_KEYS = {
    "topic": "topic",
    "topics": "topic",
    "トピック": "topic",
    "author": "author",
    "authors": "author",
    "au": "author",
    "著者": "author",
    "cat": "cat",
    "category": "cat",
    "categories": "cat",
    "カテゴリ": "cat",
    "week": "week",
    "週": "week",
    "since": "since",
    "from": "since",
    "until": "until",
    "to": "until",
    "id": "id",
    "arxiv": "id",
}

_QUOTES = str.maketrans({c: '"' for c in "“”„‟«»「」『』〝〞〟"})
_SLACK_MARKUP_RE = re.compile(r"<([^<>]*)>")
_ENTITY_RE = re.compile(r"&(amp|lt|gt);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">"}
_TOKEN_RE = re.compile(
    r'(?P<key>[^\s":]+):(?:"(?P<qval>[^"]*)"|(?P<val>[^\s"]*))'
    r'|"(?P<phrase>[^"]*)"'
    r"|(?P<word>[^\s\"]+)"
    r'|(?P<quote>")'
)
_DATE_RE = re.compile(r"^(\d{4})(?:[-/.年](\d{1,2})(?:[-/.月](\d{1,2})日?)?月?)?年?$")
_COMPACT_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query. Words and phrases are as typed (width-normalised, case kept)."""

    raw: str
    words: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()
    topics: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    week: dt.date | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    arxiv_ids: tuple[str, ...] = ()
    notices: tuple[str, ...] = ()

    @property
    def has_text(self) -> bool:
        return bool(self.words or self.phrases)

    @property
    def has_filters(self) -> bool:
        return bool(
            self.topics or self.authors or self.categories or self.week or self.since or self.until
        )

    @property
    def text(self) -> str:
        """The free-text part: words and phrases, as one string."""
        return " ".join((*self.words, *self.phrases))

    def to_text(self) -> str:
        """A canonical query string that parses back to the same structure."""
        parts: list[str] = [*self.arxiv_ids, *(_quote_word(w) for w in self.words)]
        parts += [f'"{_escape(p)}"' for p in self.phrases]
        for key, values in (("topic", self.topics), ("author", self.authors), ("cat", self.categories)):
            parts += [f"{key}:{_quote_value(v)}" for v in values]
        for key, day in (("week", self.week), ("since", self.since), ("until", self.until)):
            if day is not None:
                parts.append(f"{key}:{day.isoformat()}")
        return " ".join(parts)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;")


def _quote_word(word: str) -> str:
    """A word as canonical text: quoted when it holds a colon, or it would read as `key:value`.

    (A quoted single ASCII word reads back as that word. Words that are whole
    `key:value` tokens kept as typed, quotes included, or non-ASCII, already
    read back the same unquoted, and quoting would change them.)
    """
    word = _escape(word)
    return f'"{word}"' if ":" in word and '"' not in word and word.isascii() else word


def _quote_value(value: str) -> str:
    value = _escape(value)
    return f'"{value}"' if any(c.isspace() for c in value) or not value else value


def parse_query(raw: object) -> Query:
    """Read a query; never raises, whatever the input."""
    text = raw if isinstance(raw, str) else ("" if raw is None else str(raw))
    notices: list[str] = []
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        notices.append(f"the query was cut to its first {MAX_QUERY_CHARS} characters")
    text = _clean(text, notices)
    return _Parser(text, notices).parse()


def _clean(text: str, notices: list[str]) -> str:
    """Width-normalise, drop control characters and Slack mention markup, unescape entities."""
    text = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp") else c for c in text)
    text = unicodedata.normalize("NFKC", text).translate(_QUOTES)
    dropped = False

    def markup(m: re.Match[str]) -> str:
        nonlocal dropped
        inner = m.group(1)
        if inner[:1] in ("!", "@", "#"):
            dropped = True
            return " "
        return f" {inner.split('|', 1)[0]} "

    text = _SLACK_MARKUP_RE.sub(markup, text)
    if dropped:
        notices.append("Slack mentions in the query were ignored")
    text = _ENTITY_RE.sub(lambda m: _ENTITIES[m.group(1)], text)
    return text.replace("<", " ").replace(">", " ")


class _Parser:
    """One pass over the tokens of a cleaned query."""

    def __init__(self, text: str, notices: list[str]) -> None:
        self.text = text
        self.notices = notices
        self.words: list[str] = []
        self.phrases: list[str] = []
        self.filters: dict[str, list[str]] = {"topic": [], "author": [], "cat": []}
        self.dates: dict[str, dt.date] = {}
        self.ids: list[str] = []

    def parse(self) -> Query:
        pending: str | None = None  # a filter key typed with its value after a space ("topic: sd")
        # The value of an unknown key is read again as if typed on its own ("a:あ:0" reads
        # like "a あ:0", its canonical text): a stack of token streams, not recursion, so
        # a value with hundreds of colons cannot exhaust the stack.
        streams = [_TOKEN_RE.finditer(self.text)]
        while streams:
            m = next(streams[-1], None)
            if m is None:
                streams.pop()
                continue
            kind = next(k for k in ("key", "phrase", "word", "quote") if m.group(k) is not None)
            if pending is not None and kind in ("word", "phrase"):
                self._filter(pending, m.group(kind))
                pending = None
                continue
            if pending is not None:
                self.notices.append(f"`{pending}:` has no value and was ignored")
                pending = None
            if kind == "key":
                value = m.group("qval") if m.group("qval") is not None else m.group("val")
                key = FILTER_KEYS.get(m.group("key").casefold())
                if key is not None and value == "" and m.group("qval") is None:
                    pending = key
                else:
                    again = self._key_value(m.group("key"), value, m.group(0), quoted=m.group("qval") is not None)
                    if again:
                        streams.append(_TOKEN_RE.finditer(again))
            elif kind == "phrase":
                self._phrase(m.group("phrase"))
            elif kind == "word":
                self._word(m.group("word"))
            else:
                self.notices.append('an unbalanced quote (") was ignored')
        if pending is not None:
            self.notices.append(f"`{pending}:` has no value and was ignored")
        return self._query()

    def _query(self) -> Query:
        since, until = self.dates.get("since"), self.dates.get("until")
        if since and until and since > until:
            since, until = until, since
            self.notices.append(f"since/until were swapped to read {since} ~ {until}")
        words = self.words
        if len(words) > MAX_WORDS:
            words = words[:MAX_WORDS]
            self.notices.append(f"only the first {MAX_WORDS} words were searched")
        return Query(
            raw=self.text.strip(),
            words=tuple(words),
            phrases=tuple(dict.fromkeys(self.phrases)),
            topics=tuple(dict.fromkeys(self.filters["topic"])),
            authors=tuple(dict.fromkeys(self.filters["author"])),
            categories=tuple(dict.fromkeys(self.filters["cat"])),
            week=self.dates.get("week"),
            since=since,
            until=until,
            arxiv_ids=tuple(dict.fromkeys(self.ids)),
            notices=tuple(dict.fromkeys(self.notices)),
        )

    def _word(self, word: str) -> None:
        # A trailing colon is what is left of "key:" in "foo:bar:"; alone, "bar:" reads as
        # an unknown key with no value. Either way the word is "bar".
        word = word.rstrip(":：") or word
        arxiv_id = parse_arxiv_id(word)
        if arxiv_id is not None:
            self.ids.append(arxiv_id)
        elif has_terms(word):
            self.words.append(word)

    def _phrase(self, phrase: str) -> None:
        phrase = " ".join(phrase.split())
        if not has_terms(phrase):
            return
        arxiv_id = parse_arxiv_id(phrase)
        if arxiv_id is not None:
            self.ids.append(arxiv_id)
        elif len(phrase.split()) == 1 and not _is_cjk_phrase(phrase):
            self._word(phrase)
        else:
            self.phrases.append(phrase)

    def _key_value(self, key_typed: str, value: str, whole: str, *, quoted: bool = False) -> str | None:
        """A `key:value` token; returns text to read again as tokens (an unknown key's value)."""
        key = FILTER_KEYS.get(key_typed.casefold())
        if key is None or key == "id":
            arxiv_id = parse_arxiv_id(whole) or (parse_arxiv_id(value) if key == "id" else None)
            if arxiv_id is not None:
                self.ids.append(arxiv_id)
                return None
        if key is None:
            if key_typed.isalpha() and key_typed.casefold() not in ("http", "https"):
                self.notices.append(f"`{key_typed}:` is not a filter; searched as words")
                self._word(key_typed)
                if quoted and value:
                    self._phrase(value)  # as the same quotes would read on their own
                elif value:
                    return value
            else:
                self._word(whole)
            return None
        self._filter(key, value)
        return None

    def _filter(self, key: str, value: str) -> None:
        value = " ".join(value.split())
        if not value:
            self.notices.append(f"`{key}:` has no value and was ignored")
        elif key == "id":
            arxiv_id = parse_arxiv_id(value)
            if arxiv_id is None:
                self.notices.append(f"`{value}` is not an arXiv id; searched as words")
                (self._phrase if " " in value else self._word)(value)
            else:
                self.ids.append(arxiv_id)
        elif key in ("week", "since", "until"):
            day = parse_date(value, end=key == "until")
            if day is None:
                self.notices.append(f"could not read `{value}` as a date for `{key}:` (try 2024-07-26)")
            else:
                if key in self.dates and self.dates[key] != day:
                    self.notices.append(f"`{key}:` was given twice; the last one counts")
                self.dates[key] = day
        elif not has_terms(value):
            self.notices.append(f"`{key}:{value}` has nothing to search for and was ignored")
        else:
            self.filters[key].append(value)


def _is_cjk_phrase(text: str) -> bool:
    return not text.isascii()


def parse_date(text: str, *, end: bool = False) -> dt.date | None:
    """`2024-07-26`, `2024/7/26`, `20240726`, `2024年7月26日`; `2024-07` and `2024` too.

    A month or a year stands for its first day, or its last with `end=True`
    (so `until:2024-07` includes the whole of July).
    """
    text = text.strip()
    m = _COMPACT_DATE_RE.match(text) or _DATE_RE.match(text)
    if m is None:
        return None
    year = int(m.group(1))
    month = int(m.group(2)) if m.group(2) else None
    day = int(m.group(3)) if m.group(3) else None
    try:
        if month is None:
            return dt.date(year, 12, 31) if end else dt.date(year, 1, 1)
        if day is None:
            last = calendar.monthrange(year, month)[1]
            return dt.date(year, month, last if end else 1)
        return dt.date(year, month, day)
    except (ValueError, OverflowError):
        return None
