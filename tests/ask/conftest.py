"""Tests of bot.ask's model path: the guard over a model's text (pure).

The fixture here is this folder's own: three `sources` to cite.
"""

from __future__ import annotations

import pytest

from bot.ask.model import Source


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
