"""Every renderer, on the example archive and on hostile papers: within limits, valid, safe."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import pytest

from bot.i18n import CATALOG, LANGS, normalize_lang, papers, replies, t
from bot.model import Digest, Paper, ThreadInfo, Topic, TopicRef
from bot.render import actions as act
from bot.render import (
    digest_header,
    digest_paper,
    error_message,
    help_message,
    message_to_text,
    paper_card,
    paper_detail,
    search_results,
    shared_paper,
    topic_list,
    topic_not_found,
    topic_week,
    violations,
    week_overview,
)
from bot.render.layout import message
from bot.render.limits import blocks_text_len, unsafe_markup
from bot.render.messages import user_mention
from bot.search.results import Hit, SearchResponse
from bot.store import Catalog
from bot.store.catalog import TopicStats, WeekStats
from tests.conftest import BLOCK_KIT_SCHEMA, requires_block_kit_schema, schema_problems
from tests.support.block_kit import limit_problems, slack_problems, validate_blocks

SCHEMA = BLOCK_KIT_SCHEMA
WEEK = dt.date(2025, 1, 10)
HOSTILE = (
    "*bold* _it_ ~strike~ `code` <!channel> <!here|here> <@U123> <#C1> <!subteam^S1> &lt; a|b > & "
)
GOOD_THREAD = ThreadInfo(
    "C0SD",
    "1700000000.000100",
    "https://t.slack.com/archives/C0SD/p1700000000000100?thread_ts=1&cid=C0SD",
    3,
)


# Checks ------------------------------------------------------------------------


def action_ids(message_: Mapping[str, Any]) -> list[str]:
    return [
        e["action_id"]
        for b in message_["blocks"]
        for e in b.get("elements", [])
        if isinstance(e, dict) and "action_id" in e
    ]


def assert_ok(message_: Mapping[str, Any], *, mention: str | None = None) -> None:
    """Within every limit, valid against the schema, mention-safe, readable as text."""
    assert violations(message_) == []
    assert schema_problems(message_["blocks"], exact=True) == []
    allowed = [mention] if mention else []
    assert unsafe_markup(message_, allowed_mentions=allowed) == []
    raw = json.dumps(message_, ensure_ascii=False)
    for marker in ("<!", "<#"):
        assert marker not in raw
    assert raw.count("<@") == (raw.count(mention) if mention else 0)
    for block in message_["blocks"]:
        for obj in _mrkdwn_objects(block):
            assert obj.get("verbatim") is True
    ids = action_ids(message_)
    assert len(ids) == len(set(ids))
    text = message_to_text(message_)
    assert "<http" not in text  # links are spelt out; entities are checked in the text tests


def _mrkdwn_objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if node.get("type") == "mrkdwn":
            yield node
        for value in node.values():
            yield from _mrkdwn_objects(value)
    elif isinstance(node, list):
        for value in node:
            yield from _mrkdwn_objects(value)


# Hostile data -------------------------------------------------------------------


def hostile_paper(n: int = 0, **changes: Any) -> Paper:
    fields: dict[str, Any] = {
        "arxiv_id": f"2401.{n:05d}",
        "url": f"http://arxiv.org/abs/2401.{n:05d}",
        "title": f"{HOSTILE}\x00\x07 Learning 😀👩‍🔬 שלום עולם مرحبا " * 6,
        "title_ja": "",
        "authors": tuple(f"Author{i} <@U{i:03d}> *{i}*" for i in range(150)),
        "summary": tuple(f"bullet {i} {HOSTILE} 日本語の要約 😀" for i in range(40)),
        "remark": f"remark\x00 {HOSTILE}\n\n\n\nline2 \u202eRTL override",
        "comment": "C" * 5000 + HOSTILE + "x" * 15000,
        "topics": tuple(TopicRef(f"t{i}", f"トピック{i} <!here>") for i in range(8)),
        "categories": tuple(f"cs.{i}<>" for i in range(30)),
        "posted_at": None,
    }
    fields.update(changes)
    return Paper(**fields)


def hostile_topic(i: int = 0) -> Topic:
    return Topic(
        f"t{i}", f"トピック{i} <!channel> *x*" + "長" * 200, f"Topic {i} <@U1> & co" + "L" * 200
    )


def hostile_digest(count: int = 150, topic: Topic | None = None) -> Digest:
    topic = topic or hostile_topic()
    return Digest(
        topic=topic,
        week_start=WEEK,
        week_end=WEEK + dt.timedelta(days=6),
        title="<!channel> digest",
        source_path=f"_{topic.slug}/2025-01-10.md",
        url="https://example.org/digest/t0/2025-01-10/",
        papers=tuple(hostile_paper(i) for i in range(count)),
    )


HOSTILE_PAPERS = [
    hostile_paper(),
    hostile_paper(1, title="😀" * 3000, authors=("X" * 5000,), summary=(), remark="", comment=""),
    hostile_paper(2, title="", title_ja="", authors=(), summary=(), topics=(), categories=()),
    hostile_paper(3, arxiv_id="bad|id> x", url="javascript:alert(1)"),
    hostile_paper(
        4, title="&lt;b&gt; already escaped &amp;", title_ja="&amp; <i>", summary=("a" * 10_000,)
    ),
    hostile_paper(5, posted_at=dt.datetime(2024, 8, 1, 16, 54), title_ja="合成データ"),
    Paper(arxiv_id="", url="", title="\x00 \u202e"),
]
HOSTILE_IDS = [
    "everything",
    "emoji-title",
    "empty",
    "unlinkable-id",
    "entities",
    "dated",
    "nothing",
]
THREADS = [
    None,
    GOOD_THREAD,
    ThreadInfo("C1", "1.2", None, 0),
    ThreadInfo("C1", "1.2", "https://t.slack.com/p1|<!channel>", 1),
    ThreadInfo("C1", "1.2", "javascript:alert(1)", 12345),
]


# Example archive -----------------------------------------------------------------


@pytest.fixture(scope="module")
def example(example_store: Catalog) -> dict[str, Any]:
    return {
        "papers": list(example_store.iter_papers()),
        "digests": example_store.digests(with_papers=True),
        "weeks": example_store.weeks(),
        "topics": example_store.topics(),
    }


@pytest.mark.parametrize("lang", LANGS)
def test_example_archive_every_renderer(example: dict[str, Any], lang: str) -> None:
    for paper in example["papers"]:
        assert_ok(paper_detail(paper, lang=lang, thread=GOOD_THREAD))
        assert_ok(shared_paper(paper, user_id="U0ALICE", lang=lang), mention="<@U0ALICE>")
        assert_ok(message("card", paper_card(paper, lang=lang, index=1)))
    for digest in example["digests"]:
        assert_ok(digest_header(digest, lang=lang, paper_count=len(digest.papers)))
        for paper in digest.papers:
            assert_ok(digest_paper(paper, digest, lang=lang))
        for msg in all_topic_pages(digest, lang=lang):
            assert_ok(msg)
    for week in example["weeks"]:
        digests = [d for d in example["digests"] if d.week_start == week.week_start]
        for msg in all_week_pages(week, digests, lang=lang):
            assert_ok(msg)
    assert_ok(topic_list(example["topics"], lang=lang))
    hits = tuple(Hit(p, 90.0) for p in example["papers"])
    assert_ok(search_results(SearchResponse("privacy", hits[:5], total=len(hits)), lang=lang))


def test_example_card_shows_both_titles_and_buttons(example: dict[str, Any]) -> None:
    paper = next(p for p in example["papers"] if p.arxiv_id == "1802.08908")
    msg = paper_detail(paper, lang="en", thread=GOOD_THREAD)
    main = msg["blocks"][0]["text"]["text"]
    assert main.startswith(
        "*<https://arxiv.org/abs/1802.08908|Scalable Private Learning with PATE>*"
    )
    assert "PATEによるスケーラブルなプライベート学習" in main
    assert "ICLR 2018" in json.dumps(msg, ensure_ascii=False)  # full card: the arXiv comment
    buttons = msg["blocks"][-1]["elements"]
    assert (
        buttons[0]["action_id"].startswith("paper_share:") and buttons[0]["value"] == "1802.08908"
    )
    assert buttons[1]["url"] == "https://arxiv.org/pdf/1802.08908"
    meta = json.dumps(msg["blocks"][-2], ensure_ascii=False)
    assert "差分プライバシー (dp)" in meta and "💬 3 replies" in meta
    assert "cid=C0SD|" in meta.replace("&amp;", "&")
    assert (
        msg["text"]
        == "Scalable Private Learning with PATE / PATEによるスケーラブルなプライベート学習"
    )


# Hostile papers ------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("paper", HOSTILE_PAPERS, ids=HOSTILE_IDS)
def test_hostile_paper_cards(paper: Paper, lang: str) -> None:
    for thread in THREADS:
        assert_ok(paper_detail(paper, lang=lang, thread=thread))
        assert_ok(
            shared_paper(paper, user_id="U0ALICE", lang=lang, thread=thread), mention="<@U0ALICE>"
        )
        assert_ok(message("card", paper_card(paper, lang=lang, thread=thread, index=7)))
    digest = hostile_digest(3)
    assert_ok(digest_paper(paper, digest, lang=lang))


def test_hostile_card_is_shortened_not_rejected() -> None:
    msg = paper_detail(hostile_paper(), lang="en")
    text = message_to_text(msg)
    assert "… Author149 <@U149> *149* (+139 more)" in text  # 10 names, "…", the last one
    assert "…and" in text  # 40 bullets are cut
    assert "\x00" not in json.dumps(msg) and "\\u0000" not in json.dumps(msg)
    assert "\u202e" not in json.dumps(msg, ensure_ascii=False)
    assert blocks_text_len(msg["blocks"]) < 11_000


def test_authors_are_shortened_first_three_then_last() -> None:
    paper = hostile_paper(authors=tuple(f"A{i}" for i in range(10)))
    context = next(b for b in paper_card(paper) if b["type"] == "context")
    assert context["elements"][0]["text"] == "A0, A1, A2 … A9 (+6 more)"
    ja = next(b for b in paper_card(paper, lang="ja") if b["type"] == "context")
    assert ja["elements"][0]["text"] == "A0, A1, A2 … A9 (他 6 名)"


def test_unlinkable_paper_has_no_link_and_no_pdf_button() -> None:
    blocks = paper_card(hostile_paper(arxiv_id="bad|id> x"))
    assert "<http" not in blocks[0]["text"]["text"]
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"].split(":")[0] for b in buttons] == ["paper_share", "paper_save"]  # the reading list: every card


def test_reply_counts_link_to_the_thread() -> None:
    def thread_text(thread: ThreadInfo, lang: str = "en") -> str:
        return next(
            b
            for b in paper_card(hostile_paper(), lang=lang, thread=thread)
            if b["type"] == "context"
        )["elements"][-1]["text"]

    url = "https://t.slack.com/p1"
    assert thread_text(ThreadInfo("C", "1", url, 0)) == f"<{url}|💬 Discuss in thread>"
    assert thread_text(ThreadInfo("C", "1", url, 1)) == f"<{url}|💬 1 reply>"
    assert thread_text(ThreadInfo("C", "1", url, 3)) == f"<{url}|💬 3 replies>"
    assert thread_text(ThreadInfo("C", "1", url, 3), "ja") == f"<{url}|💬 返信 3 件>"
    assert thread_text(ThreadInfo("C", "1", None, 3)) == "💬 3 replies"


def test_cards_in_one_message_have_unique_ids() -> None:
    paper = hostile_paper()
    blocks = [*paper_card(paper, index=1), *paper_card(paper, index=2)]
    msg = message("two", blocks)
    assert violations(msg) == []


# Search results -----------------------------------------------------------------


def response(
    count: int, *, total: int | None = None, offset: int = 0, query: str = HOSTILE
) -> SearchResponse:
    hits = tuple(Hit(hostile_paper(i), 50.0, ("title",)) for i in range(count))
    return SearchResponse(
        query=query,
        hits=hits,
        total=total if total is not None else count,
        offset=offset,
        notices=tuple(f"notice {i} {HOSTILE}" * 20 for i in range(12)),
    )


@pytest.mark.parametrize("lang", LANGS)
def test_search_results_page_with_more_button(lang: str) -> None:
    hostile = THREADS[3]
    assert hostile is not None
    threads = {"2401.00000": GOOD_THREAD, "2401.00001": hostile}
    msg = search_results(response(5, total=42), lang=lang, threads=threads)
    assert_ok(msg)
    more = msg["blocks"][-1]["elements"][0]
    assert more["action_id"] == "results_more:5"
    query, offset = act.parse_results_value(more["value"]) or ("", -1)
    assert offset == 5 and query == " ".join(HOSTILE.split())
    header = msg["blocks"][0]["text"]["text"]
    assert "42" in header and "&lt;!channel&gt;" in header


def test_search_results_header_reads_well() -> None:
    msg = search_results(response(5, total=42, query="federated learning"), lang="en")
    assert msg["blocks"][0]["text"]["text"] == "🔎 Results 1–5 of 42 for “federated learning”"
    msg = search_results(response(5, total=42, offset=5, query="連合学習"), lang="ja")
    assert msg["blocks"][0]["text"]["text"] == "🔎 “連合学習” の検索結果 42 件中 6–10 件"


def test_search_results_without_more() -> None:
    msg = search_results(response(3), lang="en")
    assert_ok(msg)
    assert not any(a.startswith("results_more") for a in action_ids(msg))


def test_huge_page_is_cut_and_pages_on_from_what_was_shown() -> None:
    msg = search_results(response(50, total=50), lang="en", page_size=50)
    assert_ok(msg)
    shown = sum(1 for b in msg["blocks"] if b.get("block_id", "").endswith(":main"))
    assert 0 < shown < 50
    more = msg["blocks"][-1]["elements"][0]
    assert act.parse_results_value(more["value"]) == (" ".join(HOSTILE.split()), shown)
    assert f"1–{shown} of 50" in msg["blocks"][0]["text"]["text"]


def test_long_query_is_shortened_in_header_and_button_value() -> None:
    query = '“quoted” "q" <!here> ' * 400
    msg = search_results(response(5, total=9, query=query), lang="en")
    assert_ok(msg)
    value = msg["blocks"][-1]["elements"][0]["value"]
    assert len(value.encode("utf-16-le")) // 2 <= 2000
    parsed = act.parse_results_value(value)
    assert parsed is not None and " ".join(query.split()).startswith(parsed[0]) and parsed[1] == 5


@pytest.mark.parametrize("lang", LANGS)
def test_no_results_with_suggestions(lang: str) -> None:
    suggestions = tuple(f"sugg {i} <!here> {'x' * 300}" for i in range(30))
    msg = search_results(
        SearchResponse("fedrated", suggestions=suggestions, notices=("n",)), lang=lang
    )
    assert_ok(msg)
    text = message_to_text(msg)
    assert t(lang, "no_results", query="fedrated") in text
    assert "/papers help" in text
    buttons = [e for b in msg["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert 1 <= len(buttons) <= 5
    assert act.parse_results_value(buttons[0]["value"]) == (" ".join(suggestions[0].split()), 0)


def test_no_results_without_suggestions() -> None:
    msg = search_results(SearchResponse("zzz"), lang="en")
    assert_ok(msg)
    assert message_to_text(msg).startswith("🔎 No papers match “zzz”.")


# Browsing ------------------------------------------------------------------------


def all_topic_pages(digest: Digest, *, lang: str, page_size: int = 5) -> list[dict[str, Any]]:
    """Every page of a topic's digest, following the "More" buttons as the Slack app would."""
    pages = [topic_week(digest, lang=lang, page_size=page_size)]
    while more := [a for a in action_ids(pages[-1]) if a.startswith("topic_more")]:
        button = next(
            e
            for b in pages[-1]["blocks"]
            for e in b.get("elements", [])
            if e.get("action_id") == more[0]
        )
        slug, week, offset = act.parse_topic_value(button["value"]) or ("", None, 0)
        assert slug == digest.topic.slug and week == digest.week_start
        pages.append(topic_week(digest, lang=lang, page_size=page_size, offset=offset))
        assert len(pages) <= len(digest.papers) + 1
    return pages


