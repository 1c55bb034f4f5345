"""One digest file -> a `Digest` of `Paper` values, plus what could not be read.

The parser is a pure function of the file's bytes and where they came from. It
never raises on bad input: every entry it can read is kept, and everything it
cannot read is reported as a `Problem` with the file, the line and the reason.

Entry format (entries are separated by `- - -` lines)::

    ### [English title](http://arxiv.org/abs/2408.00707)
    **Japanese title**
    Author One, Author Two
    - summary bullet
    - summary bullet
    An optional editor's remark (one or more paragraphs).
    **Comment:** optional arXiv comment
    **トピック:** [合成データ](../../sd), **カテゴリ:** cs.CV, cs.LG, **投稿日時:** 2024-08-01 16:54
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import frontmatter
import yaml

from bot.archive.arxiv_id import arxiv_id_from_url
from bot.archive.problems import Problem
from bot.archive.safe_yaml import SafeYAMLHandler, YAMLRefused
from bot.model import Digest, Paper, Topic, TopicRef

ENTRY_SEPARATOR = "- - -"
TITLE_RE = re.compile(r"^###\s+\[(?P<title>.*)\]\((?P<url>[^()\s]+)\)\s*$")
BULLET_RE = re.compile(r"^-[ \u3000\t]+(?P<text>\S.*)$")
TOPIC_LINK_RE = re.compile(r"\[(?P<name>[^\]\n]+)\]\(\.\./\.\./(?P<slug>[A-Za-z0-9_-]+)/?\)")
FOOTER_LABEL = "**トピック:**"
CATEGORY_LABEL = "**カテゴリ:**"
POSTED_LABEL = "**投稿日時:**"
COMMENT_LABEL = "**Comment:**"
POSTED_RE = re.compile(r"(\d{4}-\d{2}-\d{2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?")
WEEK_RANGE_RE = re.compile(r"\((\d{4}-\d{2}-\d{2})\s*~\s*(\d{4}-\d{2}-\d{2})\)\s*$")
FM_BOUNDARY_RE = re.compile(r"^-{3,}\s*$")


@dataclass(frozen=True, slots=True)
class ParsedEntry:
    """A paper as one entry of one file wrote it, and where."""

    paper: Paper
    line: int


@dataclass(frozen=True, slots=True)
class ParseResult:
    """A file's digest (None when the file as a whole is unusable) and its problems."""

    digest: Digest | None
    entries: tuple[ParsedEntry, ...]
    problems: tuple[Problem, ...]


