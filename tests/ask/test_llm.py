"""The model writer over real HTTP: what it sends, what it keeps of a reply, and that every
failure (an error status, a body that is not JSON, a refusal, a hang) is None, never an exception.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

from bot.ask.llm import MAX_SOURCES, ModelSettings, ModelWriter, source_block
from bot.ask.model import Source
from tests.ask.conftest import API_KEY, HANG_AFTER, MODEL, REPLY_WITHIN
from tests.support.fake_llm import FakeLlm

GOOD = (
    "Diffusion models and transformers both reduce noise in medical images [3][1].\n\n"
    "- Diffusion reconstructs low-dose PET with 2 dB higher PSNR [3]\n"
    "- Nothing here on MRI [1]"
)


def test_the_request_carries_the_question_the_language_and_the_numbered_sources(
    fake_llm: FakeLlm, writer: ModelWriter, sources: tuple[Source, ...]
) -> None:
    fake_llm.reply(GOOD)
    writer.write("拡散モデルでPETはどうなる？", "ja", sources)

    (request,) = fake_llm.requests
    assert request.path == "/v1/chat/completions"
    assert request.authorization == f"Bearer {API_KEY}"
    assert request.body["model"] == MODEL
    assert request.body["temperature"] == 0.2
    assert request.body["max_tokens"] == 700
    system, user = request.messages
    assert system["role"] == "system" and user["role"] == "user"
    assert "Japanese" in system["content"] and "ONLY" in system["content"]
    assert "拡散モデルでPETはどうなる？" in user["content"]
    assert "[1] Diffusion models for PET reconstruction / PET再構成のための拡散モデル (arXiv 2401.00001)" in (
        user["content"]
    )
    assert "[2] Transformers for CT denoising (arXiv 2401.00002)" in user["content"]
    assert "[3] A survey of medical image segmentation (arXiv 2401.00003)" in user["content"]
    assert "- 既存手法よりPSNRが2dB高い。" in user["content"]
    assert "Comment: MICCAI 2024" in user["content"] and "Remark: コードは公開されている。" in user["content"]


def test_an_english_question_asks_for_english(
    fake_llm: FakeLlm, writer: ModelWriter, sources: tuple[Source, ...]
) -> None:
    fake_llm.reply(GOOD)
    writer.write("What helps PET?", "en", sources)
    system = fake_llm.requests[0].messages[0]["content"]
    assert "English" in system and "Japanese" not in system


def test_a_key_less_server_gets_a_placeholder_key(fake_llm: FakeLlm, sources: tuple[Source, ...]) -> None:
    fake_llm.reply(GOOD)
    writer = ModelWriter(ModelSettings(url=fake_llm.url, model=MODEL, timeout=REPLY_WITHIN))
    try:
        assert writer.write("q", "en", sources) is not None
    finally:
        writer.close()
    assert fake_llm.requests[0].authorization == "Bearer not-needed"


def test_a_good_reply_keeps_only_the_cited_sources_renumbered_in_citation_order(
    fake_llm: FakeLlm, writer: ModelWriter, sources: tuple[Source, ...]
) -> None:
    fake_llm.reply(GOOD)
    answer = writer.write("What reduces noise?", "en", sources)

    assert answer is not None
    assert answer.by == f"model:{MODEL}"
    assert answer.question == "What reduces noise?" and answer.lang == "en"
    assert [(s.n, s.arxiv_id) for s in answer.sources] == [(1, "2401.00003"), (2, "2401.00001")]
    assert answer.text == (
        "Diffusion models and transformers both reduce noise in medical images [1][2].\n\n"
        "• Diffusion reconstructs low-dose PET with 2 dB higher PSNR [1]\n"
        "• Nothing here on MRI [2]"
    )


def test_made_up_citations_are_removed(
    fake_llm: FakeLlm, writer: ModelWriter, sources: tuple[Source, ...]
) -> None:
    fake_llm.reply("PET improves with diffusion [1][9].\n- Also a paper that does not exist [9]\n- CT [2, 7]")
    answer = writer.write("q", "en", sources)
    assert answer is not None
    assert "[9]" not in answer.text and "7" not in answer.text
    assert answer.text == "PET improves with diffusion [1].\n• Also a paper that does not exist\n• CT [2]"
    assert [s.arxiv_id for s in answer.sources] == ["2401.00001", "2401.00002"]


def test_mentions_and_unknown_links_are_removed(
    fake_llm: FakeLlm, writer: ModelWriter, sources: tuple[Source, ...]
) -> None:
    fake_llm.reply(
        "Ask <@U123> or <!channel>, @here: see [this](https://evil.example/x) and https://evil.example/y "
        "or <https://arxiv.org/abs/2401.00001|the paper> [1]."
    )
    answer = writer.write("q", "en", sources)
    assert answer is not None
    for hostile in ("<@U123>", "<!channel>", "@here", "evil.example"):
        assert hostile not in answer.text
    assert "＠here" in answer.text and "see this and" in answer.text
    # A source's own link is kept by the guard, and the answer's plain text shows its label:
    # the sources list links every paper, and the renderer escapes the text again.
    assert "or the paper [1]." in answer.text and "<" not in answer.text


def test_an_answer_citing_nothing_is_none(
    fake_llm: FakeLlm, writer: ModelWriter, sources: tuple[Source, ...], caplog: pytest.LogCaptureFixture
) -> None:
    fake_llm.reply("Diffusion helps PET, trust me.")
    with caplog.at_level(logging.WARNING, logger="bot.ask.llm"):
        assert writer.write("q", "en", sources) is None
    assert "cites none of the sources" in caplog.text


@pytest.mark.parametrize(
    ("program", "why"),
    [
        (lambda fake: fake.fail(500), "HTTP 500"),
        (lambda fake: fake.fail(429), "HTTP 429"),
        (lambda fake: fake.garbage(), "JSONDecodeError"),
        (lambda fake: fake.garbage("text/html"), "malformed"),
        (lambda fake: fake.reply("Some text [1].", finish_reason="content_filter"), "content filter"),
        (lambda fake: fake.reply(""), "empty"),
    ],
    ids=["http-500", "http-429", "garbage-json", "garbage-html", "content-filter", "empty"],
)
def test_a_failed_call_is_none_and_one_warning(
    fake_llm: FakeLlm,
    writer: ModelWriter,
    sources: tuple[Source, ...],
    caplog: pytest.LogCaptureFixture,
    program: Any,
    why: str,
) -> None:
    program(fake_llm)
    with caplog.at_level(logging.WARNING, logger="bot.ask.llm"):
        assert writer.write("q", "en", sources) is None
    warnings = [r for r in caplog.records if r.name == "bot.ask.llm"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert why in warnings[0].getMessage()
    assert len(fake_llm.requests) == 1  # no retry


def test_a_hung_server_is_none_within_the_timeout(fake_llm: FakeLlm, sources: tuple[Source, ...]) -> None:
    fake_llm.hang()
    writer = ModelWriter(ModelSettings(url=fake_llm.url, model=MODEL, timeout=HANG_AFTER))
    try:
        assert writer.write("q", "en", sources) is None
    finally:
        writer.close()


def test_a_refused_connection_is_none(sources: tuple[Source, ...]) -> None:
    with FakeLlm() as gone:
        url = gone.url
    writer = ModelWriter(ModelSettings(url=url, model=MODEL, timeout=0.5))
    try:
        assert writer.write("q", "en", sources) is None
    finally:
        writer.close()


class _Blocked:
    """A client whose call never returns until released: the trickling server, without a server."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.chat = self
        self.completions = self

    def create(self, **_: Any) -> Any:
        self.release.wait(30)
        raise RuntimeError("released")

    def close(self) -> None:
        self.release.set()


