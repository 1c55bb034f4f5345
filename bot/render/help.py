"""`/papers help`: every form of the command, each with an example to copy."""

from __future__ import annotations

from bot.i18n import t
from bot.render.blocks import Block, Message, context, header, section
from bot.render.layout import message
from bot.render.mrkdwn import HEADER_TEXT, escape, plain

#: (usage, i18n key of its description, examples): the same in both languages.
USAGE: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "/papers <query>",
        "help_search",
        ("/papers differential privacy", '/papers "synthetic data" 医療'),
    ),
    (
        "/papers <words> topic:… author:… cat:… week:… since:… until:…",
        "help_filters",
        (
            "/papers federated topic:fl since:2024-10-01",
            "/papers author:Papernot cat:cs.CR until:2024-12-31",
            "/papers week:2025-01-10 LLM",
        ),
    ),
    ("/papers topic <name>", "help_topic", ("/papers topic fl", "/papers topic 合成データ")),
    ("/papers author <name>", "help_author", ("/papers author Dwork",)),
    ("/papers cat <category>", "help_cat", ("/papers cat cs.CR",)),
    (
        "/papers week [DATE|this|last]",
        "help_week",
        ("/papers week last", "/papers week 2025-01-10"),
    ),
    (
        "/papers id <arXiv id or URL>",
        "help_id",
        ("/papers id 2408.00707", "/papers id https://arxiv.org/abs/2408.00707"),
    ),
    ("/papers topics", "help_topics", ()),
    ("/papers hot [week|month]", "help_hot", ("/papers hot month",)),
    ("/papers trends [topic]", "help_trends", ("/papers trends", "/papers trends 合成データ")),
    ("/papers hot votes [week|month]", "help_votes", ("/papers hot votes",)),
    (
        "/papers ask <question>",
        "help_ask",
        ("/papers ask how can we detect images made by diffusion models?", "/papers ask 連合学習で通信量を減らす方法は？"),
    ),
    (
        "/papers follow <query>",
        "help_follow",
        ("/papers follow author:Dwork", "/papers follow differential privacy topic:fl"),
    ),
    (
        "/papers following · unfollow <N|query> · follow off|on",
        "help_following",
        ("/papers unfollow 2", "/papers follow off"),
    ),
    ("/papers saved [bibtex]", "help_saved", ("/papers saved bibtex",)),
    ("/papers forget me", "help_forget", ()),
    ("/papers help", "help_help", ()),
)


def _code(text: str) -> str:
    return f"`{escape(text)}`"


def help_message(*, lang: str = "en") -> Message:
    """Usage of every `/papers` form with examples (shown only to the asker)."""
    blocks: list[Block] = [
        header(plain(t(lang, "help_title"), HEADER_TEXT), bid="help:header"),
        section(t(lang, "help_intro"), bid="help:intro"),
    ]
    for i, (usage, key, examples) in enumerate(USAGE):
        text = f"{_code(usage)}\n{t(lang, key)}"
        if examples:
            text += f"\n{t(lang, 'help_examples')}: " + "  ".join(_code(e) for e in examples)
        blocks.append(section(text, bid=f"help:usage:{i}"))
    blocks.append(context([t(lang, "help_footer")], bid="help:footer"))
    return message(t(lang, "help_fallback"), blocks)


#: `/papers ask` examples, copied as they are.
ASK_EXAMPLES: tuple[str, ...] = (
    "/papers ask how can we detect images made by diffusion models?",
    "/papers ask which papers audit differential privacy in practice?",
    "/papers 質問 連合学習で通信量を減らす方法は？",
)


def ask_help(*, lang: str = "en") -> Message:
    """`/papers ask` without a question: how to ask, here and by mention, DM or in a paper's thread."""
    examples = f"{t(lang, 'help_examples')}: " + "  ".join(_code(e) for e in ASK_EXAMPLES)
    blocks: list[Block] = [
        header(plain(t(lang, "ask_help_title"), HEADER_TEXT), bid="askhelp:header"),
        section(f"{_code('/papers ask <question>')}\n{t(lang, 'ask_help_intro')}\n{examples}", bid="askhelp:usage"),
        section(t(lang, "ask_help_elsewhere"), bid="askhelp:elsewhere"),
    ]
    return message(t(lang, "ask_help_fallback"), blocks)
