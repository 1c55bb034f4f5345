"""mrkdwn primitives: escaping, links, bold, cleaning, and shortening within limits."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.render.mrkdwn import (
    BOLD_SAFE_STAR,
    ELLIPSIS,
    bold,
    clean,
    code,
    escape,
    fit,
    is_linkable,
    link,
    plain,
    text_len,
    truncate,
    truncate_escaped,
    unescape,
)

#: Text that stresses everything: mrkdwn, entities, emoji (astral), CJK, RTL, controls.
hostile_text = st.lists(
    st.one_of(
        st.sampled_from(list("&<>*_~`|!@#;:/ \n\t")),
        st.sampled_from(
            [
                "&amp;",
                "&lt;",
                "<!channel>",
                "<@U123>",
                "😀",
                "👩‍🔬",
                "日本語",
                "عربى",
                "\x00",
                "\u202e",
            ]
        ),
        st.characters(),
    ),
    max_size=60,
).map("".join)

ENTITY_RE = re.compile(r"&(amp|lt|gt);")


# Escaping -------------------------------------------------------------------


def test_escape_exactly_three_characters() -> None:
    assert escape("a & b < c > d \"e\" 'f'") == "a &amp; b &lt; c &gt; d \"e\" 'f'"
    assert escape("<!channel> <@U123>") == "&lt;!channel&gt; &lt;@U123&gt;"
    assert escape("&lt;") == "&amp;lt;"  # shown as it is written


def test_unescape_undoes_escape() -> None:
    for text in ["a &amp; b", "&lt;&gt;&amp;", "x"]:
        assert unescape(escape(text)) == text


@given(st.text())
def test_escaped_text_has_no_angle_brackets(text: str) -> None:
    escaped = escape(text)
    assert "<" not in escaped and ">" not in escaped
    assert unescape(escaped) == text


# Lengths and truncation ------------------------------------------------------


def test_text_len_counts_utf16_units() -> None:
    assert text_len("abc") == 3
    assert text_len("日本語") == 3
    assert text_len("😀") == 2
    assert text_len("👩‍🔬") == 5  # woman + ZWJ + microscope


def test_truncate_leaves_short_text_alone() -> None:
    assert truncate("short", 10) == "short"
    assert truncate("exactly10!", 10) == "exactly10!"


def test_truncate_shortens_with_ellipsis() -> None:
    assert truncate("abcdefghijk", 5) == "abcd…"
    assert truncate("word   next", 7) == "word…"  # no space before the ellipsis


def test_truncate_counts_emoji_as_two() -> None:
    result = truncate("😀😀😀😀", 5)
    assert result == "😀😀…"
    assert text_len(result) <= 5


def test_truncate_does_not_leave_a_dangling_joiner() -> None:
    result = truncate("ab👩‍🔬cd", 5)
    assert not result[:-1].endswith("\u200d")


@given(st.text(), st.integers(min_value=1, max_value=80))
def test_truncate_never_exceeds_the_limit(text: str, limit: int) -> None:
    result = truncate(text, limit)
    assert text_len(result) <= limit
    if result != text:
        assert result.endswith(ELLIPSIS)


@given(st.text(alphabet=st.sampled_from(list("a&<>b😀 ")), max_size=50), st.integers(1, 60))
def test_fit_escapes_within_the_limit_and_never_splits_an_entity(text: str, limit: int) -> None:
    result = fit(text, limit)
    assert text_len(result) <= limit
    assert "<" not in result and ">" not in result
    # Every & starts a whole entity: none was cut in half.
    assert all(ENTITY_RE.match(result, m.start()) for m in re.finditer("&", result))
    if result != escape(text):
        assert result.endswith(ELLIPSIS)
        assert unescape(result[:-1]) == text[: len(unescape(result[:-1]))]


@given(st.text(), st.integers(min_value=1, max_value=80))
def test_escape_of_truncate_never_splits_an_entity(text: str, limit: int) -> None:
    result = escape(truncate(text, limit))
    assert all(ENTITY_RE.match(result, m.start()) for m in re.finditer("&", result))


@given(st.text(alphabet=st.sampled_from(list("a&<>b😀 ")), max_size=50), st.integers(1, 60))
def test_truncate_escaped_keeps_entities_whole(text: str, limit: int) -> None:
    result = truncate_escaped(escape(text), limit)
    assert text_len(result) <= limit
    assert all(ENTITY_RE.match(result, m.start()) for m in re.finditer("&", result))


def test_fit_counts_entities() -> None:
    assert fit("a&b", 5) == "a…"  # "a&amp;b" is 7 units; "a&amp;…" would be 7 too
    assert fit("<<<<", 9) == "&lt;&lt;…"


# Cleaning -------------------------------------------------------------------


def test_clean_removes_controls_and_collapses_whitespace() -> None:
    assert clean("a\x00b\x07c\x1bd\x7f\x85e") == "abcd e"
    assert clean("  one\n two\tthree  ") == "one two three"


def test_clean_drops_bidi_overrides_and_lone_surrogates_but_keeps_rtl_text() -> None:
    assert clean("abc\u202edef") == "abcdef"
    assert clean("x\ud800y") == "xy"
    assert clean("مرحبا بالعالم") == "مرحبا بالعالم"
    assert clean("👩‍🔬 science") == "👩‍🔬 science"  # the joiner inside the emoji stays


def test_clean_multiline_keeps_paragraphs() -> None:
    assert clean("a\r\nb\n\n\n\nc\u2028d", multiline=True) == "a\nb\n\nc\nd"


@given(st.text())
def test_clean_output_is_encodable_and_control_free(text: str) -> None:
    result = clean(text, multiline=True)
    result.encode("utf-8")
    assert not any(ord(ch) < 0x20 and ch != "\n" for ch in result)


# Links, bold, code, plain ---------------------------------------------------


def test_link_escapes_the_label() -> None:
    assert (
        link("https://arxiv.org/abs/1", "a <b> & c")
        == "<https://arxiv.org/abs/1|a &lt;b&gt; &amp; c>"
    )


def test_link_escapes_ampersand_in_url() -> None:
    assert link("https://x.slack.com/p1?a=1&b=2", "t") == "<https://x.slack.com/p1?a=1&amp;b=2|t>"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://example.org/x",
        "https://example.org/a|b",
        "https://example.org/a>b",
        "https://example.org/a<b",
        "https://example.org/a b",
        "https://example.org/a\nb",
        "",
        "<!channel>",
    ],
)
def test_unsafe_urls_are_not_linked(url: str) -> None:
    assert not is_linkable(url)
    result = link(url, "label")
    assert result == "label"


def test_link_shortens_and_bolds_the_label() -> None:
    result = link("https://arxiv.org/abs/1", "a*b " * 20, limit=10, strong=True)
    assert result.startswith("*<https://arxiv.org/abs/1|") and result.endswith(">*")
    label = result[len("*<https://arxiv.org/abs/1|") : -2]
    assert text_len(label) <= 10 and "*" not in label and BOLD_SAFE_STAR in label


def test_bold_replaces_inner_stars() -> None:
    assert bold("a*b*c") == f"*a{BOLD_SAFE_STAR}b{BOLD_SAFE_STAR}c*"
    assert bold("  padded ") == "*padded*"
    assert bold("  ") == ""


def test_code_replaces_backticks_and_escapes() -> None:
    assert code("a`b<c", 20) == "`aˋb&lt;c`"


def test_plain_never_holds_mention_syntax() -> None:
    assert plain("<!channel> hi\x00", 150) == "‹!channel› hi"
    assert text_len(plain("😀" * 200, 150)) <= 150


@given(hostile_text, st.integers(min_value=1, max_value=200))
def test_plain_and_fit_never_exceed_limits(text: str, limit: int) -> None:
    for result in (plain(text, limit), fit(clean(text), limit)):
        assert text_len(result) <= limit
        assert "<" not in result and ">" not in result