def decode(raw: bytes) -> tuple[str, dict[int, str]]:
    """Bytes -> text with LF line ends; lines holding bytes that are not UTF-8.

    A BOM is dropped and CRLF / CR line ends become LF: both are harmless
    artefacts of editors. Undecodable bytes become U+FFFD and their line is
    returned with a reason, so the caller can skip just the entries they touch.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    bad: dict[int, str] = {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        for number, line in enumerate(raw.split(b"\n"), start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError as err:
                byte = line[err.start]
                bad[number] = f"byte 0x{byte:02x} at column {err.start + 1} is not UTF-8"
        text = raw.decode("utf-8", errors="replace")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text, bad


def split_front_matter(lines: list[str]) -> tuple[int, int] | None:
    """Line indexes (open, close) of the YAML front matter boundaries, if any."""
    if not lines or not FM_BOUNDARY_RE.match(lines[0]):
        return None
    for index in range(1, len(lines)):
        if FM_BOUNDARY_RE.match(lines[index]):
            return 0, index
    return None


def _as_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def topic_name_from_title(title: str) -> str:
    """`合成データ (2024-07-26 ~ 2024-08-01)` -> `合成データ`."""
    return WEEK_RANGE_RE.sub("", title).strip()


def parse_digest(
    raw: bytes,
    path: str,
    *,
    slug: str,
    file_date: dt.date | None = None,
    topic: Topic | None = None,
    url: str | None = None,
    cache: dict[str, Paper] | None = None,
) -> ParseResult:
    """Parse one digest file. `path` is only used in problems and `source_path`.

    `file_date` is the date in the file's name, the fallback week start when
    the front matter has none. `topic` carries the names learned from the
    site's topic pages; without it the digest title names the topic. `cache`
    maps an entry's exact text to its paper across files: every paper stands
    in its topic's digest and again in `all`, so a whole-archive read parses
    each text once.
    """
    problems: list[Problem] = []
    text, bad_lines = decode(raw)
    for number, reason in bad_lines.items():
        problems.append(Problem(path, number, reason, "warning"))
    if not text.strip():
        problems.append(Problem(path, None, "empty file"))
        return ParseResult(None, (), tuple(problems))

    lines = text.split("\n")
    bounds = split_front_matter(lines)
    metadata: dict[str, object] = {}
    body_start = 0
    if bounds is None:
        problems.append(Problem(path, 1, "no YAML front matter (expected a `---` block)", "warning"))
    else:
        body_start = bounds[1] + 1
        try:
            # Only the front matter block: size-capped, aliases refused (`safe_yaml`).
            block = "\n".join(lines[bounds[0] : bounds[1] + 1])
            metadata, _ = frontmatter.parse(block, handler=SafeYAMLHandler())
            if not isinstance(metadata, dict):
                raise yaml.YAMLError("front matter is not a mapping")
        except (yaml.YAMLError, ValueError, TypeError) as err:
            # Where the broken construct began is where a person looks first. The YAML
            # text starts right after the opening `---`, so its line k is file line k + 1.
            mark = getattr(err, "context_mark", None) or getattr(err, "problem_mark", None)
            line = bounds[0] + 1 + mark.line if mark is not None else bounds[0] + 1
            problem = getattr(err, "problem", None) or str(err).splitlines()[0]
            what = "front matter not read" if isinstance(err, YAMLRefused) else "broken YAML front matter"
            problems.append(Problem(path, line, f"{what}: {problem}", "warning"))
            metadata = {}

    week_start = _as_date(metadata.get("date"))
    if week_start is None:
        if file_date is None:
            problems.append(Problem(path, 1, "no usable `date` in the front matter or the file name"))
            return ParseResult(None, (), tuple(problems))
        reason = "front matter has no valid `date`; using the file name's date"
        if "date" not in metadata:
            reason = "front matter has no `date`; using the file name's date"
        problems.append(Problem(path, 1, reason, "warning"))
        week_start = file_date
    elif file_date is not None and file_date != week_start:
        problems.append(
            Problem(path, 1, f"front matter date {week_start} differs from the file name", "warning")
        )

    raw_title = metadata.get("title")
    title = str(raw_title).strip() if raw_title is not None else ""
    week_end = week_start + dt.timedelta(days=6)
    range_match = WEEK_RANGE_RE.search(title)
    if range_match:
        end = _as_date(range_match.group(2))
        if end is not None and end >= week_start:
            week_end = end
    if topic is None:
        name = topic_name_from_title(title) or slug
        topic = Topic(slug, name, name)
    if not title:
        title = f"{topic.name_ja} ({week_start} ~ {week_end})"

    entries: list[ParsedEntry] = []
    for start, chunk in _split_entries(lines, body_start):
        touched = [n for n in range(start, start + len(chunk)) if n in bad_lines]
        if touched:
            problems.append(
                Problem(path, touched[0], f"entry skipped: {bad_lines[touched[0]]}")
            )
            continue
        key = "\n".join(chunk) if cache is not None else ""
        cached = cache.get(key) if cache is not None else None
        if cached is not None:
            entries.append(ParsedEntry(cached, start + _first_filled(chunk)))
            continue
        before = len(problems)
        entry = parse_entry(chunk, start, path, problems)
        if entry is not None:
            entries.append(entry)
            if cache is not None and len(problems) == before:
                cache[key] = entry.paper

    papers = tuple(e.paper for e in entries)
    digest = Digest(
        topic=topic,
        week_start=week_start,
        week_end=week_end,
        title=title,
        source_path=path,
        url=url,
        papers=papers,
    )
    return ParseResult(digest, tuple(entries), tuple(problems))


def _split_entries(lines: list[str], body_start: int) -> list[tuple[int, list[str]]]:
    """The body's entries as (first line number, lines); the preface is dropped."""
    chunks: list[tuple[int, list[str]]] = []
    current: list[str] | None = None
    start = 0
    preface_end = next(
        (i for i in range(body_start, len(lines)) if lines[i].strip() == ENTRY_SEPARATOR), len(lines)
    )
    # A paper written before the first separator is still a paper.
    for index in range(body_start, preface_end):
        if TITLE_RE.match(lines[index].rstrip()):
            current, start = [], index + 1
            break
    for index in range(start - 1 if current is not None else preface_end, len(lines)):
        line = lines[index]
        if line.strip() == ENTRY_SEPARATOR:
            if current is not None:
                chunks.append((start, current))
            current, start = [], index + 2  # 1-based number of the next line
            continue
        if current is not None:
            current.append(line)
    if current is not None:
        chunks.append((start, current))
    # An entry that is only blank lines (a trailing separator) is not an entry.
    return [(s, c) for s, c in chunks if any(line.strip() for line in c)]


def _first_filled(chunk: list[str]) -> int:
    return next(i for i, line in enumerate(chunk) if line.strip())


