"""Write papers in the digest archive's format, for tests that need archives of their own.

The inverse of `bot.archive.parse`: round-trip tests write arbitrary papers
with it and parse them back; other tests build small or broken archives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

from bot.model import Paper


def entry_text(paper: Paper) -> str:
    """One entry, exactly as the site writes it (without the `- - -` separator)."""
    lines = [f"### [{paper.title}]({paper.url})", "", f"**{paper.title_ja}**", ""]
    if paper.authors:
        lines += [", ".join(paper.authors), ""]
    lines += [f"- {bullet}" for bullet in paper.summary]
    lines.append("")
    if paper.remark:
        lines += [paper.remark, ""]
    if paper.comment:
        lines += [f"**Comment:** {paper.comment}", ""]
    topics = ", ".join(f"[{t.name}](../../{t.slug})" for t in paper.topics)
    categories = ", ".join(paper.categories)
    posted = paper.posted_at.strftime("%Y-%m-%d %H:%M") if paper.posted_at else ""
    lines.append(f"**トピック:** {topics}, **カテゴリ:** {categories}, **投稿日時:** {posted}")
    return "\n".join(lines) + "\n"


def digest_text(name: str, week_start: dt.date, papers: Sequence[Paper]) -> str:
    """A whole digest file: front matter, the intro line, then every entry."""
    week_end = week_start + dt.timedelta(days=6)
    span = f"{week_start} ~ {week_end}"
    head = f"---\ntitle: {name} ({span})\ndate: {week_start}\n---\n\n{name}に関する論文まとめ ({span})\n\n"
    return head + "".join(f"\n- - -\n\n{entry_text(p)}\n" for p in papers)


def write_digest(root: Path, slug: str, name: str, week_start: dt.date, papers: Sequence[Paper]) -> Path:
    """Write `_<slug>/<week>.md` under `root` and return its path."""
    path = root / f"_{slug}" / f"{week_start.isoformat()}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(digest_text(name, week_start, papers), encoding="utf-8")
    return path


def write_topic_page(root: Path, slug: str, name_ja: str, name_en: str) -> Path:
    """A `_pages/<slug>.md` topic page naming the collection."""
    path = root / "_pages" / f"{slug}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"---\nlayout: collection\ntitle: {name_ja} ({name_en})\ncollection: {slug}\n---\n",
        encoding="utf-8",
    )
    return path
