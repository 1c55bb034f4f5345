"""The query language parser: filters, phrases, ids, notices, and never raising."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from bot.search.query import MAX_QUERY_CHARS, MAX_WORDS, Query, parse_date, parse_query


def test_words_keep_order_and_case() -> None:
    q = parse_query("Federated lerning")
    assert q.words == ("Federated", "lerning")
    assert not q.has_filters and q.notices == ()


def test_every_filter() -> None:
    q = parse_query("topic:sd author:Leskovec cat:cs.CV week:2024-07-26 since:2024/07/01 until:2024-08")
    assert q == Query(
        raw=q.raw,
        topics=("sd",),
        authors=("Leskovec",),
        categories=("cs.CV",),
        week=dt.date(2024, 7, 26),
        since=dt.date(2024, 7, 1),
        until=dt.date(2024, 8, 31),
    )


@pytest.mark.parametrize(
    "text",
    ['topic:"synthetic data"', "topic: 'x'".replace("'x'", '"synthetic data"'), "Topic:“synthetic data”", "トピック：「synthetic data」"],
)
def test_quoted_filter_values_and_spellings(text: str) -> None:
    assert parse_query(text).topics == ("synthetic data",)


def test_value_after_a_space() -> None:
    assert parse_query("topic: fl privacy").topics == ("fl",)
    assert parse_query("topic: fl privacy").words == ("privacy",)


@pytest.mark.parametrize("name", ["id", "arxiv", "to", "from", "topic", "since"])
def test_a_filter_name_without_its_colon_is_a_word(name: str) -> None:
    q = parse_query(f"{name} since:2000-01-01")
    assert q.words == (name,) and q.since == dt.date(2000, 1, 1) and q.notices == ()
    assert parse_query(q.to_text()).words == (name,)


def test_phrases_and_single_word_quotes() -> None:
    q = parse_query('"differential privacy" noise "gan"')
    assert q.phrases == ("differential privacy",)
    assert q.words == ("noise", "gan")


@pytest.mark.parametrize(
    "text",
    [
        "2408.00707",
        "2408.00707v2",
        "arXiv:2408.00707",
        "arxiv: 2408.00707",
        "https://arxiv.org/abs/2408.00707",
        "http://arxiv.org/pdf/2408.00707v1.pdf",
        "<https://arxiv.org/abs/2408.00707|the paper>",
        "id:2408.00707",
    ],
)
def test_arxiv_ids_in_every_form(text: str) -> None:
    q = parse_query(text)
    assert q.arxiv_ids == ("2408.00707",)
    assert q.words == ()


def test_full_width_is_read_as_half_width() -> None:
    q = parse_query("ＦＥＤＥＲＡＴＥＤ　ｌｅａｒｎｉｎｇ　ｔｏｐｉｃ：ｆｌ")
    assert q.words == ("FEDERATED", "learning")
    assert q.topics == ("fl",)


def test_unknown_filter_is_searched_as_words_with_a_notice() -> None:
    q = parse_query("title:privacy")
    assert q.words == ("title", "privacy")
    assert any("not a filter" in n for n in q.notices)


def test_an_unknown_filters_value_reads_as_if_typed_alone() -> None:
    assert parse_query("a:あ:0").words == parse_query("a あ:0").words == ("a", "あ", "0")
    q = parse_query("note:topic:sd")
    assert (q.words, q.topics) == (("note",), ("sd",))
    assert parse_query('note:"secure aggregation"').phrases == ("secure aggregation",)


def test_bad_dates_are_dropped_with_a_notice() -> None:
    q = parse_query("since:2024-13-01 until:soon week:yesterday")
    assert (q.since, q.until, q.week) == (None, None, None)
    assert len(q.notices) == 3


def test_reversed_range_is_swapped() -> None:
    q = parse_query("since:2024-08-01 until:2024-07-01")
    assert (q.since, q.until) == (dt.date(2024, 7, 1), dt.date(2024, 8, 1))
    assert q.notices


def test_unbalanced_quote() -> None:
    q = parse_query('"differential privacy')
    assert q.words == ("differential", "privacy")
    assert any("unbalanced" in n for n in q.notices)


def test_slack_mentions_and_entities() -> None:
    q = parse_query("<!channel> <@U123> privacy &amp; security")
    assert q.words == ("privacy", "security")
    assert any("Slack" in n for n in q.notices)


def test_long_queries_are_cut() -> None:
    q = parse_query("word " * 5000)
    assert len(q.raw) <= MAX_QUERY_CHARS
    assert len(q.words) == MAX_WORDS
    assert q.notices


@pytest.mark.parametrize("junk", ["", "   ", "\x00\x01\x02", "😀🎉", "שלום עולם", ":::", '""', "<>", None, 42])
def test_junk_never_raises(junk: object) -> None:
    q = parse_query(junk)
    assert isinstance(q, Query)


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        ("2024-07-26", False, dt.date(2024, 7, 26)),
        ("20240726", False, dt.date(2024, 7, 26)),
        ("2024年7月26日", False, dt.date(2024, 7, 26)),
        ("2024-02", True, dt.date(2024, 2, 29)),
        ("2024", False, dt.date(2024, 1, 1)),
        ("2024-02-30", False, None),
        ("tomorrow", False, None),
    ],
)
def test_parse_date(text: str, end: bool, expected: dt.date | None) -> None:
    assert parse_date(text, end=end) == expected


def _structure(q: Query) -> tuple:
    return (q.words, q.phrases, q.topics, q.authors, q.categories, q.week, q.since, q.until, q.arxiv_ids)


_ALPHABET = st.sampled_from(list('ab xyz:"<>&@!#-_.0129/\\\x00\u3000Ａあアｱ漢😀\u200f\u05d0「」'))


@settings(max_examples=400, deadline=None)
@given(st.text(_ALPHABET, max_size=80) | st.text(max_size=200))
@example("あ:あ:")  # an unknown key's value kept its colon, which the canonical text then dropped
@example("a:あ:0")  # an unknown key's value "あ:0" was one word; its canonical text reads it as あ, 0
@example("x" + ":y" * 600)  # read again without recursion: no stack to exhaust
@example('"a:0"')  # a quoted word with a colon: its canonical text must quote it again
@example('a:"xあ:0"')  # a quoted value reads as the same quotes alone would (a phrase)
@example('0:""')  # a whole token kept as a word, quotes and all: canonical as it is
def test_never_raises_and_round_trips(text: str) -> None:
    q = parse_query(text)
    canonical = q.to_text()
    assume(len(canonical) < MAX_QUERY_CHARS)
    again = parse_query(canonical)
    assert _structure(again) == _structure(q)


@settings(max_examples=200, deadline=None)
@given(
    words=st.lists(st.from_regex(r"[a-z]{2,8}", fullmatch=True), max_size=4),
    topic=st.sampled_from(["", "sd", "synthetic data", "合成データ"]),
    day=st.dates(dt.date(2000, 1, 1), dt.date(2100, 1, 1)),
)
# A filter's name without its colon ("id", "to", "from", "arxiv") is a word like any other.
@example(words=["id"], topic="", day=dt.date(2000, 1, 1))
@example(words=["to", "from", "arxiv"], topic="sd", day=dt.date(2000, 1, 1))
def test_structure_survives_a_round_trip(words: list[str], topic: str, day: dt.date) -> None:
    text = " ".join(words) + (f' topic:"{topic}"' if topic else "") + f" since:{day.isoformat()}"
    q = parse_query(text)
    assert q.words == tuple(words)
    assert q.topics == ((topic,) if topic else ())
    assert q.since == day
    assert _structure(parse_query(q.to_text())) == _structure(q)


def test_ci_draws_the_same_examples_every_run_and_keeps_no_database() -> None:
    """`.ci/run` sets CI, which loads the fixed-seed "ci" profile (tests/conftest.py)."""
    profile = settings.get_profile("ci")
    assert profile.derandomize is True and profile.database is None
    ci_script = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text(encoding="utf-8")
    assert 'export CI="${CI:-true}"' in ci_script


def test_a_plural_read_as_its_glossary_singular_is_not_called_a_correction() -> None:
    """`GPUs` read as GPU found 'searched for graphics processing unit instead of `GPUs`'."""
    from bot.search.concepts import is_plural

    assert is_plural("gpus", "gpu") and is_plural("proofs", "proof") and is_plural("searches", "search")
    assert not is_plural("lerning", "learning") and not is_plural("gpu", "gpu")
