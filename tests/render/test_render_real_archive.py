"""Every message the real archive can produce: within Slack's limits and valid Block Kit.

3,345 papers, 300+ digests (up to 136 papers each) and every week, rendered the
way the bot would send them and checked with `violations()` and the schema.
Skips cleanly without the real archive. The schema is compiled once and each
block checked against its own type's definition (see `tests/support/block_kit.py`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from bot.model import Digest, ThreadInfo
from bot.render import actions as act
from bot.render import (
    digest_header,
    digest_paper,
    paper_detail,
    topic_list,
    topic_week,
    violations,
    week_overview,
)
from bot.render.limits import unsafe_markup
from bot.store import Catalog
from tests.conftest import BLOCK_KIT_SCHEMA, schema_problems

pytestmark = pytest.mark.real_archive

SCHEMA = BLOCK_KIT_SCHEMA
THREAD = ThreadInfo(
    "C0SD", "1700000000.000100", "https://t.slack.com/archives/C0SD/p1700000000000100", 12
)


class Checker:
    """Collects every problem of every message, so one run reports them all."""

    def __init__(self) -> None:
        self.problems: list[str] = []
        self.messages = 0
        self._seen_blocks: set[str] = set()

    def __call__(self, name: str, message: Mapping[str, Any]) -> None:
        self.messages += 1
        found = violations(message) + unsafe_markup(message)
        # Identical blocks (a card repeated in several pages) are schema-checked once.
        fresh = []
        for block in message["blocks"]:
            key = json.dumps(block, sort_keys=True, ensure_ascii=False)
            if key not in self._seen_blocks:
                self._seen_blocks.add(key)
                fresh.append(block)
        if fresh:
            found += schema_problems(fresh)
        self.problems += [f"{name}: {p}" for p in found[:3]]

    def assert_clean(self) -> None:
        assert self.messages > 0
        assert not self.problems, "\n".join(self.problems[:30])


@pytest.fixture(scope="module")
def digests(real_store: Catalog) -> list[Digest]:
    return real_store.digests(with_papers=True)


def _more_offset(message: Mapping[str, Any], name: str) -> str | None:
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if isinstance(element, dict) and element.get("action_id", "").startswith(name + ":"):
                return str(element["value"])
    return None


def topic_pages(digest: Digest, lang: str) -> Iterator[Mapping[str, Any]]:
    """Every page of a digest, following the "More" buttons."""
    offset = 0
    while True:
        page = topic_week(digest, lang=lang, offset=offset)
        yield page
        value = _more_offset(page, act.TOPIC_MORE)
        if value is None:
            return
        parsed = act.parse_topic_value(value)
        assert parsed is not None and parsed[0] == digest.topic.slug and parsed[2] > offset
        offset = parsed[2]


def test_every_paper_card(real_store: Catalog, digests: list[Digest]) -> None:
    check = Checker()
    papers = list(real_store.iter_papers())
    assert len(papers) >= 3000
    digest_of = {p.arxiv_id: d for d in digests for p in d.papers if not d.topic.aggregate}
    for i, paper in enumerate(papers):
        lang = "ja" if i % 2 else "en"
        check(
            f"paper_detail {paper.arxiv_id}",
            paper_detail(paper, lang=lang, thread=THREAD if i % 3 else None),
        )
        digest = digest_of.get(paper.arxiv_id) or digests[0]
        check(f"digest_paper {paper.arxiv_id}", digest_paper(paper, digest, lang=lang))
    check.assert_clean()


def test_every_topic_week_page_and_digest_header(digests: list[Digest]) -> None:
    check = Checker()
    shown: dict[tuple[str, str], int] = {}
    for i, digest in enumerate(digests):
        lang = "ja" if i % 2 else "en"
        key = (digest.topic.slug, digest.week_start.isoformat())
        for page in topic_pages(digest, lang):
            check(f"topic_week {key}", page)
            shown[key] = shown.get(key, 0) + sum(
                1
                for b in page["blocks"]
                if b.get("block_id", "").startswith("card:") and b["block_id"].endswith(":main")
            )
        posted = {
            p.arxiv_id: f"https://t.slack.com/archives/C0ALL/p{n}"
            for n, p in enumerate(digest.papers)
        }
        check(
            f"digest_header {key}", digest_header(digest, lang=lang, paper_count=len(digest.papers))
        )
        check(
            f"digest_header+posted {key}",
            digest_header(digest, lang=lang, paper_count=len(digest.papers), already_posted=posted),
        )
        assert shown[key] == len(digest.papers), (
            f"{key}: pages showed {shown[key]} of {len(digest.papers)}"
        )
    check.assert_clean()


def test_every_week_overview_page(real_store: Catalog, digests: list[Digest]) -> None:
    check = Checker()
    by_week: dict[Any, list[Digest]] = {}
    for digest in digests:
        by_week.setdefault(digest.week_start, []).append(digest)
    weeks = real_store.weeks()
    assert weeks
    for i, week in enumerate(weeks):
        lang = "ja" if i % 2 else "en"
        offset, seen = 0, 0
        while True:
            page = week_overview(week, by_week.get(week.week_start, []), lang=lang, offset=offset)
            check(f"week_overview {week.week_start} @{offset}", page)
            seen += sum(1 for b in page["blocks"] if b.get("block_id", "").endswith(":main"))
            value = _more_offset(page, act.WEEK_MORE)
            if value is None:
                break
            parsed = act.parse_week_value(value)
            assert parsed is not None and parsed[1] > offset
            offset = parsed[1]
        assert seen == week.papers, f"{week.week_start}: {seen} cards for {week.papers} papers"
    check.assert_clean()


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_topic_list(real_store: Catalog, lang: str) -> None:
    check = Checker()
    check("topic_list", topic_list(real_store.topics(), lang=lang))
    check("topic_list+all", topic_list(real_store.topics(include_aggregate=True), lang=lang))
    check.assert_clean()
