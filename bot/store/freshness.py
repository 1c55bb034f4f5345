"""What the archive holds now for messages already posted: papers' hashes, digests' versions.

The publisher compares them with its `posts` rows and digest marks to know
what to `chat.update`; the SQL on archive tables stays in the store layer.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from sqlalchemy import Engine, func, select

from bot.store.schema import digests, entries, papers

_CHUNK = 500


def paper_hashes(engine: Engine, arxiv_ids: Sequence[str]) -> dict[str, str]:
    """papers.content_hash of these papers: what a posted card must match."""
    found: dict[str, str] = {}
    with engine.connect() as conn:
        for i in range(0, len(arxiv_ids), _CHUNK):
            query = select(papers.c.arxiv_id, papers.c.content_hash).where(
                papers.c.arxiv_id.in_(arxiv_ids[i : i + _CHUNK])
            )
            found.update((r.arxiv_id, r.content_hash) for r in conn.execute(query))
    return found


def digest_versions(engine: Engine, slugs: Iterable[str]) -> dict[tuple[str, dt.date], int]:
    """(slug, week_start) -> the newest archive version among the digest's papers.

    A posted digest whose value moved past its mark's `checked_version` holds a
    new or edited paper; the others need no look at all.
    """
    query = (
        select(digests.c.slug, digests.c.week_start, func.max(papers.c.version))
        .join(entries, entries.c.digest_id == digests.c.id)
        .join(papers, papers.c.arxiv_id == entries.c.arxiv_id)
        .where(digests.c.slug.in_(list(slugs)))
        .group_by(digests.c.slug, digests.c.week_start)
    )
    with engine.connect() as conn:
        return {(slug, week): int(version) for slug, week, version in conn.execute(query)}
