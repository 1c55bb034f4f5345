"""What is due: which digests a run works on, in which channel, in what order, and why.

Reads the store only (the catalog, digest marks and paper versions), so the
plan of a run can be computed and tested without Slack. The rules of a first
start, a backfill and a chosen week live here; what posting them means lives
in `bot.publisher.run`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from bot.config import Settings
from bot.model import AGGREGATE_SLUG
from bot.progress import duration
from bot.store import freshness
from bot.store import marks as mark_store
from bot.store import posts as store
from bot.store.catalog import Catalog
from bot.store.marks import Mark, MarkOrigin
from bot.store.posts import header_key, paper_key
from bot.weekly.schedule import is_due


@dataclass(frozen=True, slots=True)
class Target:
    """One topic's digest of one week, to be posted (or checked) in one channel."""

    channel: str
    slug: str
    week_start: dt.date
    origin: MarkOrigin

    @property
    def label(self) -> str:
        return f"{self.slug} {self.week_start.isoformat()}"

    @property
    def lease_key(self) -> str:
        return f"{self.channel}|{self.slug}|{self.week_start.isoformat()}"


@dataclass(slots=True)
class Plan:
    """The targets of a run in posting order, and first-start weeks to leave alone."""

    targets: list[Target] = field(default_factory=list)
    skipped: dict[tuple[str, str], list[dt.date]] = field(default_factory=dict)
    unmapped: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    #: The archive's newest week that has ended: all a first start posts.
    newest_week: dt.date | None = None


@dataclass(frozen=True, slots=True)
class Outlook:
    """What a run is about to post and how long that takes at Slack's pace, said beforehand."""

    digests: dict[str, list[str]]  # channel -> digest labels, in posting order
    messages: int  # headers and papers not yet in their channel
    seconds: float  # at one message per `min_interval` per channel, channels one after another
    skipped_weeks: int  # older weeks a first start leaves unposted
    newest_week: dt.date | None

    @property
    def empty(self) -> bool:
        return not self.digests and not self.skipped_weeks

    def describe(self) -> str:
        """One line for the log, `post` and `status`."""
        if self.digests:
            where = "; ".join(f"{channel}: {', '.join(labels)}" for channel, labels in self.digests.items())
            count = sum(len(labels) for labels in self.digests.values())
            line = (
                f"{count} digest(s) to post ({where}): {self.messages} message(s), "
                f"about {duration(self.seconds)} at Slack's pace"
            )
        else:
            line = "nothing to post"
        if self.skipped_weeks:
            newest = f" (the archive's newest week is {self.newest_week})" if self.newest_week else ""
            line += (
                f"; a first start leaves {self.skipped_weeks} older week(s) unposted{newest}: "
                "post them with --backfill SINCE"
            )
        return line


def outlook(engine: Engine, plan: Plan, *, min_interval: float, max_papers: int | None = None) -> Outlook:
    """Count the messages the plan's digests still need in their channels (store reads only).

    A paper already posted in that channel (by this or another topic's digest)
    is linked, not posted again, so it is not counted; edits are not counted.
    With a cap on papers per digest, papers past it are not counted, and the
    note saying so is.
    """
    catalog = Catalog(engine)
    labels: dict[str, list[str]] = {}
    messages = 0
    counted: set[tuple[str, str]] = set()
    for target in plan.targets:
        labels.setdefault(target.channel, []).append(target.label)
        digest = catalog.digest(target.slug, target.week_start)
        if digest is None:
            continue
        papers = digest.papers if max_papers is None else digest.papers[:max_papers]
        keys = [header_key(target.slug, target.week_start), *(paper_key(p.arxiv_id) for p in papers)]
        if len(papers) < len(digest.papers):
            messages += 1  # the reply in the header's thread saying how many were held back
        rows = store.posts_by_key(engine, target.channel, keys)
        for key in keys:
            if (target.channel, key) in counted:
                continue
            counted.add((target.channel, key))
            row = rows.get(key)
            messages += row is None or not row.posted
    skipped = sum(len(weeks) for weeks in plan.skipped.values())
    return Outlook(labels, messages, messages * min_interval, skipped, plan.newest_week)