def all_week_pages(
    week: WeekStats, digests: Sequence[Digest], *, lang: str
) -> list[dict[str, Any]]:
    pages = [week_overview(week, digests, lang=lang)]
    while more := [a for a in action_ids(pages[-1]) if a.startswith("week_more")]:
        button = next(
            e
            for b in pages[-1]["blocks"]
            for e in b.get("elements", [])
            if e.get("action_id") == more[0]
        )
        start, offset = act.parse_week_value(button["value"]) or (None, 0)
        assert start == week.week_start
        pages.append(week_overview(week, digests, lang=lang, offset=offset))
        assert len(pages) <= week.papers + 1
    return pages


def card_ids(pages: Sequence[Mapping[str, Any]]) -> list[str]:
    return [
        b["block_id"].split(":")[1].split("-", 1)[1]
        for page in pages
        for b in page["blocks"]
        if b.get("block_id", "").startswith("card:") and b["block_id"].endswith(":main")
    ]


@pytest.mark.parametrize("lang", LANGS)
def test_topic_week_pages_cover_a_huge_digest(lang: str) -> None:
    digest = hostile_digest(150)
    pages = all_topic_pages(digest, lang=lang)
    for page in pages:
        assert_ok(page)
    assert card_ids(pages) == [p.arxiv_id for p in digest.papers]


