"""The semantic space (cross-language LSI learned from the archive) and the rerank it drives.

A made-up archive of two subjects, each with its own English and Japanese
vocabulary (invented words, so nothing but co-occurrence can tie them), shows
what the space learns: an English word lands near the Japanese words of the
papers it occurs in, and of two papers that match a question equally well by
their words, the one on the question's subject ranks first.
"""

from __future__ import annotations

import datetime as dt
import random
from pathlib import Path

import numpy as np
import pytest

from bot.model import Paper
from bot.search import SearchEngine, semantic
from bot.search.engine import Options
from tests.search.test_search_engine import TOPICS, ids, paper

SYLLABLES = [c + v for c in ("", "k", "s", "t", "n", "r") for v in "aiueo"]
KATAKANA = "カキクケコサシスセソタチツテトナニヌネノマミムメモ"


def words(rng: random.Random, n: int) -> list[str]:
    return sorted({"".join(rng.choice(SYLLABLES) for _ in range(3)) + "x" for _ in range(n)})


def ja_words(rng: random.Random, n: int) -> list[str]:
    return sorted({"".join(rng.choice(KATAKANA) for _ in range(4)) for _ in range(n)})


def two_subjects(per_subject: int = 500) -> tuple[list[Paper], dict[str, list[str]]]:
    """Papers on `lattice` (Japanese 格子暗号) and on `auction` (オークション), with
    `shadow` in many lattice papers' summaries and in few auction papers'."""
    rng = random.Random(7)
    vocab = {"a_en": words(rng, 80), "b_en": words(rng, 80), "a_ja": ja_words(rng, 80), "b_ja": ja_words(rng, 80)}
    papers = []
    for i in range(2 * per_subject):
        side = "a" if i % 2 == 0 else "b"
        head, ja_head = ("Lattice", "格子暗号") if side == "a" else ("Auction", "オークション")
        en = rng.sample(vocab[f"{side}_en"], 6)
        ja = rng.sample(vocab[f"{side}_ja"], 6)
        summary = [f"{ja_head}の{ja[0]}と{ja[1]}", f"{ja[2]}による{ja[3]}"]
        if (side == "a" and i % 8 < 6) or (side == "b" and i % 100 == 1):
            summary.append(f"shadow {en[4]} {en[5]}")
        papers.append(paper(f"2401.{i:05d}", f"{head} {' '.join(en[:4])}", title_ja=f"{ja_head}の{ja[4]}{ja[5]}",
                            summary=tuple(summary), week=dt.date(2024, 1, 1)))
    return papers, vocab


def terms_of(engine_papers: list[Paper]) -> list[dict[str, str]]:
    """The papers' term streams, as the index makes them (what the space learns from and folds)."""
    from bot.search.disk_index import paper_streams
    from bot.search.glossary import glossary
    from bot.search.tagging import Tagger
    from bot.search.translate import EMPTY

    tagger = Tagger(glossary(), EMPTY)
    return [paper_streams(p, tagger) for p in engine_papers]


def cosine(space: semantic.Space, query: np.ndarray, streams: dict[str, str]) -> float:
    vec = space.fold([streams])[0].astype(np.float32)
    return float(vec @ query / (np.linalg.norm(vec) or 1.0))


def test_no_space_is_learned_from_a_handful_of_papers() -> None:
    papers, _ = two_subjects(per_subject=60)
    assert semantic.learn(terms_of(papers)) is None


def test_an_english_word_lands_near_the_japanese_of_its_papers() -> None:
    papers, vocab = two_subjects()
    space = semantic.learn(terms_of(papers))
    assert space is not None and space.dims == semantic.DIMS
    query = space.query([("lattic", 1.0)])
    assert query is not None
    # Japanese only, no English word at all: placed by what the space learned.
    lattice_ja, auction_ja = terms_of([
        paper("2402.00001", "", title_ja=f"格子暗号の{vocab['a_ja'][0]}", summary=(f"{vocab['a_ja'][1]}による{vocab['a_ja'][2]}",)),
        paper("2402.00002", "", title_ja=f"オークションの{vocab['b_ja'][0]}", summary=(f"{vocab['b_ja'][1]}による{vocab['b_ja'][2]}",)),
    ])
    assert cosine(space, query, lattice_ja) > cosine(space, query, auction_ja) + 0.2


def test_a_question_with_no_known_term_has_no_place() -> None:
    papers, _ = two_subjects()
    space = semantic.learn(terms_of(papers))
    assert space is not None
    assert space.query([("neverseenword", 1.0)]) is None
    assert not space.fold([{"title": "neverseenword neverseenword neverseenword"}]).any()


def test_the_space_survives_a_save_and_a_load(tmp_path: Path) -> None:
    papers, _ = two_subjects()
    space = semantic.learn(terms_of(papers))
    assert space is not None
    space.save(tmp_path / semantic.FILE)
    again = semantic.Space.load(tmp_path / semantic.FILE)
    assert again is not None and again.terms == space.terms
    streams = terms_of(papers[:1])
    assert np.abs(again.fold(streams).astype(int) - space.fold(streams).astype(int)).max() <= 1
    (tmp_path / "broken.npz").write_bytes(b"not a numpy file")
    assert semantic.Space.load(tmp_path / "broken.npz") is None
    assert semantic.Space.load(tmp_path / "missing.npz") is None


