"""Merge the entries of one paper from several digests into one record.

A paper stands in each of its topics' digests and in `all`. The record keeps
one text (from a topic digest of the newest week: the most specific source),
every topic any entry names, and every digest it stands in.

The merge is generic over the entry's text (`payload`): the in-memory loader
merges `Paper` values, the store merges content hashes without loading texts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from bot.model import AGGREGATE_SLUG, DigestRef, TopicRef

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Placement(Generic[T]):
    """One entry of a paper: its text, the topics it names, and its digest."""

    arxiv_id: str
    payload: T
    topics: tuple[TopicRef, ...]
    digest: DigestRef
    order: tuple[str, int]  # (source path, position): the archive's reading order


@dataclass(frozen=True, slots=True)
class Merged(Generic[T]):
    """A paper's record: the chosen text, united topics, and every digest."""

    arxiv_id: str
    payload: T
    topics: tuple[TopicRef, ...]
    digests: tuple[DigestRef, ...]


def _preference(placement: Placement[T]) -> tuple[bool, dt.date]:
    return (placement.digest.slug != AGGREGATE_SLUG, placement.digest.week_start)


def merge_one(placements: Iterable[Placement[T]], topic_names: Mapping[str, str]) -> Merged[T]:
    """One paper's record from all its placements (at least one)."""
    ordered = sorted(placements, key=lambda p: p.order)
    best = ordered[0]
    for placement in ordered[1:]:
        if _preference(placement) > _preference(best):
            best = placement
    united: dict[str, TopicRef] = {}
    for placement in (best, *ordered):
        for ref in placement.topics:
            united.setdefault(ref.slug, ref)
    for placement in ordered:
        slug = placement.digest.slug
        if slug != AGGREGATE_SLUG and slug not in united:
            united[slug] = TopicRef(slug, topic_names.get(slug, slug))
    digests = tuple(sorted({p.digest for p in ordered}, key=lambda d: (d.week_start, d.slug)))
    return Merged(best.arxiv_id, best.payload, tuple(united.values()), digests)


def merge_all(
    placements: Iterable[Placement[T]], topic_names: Mapping[str, str]
) -> dict[str, Merged[T]]:
    """Every paper's record, keyed by arXiv id, in first-seen order."""
    groups: dict[str, list[Placement[T]]] = {}
    for placement in placements:
        groups.setdefault(placement.arxiv_id, []).append(placement)
    return {arxiv_id: merge_one(group, topic_names) for arxiv_id, group in groups.items()}