def selected_topics(
    settings: Settings, known: Iterable[str], topic: str | None = None
) -> list[str]:
    """`--topic`, else DIGEST_TOPICS, else every topic but `all` (with DIGEST_CHANNEL)
    or the topics DIGEST_CHANNELS names."""
    if topic:
        return [topic]
    if settings.topics:
        return list(settings.topics)
    if settings.channel:
        return sorted(s for s in known if s != AGGREGATE_SLUG)
    return list(settings.channels)


def plan_run(
    engine: Engine,
    settings: Settings,
    now: dt.datetime,
    *,
    week: dt.date | None = None,
    topic: str | None = None,
    backfill_since: dt.date | None = None,
) -> Plan:
    """Decide which digests to post where, reading the store only.

    - a due week with no mark is posted; `posting` marks are resumed;
    - a `posted` digest is checked again only when one of its papers changed
      (a new or edited entry) since it was last settled;
    - a topic seen for the first time in a channel posts only the archive's
      newest due week, if it has a digest in it; its other weeks are marked
      `skipped` (no flood on a new install: a topic that stopped weeks ago
      posts nothing old);
    - `backfill_since` posts skipped (or unmarked) due weeks ending on/after it;
    - `week` takes the digest holding that day, due or not.
    """
    catalog = Catalog(engine)
    known = {t.topic.slug for t in catalog.topics(include_aggregate=True)}
    plan = Plan()
    slugs = selected_topics(settings, known, topic)
    plan.unknown = [s for s in slugs if s not in known]
    slugs = [s for s in slugs if s in known]
    plan.unmapped = [s for s in slugs if settings.channel_for(s) is None]
    slugs = [s for s in slugs if settings.channel_for(s) is not None]
    versions = freshness.digest_versions(engine, slugs)
    order = {slug: i for i, slug in enumerate(slugs)}
    tz = settings.tz
    plan.newest_week = next(
        (start for start, end in catalog.week_spans() if is_due(end, now, tz)), None
    )
    for slug in slugs:
        channel = settings.channel_for(slug)
        assert channel is not None
        weeks = sorted(catalog.digests(slug=slug), key=lambda d: d.week_start)
        due = [d for d in weeks if is_due(d.week_end, now, tz)]
        marks = mark_store.marks(engine, channel, slug)
        chosen = [d for d in weeks if d.week_start <= week <= d.week_end] if week else []
        if not marks and due:
            keep = {d.week_start for d in chosen}
            if due[-1].week_start == plan.newest_week:
                keep.add(due[-1].week_start)
            if backfill_since is not None:
                keep.update(d.week_start for d in due if d.week_end >= backfill_since)
            skipped = [d.week_start for d in due if d.week_start not in keep]
            if skipped:
                plan.skipped[(channel, slug)] = skipped
            marks = {w: Mark(channel, slug, w, "skipped", "first_start", None) for w in skipped}
        candidates = chosen if week else due
        for digest in candidates:
            origin = _origin(
                digest.week_end,
                marks.get(digest.week_start),
                versions.get((slug, digest.week_start)),
                week=week,
                backfill_since=backfill_since,
            )
            if origin is not None:
                plan.targets.append(Target(channel, slug, digest.week_start, origin))
    plan.targets.sort(key=lambda t: (t.week_start, order[t.slug]))
    return plan


def _origin(
    week_end: dt.date,
    mark: Mark | None,
    version: int | None,
    *,
    week: dt.date | None,
    backfill_since: dt.date | None,
) -> MarkOrigin | None:
    """Why this digest is worked on in this run, or None to leave it alone."""
    if week is not None:
        return "manual" if mark is None or mark.state == "skipped" else mark.origin  # type: ignore[return-value]
    if mark is None:
        return (
            "backfill" if backfill_since is not None and week_end >= backfill_since else "schedule"
        )
    if mark.state == "skipped":
        return "backfill" if backfill_since is not None and week_end >= backfill_since else None
    if mark.state == "posting":
        return mark.origin  # type: ignore[return-value]
    if mark.checked_version is None or (version is not None and version > mark.checked_version):
        return mark.origin  # type: ignore[return-value]
    return None
