"""The optional dense side of question retrieval (`bot.search.dense`), with a fake embedder.

The real model (the `dense` extra) is measured in bench/bench_answers.py --dense; here a
small deterministic embedder stands in: each text's vector is the normalized count of the
"meanings" it names, so a question and a paper meet without sharing a word.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.model import Paper
from bot.search.dense import Dense, DenseVectors, fuse, passage_text, refresh, text_key

#: word -> the dimension it means (several words may mean one thing, in either language).
MEANINGS = {"poisoning": 0, "manipulated": 0, "改ざん": 0, "straggler": 1, "slow": 1, "zero-knowledge": 2,
            "revealing": 2, "diffusion": 3, "gaussian": 4}
DIMS = 6


class FakeEmbedder:
    """Vectors of the meanings a text names (the last dimension when it names none)."""

    def __init__(self) -> None:
        self.embedded: list[str] = []
        self.queries: list[str] = []

    def _vector(self, text: str) -> np.ndarray:
        v = np.zeros(DIMS, dtype=np.float32)
        for word, dim in MEANINGS.items():
            v[dim] += text.lower().count(word)
        if not v.any():
            v[DIMS - 1] = 1.0
        return v / np.linalg.norm(v)

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        self.embedded += list(texts)
        return np.vstack([self._vector(t) for t in texts])

    def query(self, texts: Sequence[str]) -> np.ndarray:
        self.queries += list(texts)
        return np.vstack([self._vector(t) for t in texts])


def paper(arxiv_id: str, title: str, summary: tuple[str, ...] = ()) -> Paper:
    return Paper(arxiv_id=arxiv_id, url=f"https://arxiv.org/abs/{arxiv_id}", title=title, summary=summary)


PAPERS = [
    paper("2401.00003", "Defending against poisoning in federated learning"),
    paper("2401.00002", "Stragglers and slow clients", ("非同期な集約",)),
    paper("2401.00001", "Zero-knowledge proofs of training"),
]


def test_fusion_ranks_a_paper_both_sides_found_above_those_only_one_did() -> None:
    fused = fuse(["a", "b", "c"], ["c", "d", "a"])
    assert [i for i, _w in fused] == ["a", "c", "b", "d"]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 63)
    assert [i for i, _w in fuse(["x", "y"], [])] == ["x", "y"]  # ties keep the first list's order
    assert fuse() == []


def test_refresh_embeds_only_new_or_changed_papers_and_keeps_the_newest_limit() -> None:
    model = FakeEmbedder()
    first = refresh(None, PAPERS, model, limit=2)
    assert first.ids == ("2401.00003", "2401.00002")  # the newest two, as given
    assert len(model.embedded) == 2
    changed = dataclasses.replace(PAPERS[1], title="Stragglers, revisited")
    model.embedded.clear()
    second = refresh(first, [PAPERS[0], changed, PAPERS[2]], model, limit=3)
    assert set(second.ids) == {p.arxiv_id for p in PAPERS}
    assert model.embedded == [passage_text(changed), passage_text(PAPERS[2])]  # the unchanged one kept
    assert second.keys[second.ids.index("2401.00002")] == text_key(changed)
    model.embedded.clear()
    third = refresh(second, [PAPERS[0]], model, limit=3)  # papers gone from the archive are dropped
    assert third.ids == ("2401.00003",) and model.embedded == []
    np.testing.assert_array_equal(third.matrix[0], second.matrix[second.ids.index("2401.00003")])


def test_vectors_survive_a_save_and_a_broken_file_is_made_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "dense.npz"
    made = refresh(None, PAPERS, FakeEmbedder(), limit=10)
    made.save(path)
    loaded = DenseVectors.load(path)
    assert loaded is not None and loaded.ids == made.ids and loaded.keys == made.keys
    np.testing.assert_allclose(loaded.matrix, made.matrix, atol=1e-3)
    assert DenseVectors.load(tmp_path / "none.npz") is None
    path.write_bytes(b"not a numpy file")
    with caplog.at_level(logging.WARNING):
        assert DenseVectors.load(path) is None
    assert "not readable" in caplog.text
    assert [p.name for p in tmp_path.iterdir()] == ["dense.npz"]  # no temporary file left behind


def test_nearest_finds_papers_by_meaning_and_follows_a_file_another_process_saved(tmp_path: Path) -> None:
    path = tmp_path / "dense.npz"
    reader = Dense(path, FakeEmbedder())
    assert reader.nearest("manipulated model updates") == []  # nothing embedded yet: no dense answer
    writer = Dense(path, FakeEmbedder())
    writer.refresh(PAPERS, limit=10)
    assert reader.nearest("how can the server spot manipulated model updates", 2)[0] == "2401.00003"
    stamp = path.stat().st_mtime_ns
    writer.refresh([*PAPERS, paper("2401.00009", "Gaussian noise")], limit=10)
    os.utime(path, ns=(stamp + 10**9, stamp + 10**9))
    assert reader.nearest("gaussian", 1) == ["2401.00009"]


def test_a_question_asked_again_is_embedded_once_among_the_newest_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sentence's next page in `/papers` and a Slack retry ask the same text: one model call."""
    monkeypatch.setattr("bot.search.dense.ASKED", 2)
    model = FakeEmbedder()
    side = Dense(tmp_path / "dense.npz", model)
    side.refresh(PAPERS, limit=10)
    first = side.nearest("manipulated model updates", 2)
    assert side.nearest("manipulated model updates", 2) == first
    assert model.queries == ["manipulated model updates"]
    side.nearest("gaussian", 1)
    side.nearest("privacy", 1)  # pushes the oldest question out
    side.nearest("manipulated model updates", 2)
    assert model.queries == ["manipulated model updates", "gaussian", "privacy", "manipulated model updates"]


