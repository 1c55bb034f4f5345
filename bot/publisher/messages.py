"""What the publisher sends: rendered messages that carry the id of their post row.

Rendering is injected (`DigestRenderer`; the project's is `bot.render.digest_posts`)
so that tests can drive the publisher with any messages. The metadata is what
makes exactly once possible: every message names the `posts` row it was sent
for, so an interrupted post can be found in the channel's history and adopted
instead of posted again (`bot.publisher.posting`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from bot.model import Digest, Paper
from bot.store.posts import PostRow

#: `event_type` of the metadata on every message the publisher posts.
EVENT_TYPE = "digest_bot_post"


class DigestRenderer(Protocol):
    """Turns a digest into Slack messages (`{"text": ..., "blocks": [...]}`)."""

    def header(
        self, digest: Digest, *, lang: str, paper_count: int, already_posted: Mapping[str, str]
    ) -> dict[str, Any]: ...

    def paper(self, paper: Paper, digest: Digest, *, lang: str) -> dict[str, Any]: ...

    def held_back(
        self, digest: Digest, *, lang: str, held: int, cap: int
    ) -> dict[str, Any]: ...


class BlockKitRenderer:
    """The project's renderer (`bot.render.digest_posts`), imported on first use."""

    def header(
        self, digest: Digest, *, lang: str, paper_count: int, already_posted: Mapping[str, str]
    ) -> dict[str, Any]:
        from bot.render.digest_posts import digest_header

        return digest_header(
            digest, lang=lang, paper_count=paper_count, already_posted=already_posted
        )

    def paper(self, paper: Paper, digest: Digest, *, lang: str) -> dict[str, Any]:
        from bot.render.digest_posts import digest_paper

        return digest_paper(paper, digest, lang=lang)

    def held_back(self, digest: Digest, *, lang: str, held: int, cap: int) -> dict[str, Any]:
        from bot.render.digest_posts import digest_held_back

        return digest_held_back(digest, lang=lang, held=held, cap=cap)


def post_metadata(row: PostRow) -> dict[str, Any]:
    """What a message carries so that it can be found again after a crash."""
    payload: dict[str, Any] = {
        "post_id": row.id,
        "kind": row.kind,
        "slug": row.slug,
        "week": row.week_start.isoformat(),
    }
    if row.arxiv_id is not None:
        payload["arxiv_id"] = row.arxiv_id
    return {"event_type": EVENT_TYPE, "event_payload": payload}


def digest_payload(message: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The publisher's metadata payload on a message, or None (not the bot's digest post)."""
    metadata = message.get("metadata") or {}
    if not isinstance(metadata, Mapping) or metadata.get("event_type") != EVENT_TYPE:
        return None
    payload = metadata.get("event_payload")
    return payload if isinstance(payload, Mapping) else None


def post_id_in(message: Mapping[str, Any]) -> int | None:
    value = (digest_payload(message) or {}).get("post_id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def describes(message: Mapping[str, Any], row: PostRow) -> bool:
    """Whether a message carrying `row.id` is really that row's message.

    Post ids start again at 1 in a fresh store: a message an earlier store
    posted may carry the same id for another paper. Kind, digest and paper
    must match too.
    """
    payload = digest_payload(message) or {}
    return (
        payload.get("kind") == row.kind
        and payload.get("slug") == row.slug
        and payload.get("week") == row.week_start.isoformat()
        and payload.get("arxiv_id") == row.arxiv_id
    )


def post_label(row: PostRow) -> str:
    if row.arxiv_id:
        return f"paper {row.arxiv_id} of {row.slug} {row.week_start}"
    if row.kind == "note":
        return f"the held-back note of {row.slug} {row.week_start}"
    if row.kind in ("recap", "chart"):
        return f"the {row.kind} of the week of {row.week_start}"
    return f"the header of {row.slug} {row.week_start}"