def test_packing_keeps_every_component() -> None:
    vecs = np.stack([np.arange(-128, 128, dtype=np.int8), np.arange(127, -129, -1).astype(np.int8)])
    rows = semantic.pack(vecs)
    assert len(rows) == 2 and all(len(row) == len(semantic.FIELDS) for row in rows)
    columns = [list(column) for column in zip(*rows, strict=True)]
    assert (semantic.unpack(columns) == vecs.astype(np.float32)).all()
    assert not semantic.unpack([[None] for _ in semantic.FIELDS]).any()  # a paper indexed without a space


def tied_pair() -> tuple[Paper, Paper, list[Paper]]:
    """Two papers holding `shadow` once, in titles of the same length, so their word scores tie
    (their Japanese summaries hold no word of the question); the auction one is newer, so it
    wins the tie by recency without the rerank."""
    papers, vocab = two_subjects()
    a, b = vocab["a_ja"], vocab["b_ja"]
    on_subject = paper("2403.00001", f"Shadow {' '.join(vocab['a_en'][:3])}", week=dt.date(2024, 2, 5),
                       summary=(f"格子暗号の{a[0]}と{a[1]}",))
    off_subject = paper("2403.00002", f"Shadow {' '.join(vocab['b_en'][:3])}", week=dt.date(2024, 2, 12),
                        summary=(f"オークションの{b[0]}と{b[1]}",))
    return on_subject, off_subject, papers


@pytest.mark.parametrize("use_semantic", [True, False])
def test_of_two_equal_word_matches_the_one_on_the_subject_ranks_first(use_semantic: bool) -> None:
    on_subject, off_subject, papers = tied_pair()
    engine = SearchEngine.build([*papers, on_subject, off_subject], TOPICS, options=Options(semantic=use_semantic))
    found = [i for i in ids(engine, "shadow", limit=100) if i.startswith("2403.")]
    expected = [on_subject.arxiv_id, off_subject.arxiv_id]
    assert found == (expected if use_semantic else expected[::-1])


def test_a_reopened_index_keeps_its_space_and_places_papers_added_later(tmp_path: Path) -> None:
    on_subject, off_subject, papers = tied_pair()
    SearchEngine.build(papers, TOPICS, path=tmp_path / "index")
    engine = SearchEngine.open(tmp_path / "index", TOPICS)
    engine.update([on_subject, off_subject])
    found = [i for i in ids(engine, "shadow", limit=100) if i.startswith("2403.")]
    assert found == [on_subject.arxiv_id, off_subject.arxiv_id]


def test_an_index_without_its_space_still_answers(tmp_path: Path) -> None:
    on_subject, off_subject, papers = tied_pair()
    SearchEngine.build([*papers, on_subject, off_subject], TOPICS, path=tmp_path / "index")
    (tmp_path / "index" / semantic.FILE).write_bytes(b"damaged")
    engine = SearchEngine.open(tmp_path / "index", TOPICS)
    found = [i for i in ids(engine, "shadow", limit=100) if i.startswith("2403.")]
    assert found == [off_subject.arxiv_id, on_subject.arxiv_id]  # word scores alone: the newer first


def test_pages_of_a_reranked_answer_neither_overlap_nor_skip() -> None:
    papers, _ = two_subjects()
    engine = SearchEngine.build(papers, TOPICS)
    whole = ids(engine, "shadow lattice", limit=80)
    paged = [i for offset in range(0, 80, 10) for i in ids(engine, "shadow lattice", limit=10, offset=offset)]
    assert len(whole) == 80
    assert paged == whole


@pytest.mark.parametrize("use_semantic", [True, False])
def test_related_papers_of_equal_shared_words_put_the_one_on_the_subject_first(use_semantic: bool) -> None:
    # The seed and the pair share only `shadow`, so their word scores tie (the first
    # indexed first), but the seed's other words always occur with the on-subject paper's.
    rng = random.Random(5)
    a1, a2, b1, b2 = (words(rng, 4) for _ in range(4))
    noise = words(rng, 400)  # enough words for a space (it has more dimensions than four subjects)
    fillers = [paper(f"2401.{i:05d}", f"Filler {x[i % 4]} {y[i % 4]} {' '.join(rng.sample(noise, 3))}")
               for i, (x, y) in enumerate([(a1, a2)] * 150 + [(b1, b2)] * 150)]
    seed = paper("2403.00001", f"Shadow {a1[0]} {a1[1]}")
    off_subject = paper("2403.00002", f"Shadow {b2[0]} {b2[1]}")
    on_subject = paper("2403.00003", f"Shadow {a2[0]} {a2[1]}")
    engine = SearchEngine.build([*fillers, seed, off_subject, on_subject], TOPICS,
                                options=Options(semantic=use_semantic))
    found = [h.paper.arxiv_id for h in engine.related(seed.arxiv_id, limit=400).hits]
    pair = [i for i in found if i in (on_subject.arxiv_id, off_subject.arxiv_id)]
    expected = [on_subject.arxiv_id, off_subject.arxiv_id]
    assert pair == (expected if use_semantic else expected[::-1])
