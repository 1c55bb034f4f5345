"""Answers on the real archive: tests/ask_questions.yaml (65 questions written before any
tuning, 20 held out, judged 0/1/2 from pools of several systems; the method is at its top).

What must hold for every question: an answer that is never empty (the archive answers each
with its closest papers at least), every `[n]` naming a source and every source cited, and
sources in the question's language's lead. The measured levels are floors, with a margin for
judging noise (bench/bench_answers.py prints them beside the search's and the baselines').

The issue that asked for answers set higher targets (source precision >= 0.90, a paper
graded 2 among the sources for >= 90% of the questions having one, natural-language nDCG@10
>= 0.80 with the held-out part within 0.03): they are NOT reached. Measured after three rounds
of judging (2,496 judgments): source precision 0.483, a 2 among the sources for 0.653 of the
questions, nDCG@10 0.478 (dev 0.490, held out 0.450). The floors below guard what was reached.

Round 3 pooled a dense model's papers and found relevant papers no earlier system returned:
the same answers and search that measured 0.696 and 0.579 (dev 0.609, held out 0.516) after
round 2 measure the figures above, and the floors moved with the judgments, not the code.
With the optional dense side (DIGEST_DENSE, not run here: it needs the `dense` extra and
minutes of embedding) bench/bench_answers.py --dense measures 0.544, 0.755 and 0.534.

tests/ask_questions_fresh.yaml holds 30 more questions written and judged once, after all
that tuning, to see how it carries over (1,094 judgments; nothing is tuned on them): nDCG@10
0.399, source precision 0.374 (bench/README.md). Here they are held to what must hold for
any question (an answer, valid citations), never to measured levels, which would invite tuning.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import Engine

from bot.ask.asker import Asker
from bot.ask.model import Answer
from bot.ask.question import search_text
from bot.search import SearchEngine
from bot.search.evaluate import JudgedQuery, evaluate_cited, evaluate_graded, load_judged
from bot.store import Catalog

QUESTIONS = Path(__file__).resolve().parents[1] / "ask_questions.yaml"
FRESH = Path(__file__).resolve().parents[1] / "ask_questions_fresh.yaml"
_CITE = re.compile(r"\[(\d+)\]")

pytestmark = pytest.mark.real_archive


def test_the_question_set_is_big_varied_judged_and_partly_held_out() -> None:
    data = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    questions = data["questions"]
    assert len(questions) >= 60
    assert {q["lang"] for q in questions} == {"en", "ja", "mixed"}
    assert {q["topics"][0] for q in questions} >= {"sd", "fl", "dp", "he", "mpc", "pets", "ssi", "ftl", "tee", "zkp"}
    assert sum(1 for q in questions if q["split"] == "heldout") == 20
    assert all(q.get("need") and len(q["judged"]) >= 10 for q in questions)
    assert all(set(q["judged"].values()) <= {0, 1, 2} for q in questions)


def test_the_fresh_set_is_judged_once_and_apart() -> None:
    questions = yaml.safe_load(FRESH.read_text(encoding="utf-8"))["questions"]
    assert len(questions) == 30 and {q["split"] for q in questions} == {"fresh"}
    assert {q["lang"] for q in questions} == {"en", "ja", "mixed"}
    assert sorted(q["topics"][0] for q in questions) == sorted(
        ["sd", "fl", "dp", "he", "mpc", "pets", "ssi", "ftl", "tee", "zkp"] * 3)
    assert all(q.get("need") and len(q["judged"]) >= 20 for q in questions)
    assert all(set(q["judged"].values()) <= {0, 1, 2} for q in questions)
    main = {q["q"].casefold() for q in yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))["questions"]}
    assert not {q["q"].casefold() for q in questions} & main


@pytest.fixture(scope="module")
def answers(real_store: Catalog, real_search: SearchEngine) -> dict[str, tuple[JudgedQuery, Answer]]:
    engine: Engine = real_store.engine
    asker = Asker(lambda: real_search, engine)
    return {q.id: (q, asker.ask(q.query)) for q in load_judged(QUESTIONS)}


def test_every_question_gets_an_answer_whose_citations_are_its_sources(
    answers: dict[str, tuple[JudgedQuery, Answer]],
) -> None:
    for qid, (q, answer) in answers.items():
        assert answer.sources, f"{qid}: no source for {q.query!r}"
        numbers = [s.n for s in answer.sources]
        assert numbers == list(range(1, len(numbers) + 1)), qid
        assert {int(n) for n in _CITE.findall(answer.text)} == set(numbers), f"{qid}: {answer.text}"
        assert answer.lang == ("en" if q.lang == "en" else "ja"), qid


def test_fresh_questions_get_answers_whose_citations_are_their_sources(
    real_store: Catalog, real_search: SearchEngine
) -> None:
    asker = Asker(lambda: real_search, real_store.engine)
    for q in load_judged(FRESH):
        answer = asker.ask(q.query)
        assert answer.sources, f"{q.id}: no source for {q.query!r}"
        assert {int(n) for n in _CITE.findall(answer.text)} == {s.n for s in answer.sources}, q.id


#: Measured (bench/bench_answers.py, round 3 of judging), less a margin of about 0.03.
FLOORS = {"precision": 0.45, "best": 0.62, "ndcg_dev": 0.46, "ndcg_heldout": 0.42}


def test_the_answers_and_the_search_for_questions_reach_their_measured_levels(
    answers: dict[str, tuple[JudgedQuery, Answer]], real_search: SearchEngine
) -> None:
    sources = {q.query: [s.arxiv_id for s in a.sources] for q, a in answers.values()}
    cited = evaluate_cited((q for q, _a in answers.values()), lambda text: sources[text])["all"]
    precision, best = cited.precision, cited.best
    graded = evaluate_graded(
        load_judged(QUESTIONS),
        lambda text: [h.paper.arxiv_id for h in real_search.search(search_text(text), limit=10, question=True).hits],
    )
    print({"precision": round(precision, 3), "best": round(best, 3),
           **{k: g.row() for k, g in graded.items() if k in ("all", "dev", "heldout")}})
    assert not graded["all"].empty
    assert precision >= FLOORS["precision"]
    assert best >= FLOORS["best"]
    assert graded["dev"].ndcg10 >= FLOORS["ndcg_dev"]
    assert graded["heldout"].ndcg10 >= FLOORS["ndcg_heldout"]
