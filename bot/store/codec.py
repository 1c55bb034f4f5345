"""Paper values <-> the JSON the store keeps, and the content hashes that key it."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.model import DigestRef, Paper, TopicRef


def text_data(paper: Paper) -> dict[str, Any]:
    """What an entry says about a paper, as JSON (its digests are not part of it)."""
    return {
        "arxiv_id": paper.arxiv_id,
        "url": paper.url,
        "title": paper.title,
        "title_ja": paper.title_ja,
        "authors": list(paper.authors),
        "summary": list(paper.summary),
        "remark": paper.remark,
        "comment": paper.comment,
        "topics": topics_data(paper.topics),
        "categories": list(paper.categories),
        "posted_at": paper.posted_at.isoformat() if paper.posted_at else None,
    }


def topics_data(refs: Sequence[TopicRef]) -> list[list[str]]:
    return [[t.slug, t.name] for t in refs]


def topics_from(data: Sequence[Sequence[str]]) -> tuple[TopicRef, ...]:
    return tuple(TopicRef(slug, name) for slug, name in data)


def digests_data(refs: Sequence[DigestRef]) -> list[list[str]]:
    return [[d.slug, d.week_start.isoformat()] for d in refs]


def digests_from(data: Sequence[Sequence[str]]) -> tuple[DigestRef, ...]:
    return tuple(DigestRef(slug, dt.date.fromisoformat(week)) for slug, week in data)


def paper_from(data: Mapping[str, Any], *, topics: Any = None, digests: Any = None) -> Paper:
    """A Paper from a text's JSON, with the merged topics and digests when given."""
    posted = data.get("posted_at")
    return Paper(
        arxiv_id=data["arxiv_id"],
        url=data["url"],
        title=data["title"],
        title_ja=data.get("title_ja", ""),
        authors=tuple(data.get("authors", ())),
        summary=tuple(data.get("summary", ())),
        remark=data.get("remark", ""),
        comment=data.get("comment", ""),
        topics=topics_from(topics if topics is not None else data.get("topics", ())),
        categories=tuple(data.get("categories", ())),
        posted_at=dt.datetime.fromisoformat(posted) if posted else None,
        digests=digests_from(digests) if digests is not None else (),
    )


def content_hash(data: Any) -> str:
    """A short stable hash of JSON-able data (128 bits: collisions are not a concern)."""
    encoded = json.dumps(data, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(encoded.encode("utf-8"), digest_size=16).hexdigest()