def parse_entry(
    chunk: list[str], first_line: int, path: str, problems: list[Problem]
) -> ParsedEntry | None:
    """One entry's lines -> a Paper, or None (with a problem) when it has no title link."""
    rows = [(first_line + i, line.rstrip()) for i, line in enumerate(chunk)]
    filled = [(n, line) for n, line in rows if line.strip()]
    head_no, head = filled[0]
    match = TITLE_RE.match(head)
    if match is None:
        reason = "entry has no `### [title](arXiv URL)` line"
        if head.startswith("###"):
            reason = "entry's title line is not a `### [title](URL)` link"
        problems.append(Problem(path, head_no, f"entry skipped: {reason}"))
        return None
    title, url = match.group("title"), match.group("url")
    arxiv_id = arxiv_id_from_url(url)
    if arxiv_id is None:
        problems.append(Problem(path, head_no, f"entry skipped: title link {url!r} is not an arXiv URL"))
        return None
    if not title.strip():
        problems.append(Problem(path, head_no, "entry skipped: empty title"))
        return None

    # Split off the footer (from the topics line on) and the comment.
    body = filled[1:]
    footer_at = next((i for i, (_, line) in enumerate(body) if line.startswith(FOOTER_LABEL)), None)
    footer_rows = body[footer_at:] if footer_at is not None else []
    body = body[:footer_at] if footer_at is not None else body
    comment = ""
    comment_at = next((i for i, (_, line) in enumerate(body) if line.startswith(COMMENT_LABEL)), None)
    if comment_at is not None:
        comment = " ".join(line.strip() for _, line in body[comment_at:])[len(COMMENT_LABEL):].strip()
        body = body[:comment_at]

    title_ja = ""
    index = 0
    if index < len(body) and _is_bold_line(body[index][1]):
        title_ja = body[index][1].strip()[2:-2]
        index += 1
    authors: tuple[str, ...] = ()
    if index < len(body) and not BULLET_RE.match(body[index][1]):
        authors = tuple(a.strip() for a in body[index][1].split(",") if a.strip())
        index += 1
    if not title_ja and index < len(body) and _is_italic_line(body[index][1]):
        # Some entries carry an empty `****` and the Japanese title in italics below the authors.
        title_ja = body[index][1].strip()[1:-1]
        index += 1
    summary: list[str] = []
    while index < len(body):
        line = body[index][1]
        bullet = BULLET_RE.match(line)
        if bullet:
            summary.append(bullet.group("text").strip())
        elif summary and line[:1].isspace():
            summary[-1] = f"{summary[-1]} {line.strip()}"
        else:
            break
        index += 1
    remark = _remark_text(chunk, first_line, body[index:])

    topics, categories, posted_at = _parse_footer(footer_rows, path, problems)
    if not footer_rows:
        problems.append(Problem(path, head_no, f"entry {arxiv_id} has no `{FOOTER_LABEL}` line", "warning"))
    paper = Paper(
        arxiv_id=arxiv_id,
        url=url,
        title=title,
        title_ja=title_ja,
        authors=authors,
        summary=tuple(summary),
        remark=remark,
        comment=comment,
        topics=topics,
        categories=categories,
        posted_at=posted_at,
    )
    return ParsedEntry(paper, head_no)


def _is_bold_line(line: str) -> bool:
    s = line.strip()
    return (
        len(s) >= 4
        and s.startswith("**")
        and s.endswith("**")
        and not s.startswith((COMMENT_LABEL, FOOTER_LABEL))
    )


def _is_italic_line(line: str) -> bool:
    s = line.strip()
    return len(s) >= 3 and s.startswith("*") and s.endswith("*") and not s.startswith("**")


def _remark_text(chunk: list[str], first_line: int, rows: list[tuple[int, str]]) -> str:
    """The editor's remark, paragraphs kept: the raw lines from the first to the last row."""
    if not rows:
        return ""
    lo, hi = rows[0][0] - first_line, rows[-1][0] - first_line
    paragraphs: list[list[str]] = [[]]
    for line in chunk[lo : hi + 1]:
        if line.strip():
            paragraphs[-1].append(line.strip())
        elif paragraphs[-1]:
            paragraphs.append([])
    return "\n\n".join("\n".join(p) for p in paragraphs if p)


def _parse_footer(
    rows: list[tuple[int, str]], path: str, problems: list[Problem]
) -> tuple[tuple[TopicRef, ...], tuple[str, ...], dt.datetime | None]:
    """`**トピック:** … **カテゴリ:** … **投稿日時:** …`, possibly wrapped over lines."""
    if not rows:
        return (), (), None
    line_no = rows[0][0]
    text = " ".join(line.strip() for _, line in rows)
    topic_part, _, rest = text.partition(CATEGORY_LABEL)
    category_part, _, posted_part = rest.partition(POSTED_LABEL)
    seen: dict[str, TopicRef] = {}
    for m in TOPIC_LINK_RE.finditer(topic_part):
        seen.setdefault(m.group("slug"), TopicRef(m.group("slug"), m.group("name").strip()))
    if not seen:
        problems.append(Problem(path, line_no, "no topic links in the `**トピック:**` line", "warning"))
    categories: dict[str, None] = {}
    for token in re.split(r"[,;]", category_part):
        token = " ".join(token.split())
        if token:
            categories.setdefault(token, None)
    posted_at = None
    posted_text = posted_part.strip()
    posted = POSTED_RE.match(posted_text)
    if posted:
        try:
            day = dt.date.fromisoformat(posted.group(1))
            if posted.group(2) is None:
                posted_at = dt.datetime(day.year, day.month, day.day)
            else:
                hour, minute, second = (int(posted.group(i) or 0) for i in (2, 3, 4))
                posted_at = dt.datetime(day.year, day.month, day.day, hour, minute, second)
        except ValueError:
            posted_at = None
    if posted_at is None:
        what = f"unreadable posted date {posted_text[:40]!r}" if posted_text else "no posted date"
        problems.append(Problem(path, line_no, what, "warning"))
    return tuple(seen.values()), tuple(categories), posted_at
