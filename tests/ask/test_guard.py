"""The guard over a model's text (pure): only valid citations, only the sources' links, no
mentions, Slack's escaping, Markdown made mrkdwn, and a cut that never splits a citation or link.
"""

from __future__ import annotations

import pytest

from bot.ask.guard import citations, clean_model_text, cut, renumber
from bot.ask.model import Source
from bot.render.mrkdwn import text_len


def test_invalid_numbers_leave_groups_and_runs_but_valid_ones_stay(sources: tuple[Source, ...]) -> None:
    cleaned = clean_model_text("Lead [1, 7]. Then [3][9] and [8]. Also [2-3].", sources)
    assert cleaned is not None
    assert cleaned.text == "Lead [1]. Then [3] and. Also [2][3]."
    assert cleaned.cited == (1, 3, 2)


def test_full_width_citations_are_read(sources: tuple[Source, ...]) -> None:
    cleaned = clean_model_text("拡散モデルが有効である［2］。", sources)
    assert cleaned is not None and cleaned.text == "拡散モデルが有効である[2]。"


def test_renumber_follows_first_citation_and_drops_the_rest() -> None:
    text = "A [3][1]. B [1]. C [2]. <https://arxiv.org/abs/1|see [3]>"
    assert renumber(text, (3, 1)) == "A [1][2]. B [2]. C . <https://arxiv.org/abs/1|see [3]>"
    assert citations(text) == (3, 1, 2)


def test_markdown_links_keep_their_words_unless_they_lead_to_a_source(sources: tuple[Source, ...]) -> None:
    cleaned = clean_model_text(
        "See [the PET paper](https://arxiv.org/abs/2401.00001), [thread](https://team.slack.com/"
        "archives/C0SD/p1700000000000100), [a blog](https://blog.example/post) and "
        "<https://evil.example|a trap> or <https://evil.example> [1].",
        sources,
    )
    assert cleaned is not None
    assert cleaned.text == (
        "See <https://arxiv.org/abs/2401.00001|the PET paper>, "
        "<https://team.slack.com/archives/C0SD/p1700000000000100|thread>, a blog and a trap or [1]."
    )


def test_a_bare_source_url_is_kept_and_any_other_goes(sources: tuple[Source, ...]) -> None:
    cleaned = clean_model_text(
        "Read https://arxiv.org/abs/2401.00003. Not www.evil.example or ftp://x.example/f [3]", sources
    )
    assert cleaned is not None
    assert cleaned.text == "Read <https://arxiv.org/abs/2401.00003|https://arxiv.org/abs/2401.00003>. Not or [3]"


def test_script_and_ampersands_are_escaped_after_the_links() -> None:
    source = Source(n=1, arxiv_id="2401.00001", title="P", link="https://example.org/p?a=1&b=2")
    cleaned = clean_model_text(
        "<script>alert(1)</script> R&D > A < B [1] <https://example.org/p?a=1&b=2|P&Q>", [source]
    )
    assert cleaned is not None
    assert cleaned.text == (
        "&lt;script&gt;alert(1)&lt;/script&gt; R&amp;D &gt; A &lt; B [1] <https://example.org/p?a=1&amp;b=2|P&amp;Q>"
    )


@pytest.mark.parametrize(
    "hostile",
    ["<@U0123ABC>", "<@W0123ABC|someone>", "<!here>", "<!channel>", "<!everyone>", "<!subteam^S012|@team>",
     "<#C0123|general>", "<!date^1392734382^{date}|Feb 18>"],
)
def test_slack_special_syntax_is_removed(hostile: str, sources: tuple[Source, ...]) -> None:
    cleaned = clean_model_text(f"Hello {hostile} there [1].", sources)
    assert cleaned is not None and cleaned.text == "Hello there [1]."


def test_bare_broadcasts_are_neutralised(sources: tuple[Source, ...]) -> None:
    cleaned = clean_model_text("@here @Channel and @everyone, mail a@here.org [1]", sources)
    assert cleaned is not None
    assert cleaned.text == "＠here ＠Channel and ＠everyone, mail a@here.org [1]"


def test_markdown_bold_and_headings_become_mrkdwn(sources: tuple[Source, ...]) -> None:
    cleaned = clean_model_text("## Short **answer**\n**Diffusion** helps [1].\n\n\n\n* point [2]", sources)
    assert cleaned is not None
    assert cleaned.text == "*Short answer*\n*Diffusion* helps [1].\n\n• point [2]"


def test_nothing_left_or_nothing_cited_is_none(sources: tuple[Source, ...]) -> None:
    assert clean_model_text("", sources) is None
    assert clean_model_text("<@U1> <!here>", sources) is None
    assert clean_model_text("Grounded in nothing [4][9].", sources) is None
    assert clean_model_text("Cited [1]", ()) is None


def test_the_cut_ends_at_a_sentence_and_never_inside_a_citation(sources: tuple[Source, ...]) -> None:
    text = "First point holds [1]. Second point holds too [2][3]. " + "Third runs on " * 20 + "[1]."
    for limit in range(10, len(text)):
        cleaned = clean_model_text(text, sources, limit=limit)
        if cleaned is None:
            continue
        assert text_len(cleaned.text) <= limit
        assert cleaned.text.endswith("…")
        body = cleaned.text[:-1]
        assert body.count("[") == body.count("]")
        assert body.endswith(("].", "]", "on")), body
    shortened = clean_model_text(text, sources, limit=30)
    assert shortened is not None
    assert (shortened.text, shortened.cited) == ("First point holds [1].…", (1,))


def test_the_cut_never_splits_a_link_or_an_entity() -> None:
    text = "A &amp; B <https://arxiv.org/abs/2401.00001|a long title here> end"
    for limit in range(2, len(text)):
        shortened = cut(text, limit)
        assert text_len(shortened) <= limit
        body = shortened.removesuffix("…")
        assert body.count("<") == body.count(">")
        assert not body.endswith(("&", "&a", "&am", "&amp"))


def test_a_cut_that_leaves_no_citation_is_none(sources: tuple[Source, ...]) -> None:
    assert clean_model_text("An opening sentence without a source. Then one [1].", sources, limit=40) is None