def test_a_refresh_says_in_the_log_how_many_papers_it_embeds_and_saves_only_a_change(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "dense.npz"
    side = Dense(path, FakeEmbedder())
    many = [paper(f"2402.{i:05d}", f"Paper {i}") for i in range(100)]
    with caplog.at_level(logging.INFO, logger="bot.search.dense"):
        side.refresh(many, limit=1000)
    lines = [r.getMessage() for r in caplog.records]
    assert lines[0] == "embedding 100 new or changed papers for questions by meaning (DIGEST_DENSE)"
    assert "embedded 16 of 100 papers" in lines and lines[-1].startswith("dense vectors: 100 papers")
    stamp = path.stat().st_mtime_ns
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.search.dense"):
        side.refresh(many, limit=1000)  # nothing new: nothing embedded, said or written
    assert caplog.records == [] and path.stat().st_mtime_ns == stamp


def test_a_question_never_calls_the_model_while_a_refresh_batch_is_in_it(tmp_path: Path) -> None:
    """The model's C state is not safe to share: a question's query waits for the batch."""
    import threading

    class Watched(FakeEmbedder):
        def __init__(self) -> None:
            super().__init__()
            self.inside = False
            self.query_started = threading.Event()
            self.overlapped = False
            self.hold = False

        def passage(self, texts: Sequence[str]) -> np.ndarray:
            self.inside = True
            if self.hold:  # without the lock, the question's query starts meanwhile
                self.overlapped = self.query_started.wait(timeout=0.5)
            self.inside = False
            return super().passage(texts)

        def query(self, texts: Sequence[str]) -> np.ndarray:
            self.query_started.set()
            self.overlapped = self.overlapped or self.inside
            return super().query(texts)

    model = Watched()
    side = Dense(tmp_path / "dense.npz", model)
    side.refresh(PAPERS[:1], limit=10)
    model.hold = True
    refreshing = threading.Thread(target=side.refresh, args=(PAPERS,), kwargs={"limit": 10})
    refreshing.start()
    while not model.inside:  # the refresh is in the model
        threading.Event().wait(0.001)
    asking = threading.Thread(target=side.nearest, args=("manipulated updates",))
    asking.start()
    refreshing.join()
    asking.join()
    assert model.query_started.is_set() and not model.overlapped
