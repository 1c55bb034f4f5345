"""`/papers ask`'s help and an answer shared in channel (bot.render.help, bot.render.answer): valid
Block Kit in both languages, and "shared by" naming only a well-formed Slack user id."""

from __future__ import annotations

import json

import pytest

from bot.ask.model import Answer, Source
from bot.i18n import LANGS
from bot.lookup import parse_command
from bot.render import violations
from bot.render.answer import answer_message
from bot.render.help import ask_help, help_message
from bot.render.text import message_to_text
from tests.conftest import schema_problems

ANSWER = Answer(
    question="what is renyi dp?",
    lang="en",
    text="Rényi DP relaxes DP [1].",
    sources=(Source(n=1, arxiv_id="1702.07476", title="Rényi Differential Privacy", link="https://arxiv.org/abs/1702.07476"),),
)


@pytest.mark.parametrize("lang", LANGS)
def test_ask_help_says_how_and_where_to_ask(lang: str) -> None:
    message = ask_help(lang=lang)
    assert violations(message) == [] and schema_problems(message["blocks"]) == []
    text = message_to_text(message)
    assert "/papers ask <question>" in text and "/papers 質問" in text
    assert "/papers ask <question>" in message_to_text(help_message(lang=lang))


@pytest.mark.parametrize("text", ["ask", "質問", "ASK  how?", "質問 連合学習とは？"])
def test_ask_is_a_command_in_both_languages(text: str) -> None:
    command = parse_command(text)
    assert command.kind == "ask" and command.arg == text.partition(" ")[2].strip()


def test_a_shared_answer_says_who_shared_it_first() -> None:
    message = answer_message(ANSWER, lang="en", shared_by="U0SHARER")
    assert violations(message) == [] and schema_problems(message["blocks"]) == []
    assert message["blocks"][0]["block_id"] == "answer:shared" and "<@U0SHARER>" in json.dumps(message["blocks"])


@pytest.mark.parametrize("user", ["<!channel>", "U0X> <!here", "", None, "u lower"])
def test_a_shared_answer_never_mentions_a_malformed_user(user: str | None) -> None:
    blocks = json.dumps(answer_message(ANSWER, lang="en", shared_by=user)["blocks"])
    assert "answer:shared" not in blocks and "<@" not in blocks and "<!" not in blocks