def test_topic_week_header_and_empty_digest() -> None:
    digest = Digest(
        Topic("sd", "合成データ", "Synthetic Data"), WEEK, WEEK + dt.timedelta(days=6), "t", "p"
    )
    msg = topic_week(digest, lang="en")
    assert_ok(msg)
    assert msg["blocks"][0]["text"]["text"] == "📰 合成データ · Synthetic Data"
    assert "No papers in this digest." in message_to_text(msg)
    assert_ok(topic_week(hostile_digest(3), lang="en", offset=99))


@pytest.mark.parametrize("lang", LANGS)
def test_week_overview_pages(lang: str) -> None:
    digests = [hostile_digest(40, hostile_topic(i)) for i in range(20)]
    digests.append(hostile_digest(40, Topic("all", "全て", "All")))
    week = WeekStats(WEEK, WEEK + dt.timedelta(days=6), 40, tuple(f"t{i}" for i in range(20)))
    pages = all_week_pages(week, digests, lang=lang)
    for page in pages:
        assert_ok(page)
    assert card_ids(pages) == [f"2401.{i:05d}" for i in range(40)]  # each paper once


@pytest.mark.parametrize("lang", LANGS)
def test_topic_list_many_hostile_topics(lang: str) -> None:
    stats = [TopicStats(hostile_topic(i), i * 100, i, WEEK, WEEK) for i in range(200)]
    stats.append(TopicStats(Topic("all", "全て", "All"), 5, 1, None, None))
    msg = topic_list(stats, lang=lang)
    assert_ok(msg)
    assert "t199" not in json.dumps(msg) or "…" in json.dumps(msg, ensure_ascii=False)
    assert_ok(topic_list([], lang=lang))


