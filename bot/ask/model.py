"""The value types of an answer: numbered sources and the text that cites them.

Every writer (the built-in composer, a language model) produces an `Answer`
whose text cites only its own sources as `[n]`, n counting from 1; every
renderer (Block Kit, the terminal, JSON) reads only these types.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Lang = Literal["en", "ja"]


@dataclass(frozen=True, slots=True)
class Source:
    """One paper an answer may cite, as the writer sees it."""

    n: int  # the citation number, from 1
    arxiv_id: str
    title: str
    title_ja: str = ""
    summary: tuple[str, ...] = ()  # the archive's summary bullets (Japanese)
    comment: str = ""
    remark: str = ""
    link: str = ""  # the paper's discussion thread, or its arXiv page where it was never posted
    thread: str | None = None  # the thread's permalink when it was posted
    replies: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "arxiv_id": self.arxiv_id,
            "title": self.title,
            "title_ja": self.title_ja,
            "thread": self.thread,
            "link": self.link,
            "replies": self.replies,
        }


@dataclass(frozen=True, slots=True)
class Answer:
    """A question's answer: `text` (a lead, then points each ending in `[n]`) and its sources.

    `text` is plain text (the renderers escape it), lines starting "• " are points.

    `by` says who wrote the text: "built-in" or "model:<name>". `notes` are
    said to the reader below the answer (the model failed and the built-in
    answer stands in; the archive has little on this).
    """

    question: str
    lang: Lang
    text: str
    sources: tuple[Source, ...] = ()
    by: str = "built-in"
    notes: tuple[str, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not self.sources

    def as_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "lang": self.lang,
            "answer": self.text,
            "sources": [s.as_dict() for s in self.sources],
            "by": self.by,
            "notes": list(self.notes),
        }
