"""Tests of bot.ask's model path: the guard over a model's text (pure) and the model writer,
through the real `openai` client over real HTTP against `FakeLlm` (tests/support/fake_llm.py).

The fixtures here are this folder's own: a running `fake_llm`, three `sources` to cite, and a
`writer` pointed at the fake. Its timeout is generous (REPLY_WITHIN): a reply must never miss it on a
loaded machine (a first call under load once took over 0.5 s); a test of a hang makes its own
writer with HANG_AFTER, so the hang ends promptly.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.ask.llm import ModelSettings, ModelWriter
from bot.ask.model import Source
from tests.support.fake_llm import FakeLlm

API_KEY = "sk-test-key"
MODEL = "fake-model"
#: Seconds a writer waits for a reply the fake will give, and for one that never comes.
REPLY_WITHIN = 10.0
HANG_AFTER = 0.5


@pytest.fixture
def fake_llm() -> Iterator[FakeLlm]:
    with FakeLlm() as fake:
        yield fake


@pytest.fixture
def sources() -> tuple[Source, ...]:
    return (
        Source(
            n=1,
            arxiv_id="2401.00001",
            title="Diffusion models for PET reconstruction",
            title_ja="PET再構成のための拡散モデル",
            summary=("拡散モデルで低線量PETを再構成する。", "既存手法よりPSNRが2dB高い。"),
            comment="MICCAI 2024",
            link="https://arxiv.org/abs/2401.00001",
        ),
        Source(
            n=2,
            arxiv_id="2401.00002",
            title="Transformers for CT denoising",
            summary=("CTのノイズ除去にTransformerを使う。",),
            remark="コードは公開されている。",
            link="https://team.slack.com/archives/C0SD/p1700000000000100",
            thread="https://team.slack.com/archives/C0SD/p1700000000000100",
        ),
        Source(
            n=3,
            arxiv_id="2401.00003",
            title="A survey of medical image segmentation",
            summary=("医用画像セグメンテーションの総説。",),
            link="https://arxiv.org/abs/2401.00003",
        ),
    )


@pytest.fixture
def writer(fake_llm: FakeLlm) -> Iterator[ModelWriter]:
    model_writer = ModelWriter(ModelSettings(url=fake_llm.url, model=MODEL, api_key=API_KEY, timeout=REPLY_WITHIN))
    yield model_writer
    model_writer.close()
