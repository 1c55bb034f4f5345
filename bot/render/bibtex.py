"""Saved papers as BibTeX: one `@misc` entry per paper, the way arXiv exports them.

Pure: papers in, text out. Every value is archive text, so BibTeX's special
characters are escaped (`{`, `}`, `\\`, `%`, `&`, `$`, `#`, `_`, `^`, `~`) and
control characters dropped: no title can unbalance a brace, end a field early
or comment out the rest of the file. Unicode stays as it is (the file is UTF-8).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from bot.model import Paper

_SPECIALS = {
    "\\": r"\textbackslash{}",
    "{": r"\{",
    "}": r"\}",
    "%": r"\%",
    "&": r"\&",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "^": r"\textasciicircum{}",
    "~": r"\textasciitilde{}",
}
_SPECIALS_RE = re.compile(r"[\\{}%&$#_^~]")
_NEW_ID = re.compile(r"^(\d{2})(\d{2})\.\d{4,5}(v\d+)?$")
_OLD_ID = re.compile(r"^[a-z-]+(\.[A-Z]{2})?/(\d{2})(\d{2})\d{3}(v\d+)?$")
_KEY_UNSAFE = re.compile(r"[^A-Za-z0-9.:_-]")
_AND = re.compile(r"\band\b", re.IGNORECASE)


def escape(text: str) -> str:
    """A value safe inside `{…}`: specials escaped, control characters gone, spaces collapsed."""
    kept = "".join(" " if c.isspace() else c for c in text if unicodedata.category(c) not in ("Cc", "Cf", "Cs", "Co", "Cn") or c.isspace())
    return _SPECIALS_RE.sub(lambda m: _SPECIALS[m.group(0)], " ".join(kept.split()))


def entry_key(arxiv_id: str) -> str:
    """The citation key: the arXiv id (`hep-th/9901001` as `hep-th_9901001`)."""
    return _KEY_UNSAFE.sub("_", arxiv_id.replace("/", "_")) or "paper"


def year(paper: Paper) -> str | None:
    """The year from the arXiv id (YYMM), else from when the paper was posted."""
    match = _NEW_ID.match(paper.arxiv_id)
    if match:
        return f"20{match.group(1)}"
    old = _OLD_ID.match(paper.arxiv_id)
    if old:
        yy = int(old.group(2))
        return f"{1900 + yy if yy >= 91 else 2000 + yy}"
    return str(paper.posted_at.year) if paper.posted_at is not None else None


def _author(name: str) -> str:
    """One author; a name holding the word "and" is braced so it stays one name."""
    value = escape(name)
    return f"{{{value}}}" if _AND.search(value) else value


def entry(paper: Paper) -> str:
    """One `@misc{…}` entry: title, author, year, eprint, archivePrefix, primaryClass, url."""
    fields: list[tuple[str, str]] = [("title", escape(paper.title) or escape(paper.arxiv_id))]
    authors = [a for a in (_author(n) for n in paper.authors) if a]
    if authors:
        fields.append(("author", " and ".join(authors)))
    when = year(paper)
    if when:
        fields.append(("year", when))
    fields += [("eprint", escape(paper.arxiv_id)), ("archivePrefix", "arXiv")]
    categories = [c for c in (escape(c) for c in paper.categories) if c]
    if categories:
        fields.append(("primaryClass", categories[0]))
    fields.append(("url", escape(paper.abs_url)))
    body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
    return f"@misc{{{entry_key(paper.arxiv_id)},\n{body}\n}}\n"


def bibtex(papers: Iterable[Paper]) -> str:
    """The entries of these papers, in order, each key once."""
    seen: set[str] = set()
    parts = []
    for paper in papers:
        key = entry_key(paper.arxiv_id)
        if key not in seen:
            seen.add(key)
            parts.append(entry(paper))
    return "\n".join(parts)