def test_the_wall_clock_bound_holds_even_when_the_client_never_returns(
    sources: tuple[Source, ...],
) -> None:
    client = _Blocked()
    writer = ModelWriter(ModelSettings(url="http://unused/v1", model=MODEL, timeout=0.2), client=client)
    try:
        assert writer.write("q", "en", sources) is None
        assert not client.release.is_set()  # returned while the call was still under way
    finally:
        writer.close()
    assert client.release.is_set()


def test_a_closed_writer_is_none(fake_llm: FakeLlm, writer: ModelWriter, sources: tuple[Source, ...]) -> None:
    writer.close()
    assert writer.write("q", "en", sources) is None
    assert fake_llm.requests == []


def test_no_sources_no_call(fake_llm: FakeLlm, writer: ModelWriter) -> None:
    assert writer.write("q", "en", ()) is None
    assert fake_llm.requests == []


def test_the_model_sees_at_most_eight_sources_each_bounded(
    fake_llm: FakeLlm, writer: ModelWriter
) -> None:
    many = tuple(
        Source(n=i, arxiv_id=f"2401.{i:05d}", title=f"Paper {i}", summary=tuple("要点" * 400 for _ in range(9)))
        for i in range(1, 13)
    )
    fake_llm.reply("Paper 9 is out of sight [9]; paper 8 is not [8].")
    answer = writer.write("q", "en", many)
    user = fake_llm.requests[0].messages[1]["content"]
    assert f"[{MAX_SOURCES}] Paper {MAX_SOURCES}" in user and "[9] Paper 9" not in user
    block = source_block(many[0])
    assert block.count("\n- ") <= 6 and len(block) < 1200 + 200
    assert answer is not None and [s.arxiv_id for s in answer.sources] == ["2401.00008"]
    assert answer.text == "Paper 9 is out of sight; paper 8 is not [1]."