def test_topic_list_reads_well(example: dict[str, Any]) -> None:
    text = message_to_text(topic_list(example["topics"], lang="en"))
    assert (
        "• *差分プライバシー · Differential Privacy*  `dp`  12 papers · 3 weeks · newest 2025-01-17"
        in text
    )


@pytest.mark.parametrize("lang", LANGS)
def test_topic_not_found(lang: str) -> None:
    topics = [hostile_topic(i) for i in range(60)]
    msg = topic_not_found(HOSTILE * 10, topics[:8], topics, lang=lang)
    assert_ok(msg)
    buttons = [e for b in msg["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert len(buttons) == 5
    assert act.parse_topic_value(buttons[0]["value"]) == ("t0", None, 0)
    assert_ok(topic_not_found("x", [], [], lang=lang))


# Digest posts --------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_digest_header_links_many_already_posted(lang: str) -> None:
    digest = hostile_digest(150)
    posted = {
        p.arxiv_id: f"https://t.slack.com/archives/C1/p{i}?x=1&y=2"
        for i, p in enumerate(digest.papers)
    }
    posted["9999.99999"] = "https://t.slack.com/p|<!channel>"
    msg = digest_header(digest, lang=lang, paper_count=150, already_posted=posted)
    assert_ok(msg)
    text = message_to_text(msg)
    assert t(lang, "and_more", n=1).split("{")[0][:4] in text
    assert_ok(digest_header(digest, lang=lang, paper_count=0))


def test_digest_paper_has_pdf_but_no_share_and_a_thread_prompt() -> None:
    digest = hostile_digest(1)
    msg = digest_paper(hostile_paper(5), digest, lang="en")
    assert_ok(msg)
    names = [a.split(":")[0] for a in action_ids(msg)]
    assert names == ["paper_pdf", "paper_save"]  # Save on the weekly posts too
    assert msg["blocks"][-1]["elements"][0]["text"].startswith("💬 Discuss in thread")


# Shared, help, errors -----------------------------------------------------------


@pytest.mark.parametrize(
    "user_id",
    ["U0ALICE", "W012ABC"],
)
def test_shared_paper_mentions_a_valid_user(user_id: str) -> None:
    msg = shared_paper(hostile_paper(5), user_id=user_id, lang="en")
    assert_ok(msg, mention=f"<@{user_id}>")
    assert msg["blocks"][0]["elements"][0]["text"] == f"📣 Shared by <@{user_id}>"
    assert "paper_share" not in json.dumps(msg)


@pytest.mark.parametrize(
    "user_id",
    [
        "U0ALICE\n",
        "<!channel>",
        "u0alice",
        "B0BOT",
        "U1",
        "",
        None,
        "U0A|x",
        "U" + "A" * 40,
        "U0A>",
    ],
)
def test_shared_paper_never_mentions_a_malformed_user(user_id: str | None) -> None:
    msg = shared_paper(hostile_paper(5), user_id=user_id, lang="en")
    assert_ok(msg)
    assert user_mention(user_id) == ""


@pytest.mark.parametrize("lang", LANGS)
def test_help_lists_every_form(lang: str) -> None:
    msg = help_message(lang=lang)
    assert_ok(msg)
    text = message_to_text(msg)
    for form in [
        "/papers <query>",
        "topic:",
        "author:",
        "cat:",
        "week:",
        "since:",
        "until:",
        '"',
        "/papers topic <name>",
        "/papers author <name>",
        "/papers cat <category>",
        "/papers week [DATE|this|last]",
        "/papers id <arXiv id or URL>",
        "/papers topics",
        "/papers hot [week|month]",
        "/papers trends [topic]",
        "/papers help",
    ]:
        assert form in text


ERROR_KEYS = sorted(k.removeprefix("error_") for k in CATALOG if k.startswith("error_"))


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("key", [*ERROR_KEYS, "no_such_error"])
def test_error_messages(key: str, lang: str) -> None:
    msg = error_message(
        key, lang=lang, n=500, id=HOSTILE, text=HOSTILE * 50, date="2025-01-10", topic=HOSTILE
    )
    assert_ok(msg)
    assert "{" not in msg["text"]
    assert msg["blocks"][0]["text"]["text"].startswith("⚠️ ")


def test_error_message_query_too_long() -> None:
    msg = error_message("query_too_long", lang="ja", n=500)
    assert msg["text"] == "検索語が長すぎるため、500 文字に短縮しました。"


# i18n ---------------------------------------------------------------------------

PLACEHOLDER_RE = re.compile(r"\{(\w+)\}")


@pytest.mark.parametrize("key", sorted(CATALOG))
def test_every_key_in_both_languages_with_the_same_parameters(key: str) -> None:
    entry = CATALOG[key]
    assert set(entry) == set(LANGS)
    assert all(entry[lang].strip() for lang in LANGS)
    assert set(PLACEHOLDER_RE.findall(entry["en"])) == set(PLACEHOLDER_RE.findall(entry["ja"]))
    for lang in LANGS:
        assert not re.search(r"[<>]|&(?!amp;|lt;|gt;)", entry[lang]), (
            "catalog text must be mrkdwn-safe"
        )


def test_t_and_helpers() -> None:
    assert t("en", "reply_many", n=3) == "💬 3 replies"
    assert t("ja", "reply_many", n=3) == "💬 返信 3 件"
    assert t("fr", "share_button") == "Share in channel"
    assert t("ja-JP", "share_button") == "チャンネルで共有"
    assert t("en", "reply_many") == "💬 {n} replies"  # a missing parameter never fails a reply
    assert normalize_lang("JA") == "ja" and normalize_lang(None) == "en"
    assert replies("en", 0) == "💬 Discuss in thread"
    assert replies("en", 1) == "💬 1 reply"
    assert replies("en", 1234) == "💬 1,234 replies"
    assert replies("ja", 1) == "💬 返信 1 件"
    assert papers("en", 1) == "1 paper" and papers("ja", 42) == "論文 42 本"


# Text preview ---------------------------------------------------------------------


def test_message_to_text_is_readable() -> None:
    paper = hostile_paper(
        5, title="A & B <c> &lt;d&gt;", title_ja="日本語 & タイトル", summary=("x & y",)
    )
    text = message_to_text(paper_detail(paper, lang="en", thread=GOOD_THREAD))
    assert text.startswith(
        "*A & B <c> &lt;d&gt;* (https://arxiv.org/abs/2401.00005)\n日本語 & タイトル\n• x & y\n"
    )
    assert "[Share in channel]  [PDF → https://arxiv.org/pdf/2401.00005]" in text
    assert (
        "💬 3 replies (https://t.slack.com/archives/C0SD/p1700000000000100?thread_ts=1&cid=C0SD)"
        in text
    )
    assert "<http" not in text and "{" not in text


def test_message_to_text_headers_dividers_and_fields() -> None:
    msg = {
        "text": "x",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "Title"}},
            {"type": "divider"},
            {
                "type": "section",
                "fields": [{"type": "mrkdwn", "text": "*a*"}, {"type": "plain_text", "text": "b"}],
            },
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": "<https://x.org|x> &amp; <@U1>"}],
            },
        ],
    }
    assert (
        message_to_text(msg)
        == "Title\n════════\n" + "─" * 40 + "\n  *a*\n  b\nx (https://x.org) & @U1\n"
    )


# Limits ---------------------------------------------------------------------------


def test_violations_catch_every_limit() -> None:
    def section(text: str, bid: str | None = None) -> dict[str, Any]:
        block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text}}
        if bid:
            block["block_id"] = bid
        return block

    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": "b" * 76},
        "action_id": "a",
        "value": "v" * 2001,
    }
    bad = {
        "text": " ",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}},
            section("s" * 3001, "dup"),
            section("", "dup"),
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11},
            {
                "type": "actions",
                "elements": [button, {**button, "url": "https://x.org/" + "u" * 3000}],
            },
            {"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}] * 11},
            *[section("x" * 250) for _ in range(45)],
        ],
    }
    found = "\n".join(violations(bad))
    for expected in [
        "text: the top-level",
        "blocks: 51 blocks > 50",
        "blocks[0].text.text: 151",
        "blocks[1].text.text: 3001",
        "empty text object",
        "'dup' repeats",
        "blocks[3].elements: 11 elements",
        ".text.text: 76 characters > 75",
        ".value: 2001 characters > 2000",
        ".url: 3014 characters > 3000",
        "'a' repeats",
        "fields: 11 fields > 10",
        "fields[0].text: 2001",
        "characters of text > budget",
    ]:
        assert expected in found
    assert "emoji" not in found
    assert violations({"text": "ok", "blocks": [section("😀" * 1500)]}) == []
    assert violations({"text": "ok", "blocks": [section("😀" * 1501)]}) != []  # UTF-16: 3,002 units


def _mutations(blocks: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """Valid blocks, and broken copies of them: each shape of error the schema knows."""
    yield blocks
    change: dict[str, Any]
    for index, block in enumerate(blocks):
        for change in (
            {"type": "bogus"},
            {"block_id": ""},
            {"extra": 1},
            {"text": {"type": "mrkdwn", "text": ""}},
            {"text": {"type": "plain_text", "text": "x", "verbatim": True}},
            {"elements": []},
            {"elements": [{"type": "button", "text": {"type": "mrkdwn", "text": "x"}}]},
            {"elements": [{"type": "image"}]},
        ):
            yield [*blocks[:index], {**block, **change}, *blocks[index + 1 :]]


@requires_block_kit_schema
def test_fast_schema_validation_agrees_with_the_exact_one() -> None:
    header = {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}
    assert validate_blocks([header], schema_path=SCHEMA)
    assert validate_blocks([header], schema_path=SCHEMA, exact=True)
    messages = [
        paper_detail(hostile_paper()),
        help_message(lang="ja"),
        search_results(response(2, total=9)),
    ]
    for msg in messages:
        for blocks in _mutations(msg["blocks"]):
            fast = validate_blocks(blocks, schema_path=SCHEMA)
            exact = validate_blocks(blocks, schema_path=SCHEMA, exact=True)
            assert bool(fast) == bool(exact), (fast, exact)
            assert [e.split(":")[0] for e in fast] == [e.split(":")[0] for e in exact]



def _pointers(problems: list[str]) -> list[str]:
    return [p.rsplit("[json-pointer:", 1)[1].rstrip("]") for p in problems]


@pytest.mark.parametrize(
    ("blocks", "pointer"),
    [
        ([{"type": "section", "text": {"type": "mrkdwn", "text": ""}}], "/blocks/0/text/text"),
        (
            [
                {"type": "section", "text": {"type": "mrkdwn", "text": "ok"}},
                {"type": "header", "text": {"type": "plain_text", "text": "h" * 151}},
            ],
            "/blocks/1/text/text",
        ),
        (
            [{"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "b" * 76}, "action_id": "a"}]}],
            "/blocks/0/elements/0/text/text",
        ),
        ([{"type": "context", "elements": [{"type": "mrkdwn", "text": "c"}] * 11}], "/blocks/0/elements"),
    ],
)
def test_the_fakes_block_errors_name_the_field_with_or_without_the_schema(
    blocks: list[dict[str, Any]], pointer: str
) -> None:
    """The fake answers in Slack's words: from the schema, or from `violations`' rules without it."""
    assert pointer in _pointers(limit_problems(blocks))
    assert all(p.startswith("[ERROR] ") for p in limit_problems(blocks))
    assert pointer in _pointers(slack_problems(blocks))
    valid = [{"type": "section", "text": {"type": "mrkdwn", "text": "ok"}, "block_id": "b"}]
    assert limit_problems(valid) == slack_problems(valid) == []
    assert "/blocks/1/block_id" in _pointers(slack_problems(valid * 2))
    assert "/blocks/1/block_id" in _pointers(limit_problems(valid * 2))


def test_guard_trims_an_oversized_message() -> None:
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 2000}} for _ in range(60)
    ]
    msg = message("fallback <!here>", blocks)
    assert violations(msg) == []
    assert msg["blocks"][-1]["elements"][0]["text"] == "…"
    assert msg["text"] == "fallback &lt;!here&gt;"


# Action values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        None,
        "",
        "x",
        "[]",
        "{}",
        '{"q": 1}',
        '{"q": "a", "o": -1}',
        '{"q": "a", "o": true}',
        '{"q":"a","o":"5"}',
    ],
)
def test_malformed_result_values_are_rejected(raw: str | None) -> None:
    assert act.parse_results_value(raw) is None


def test_action_values_round_trip() -> None:
    assert act.parse_results_value(act.results_value('a <b> & "c"', 10)) == ('a <b> & "c"', 10)
    assert act.parse_topic_value(act.topic_value("sd", WEEK, 5)) == ("sd", WEEK, 5)
    assert act.parse_topic_value(act.topic_value("sd", None, 0)) == ("sd", None, 0)
    assert act.parse_topic_value('{"t": "sd", "w": "not a date", "o": 5}') is None
    assert act.parse_week_value(act.week_value(WEEK, 5)) == (WEEK, 5)
    assert act.parse_week_value('{"o": 5}') is None
    assert act.action_pattern(act.PAPER_SHARE).match("paper_share:3-2408.00707")
    assert not act.action_pattern(act.PAPER_SHARE).match("paper_shared")
    assert act.action_name("topic_more:10") == "topic_more"
