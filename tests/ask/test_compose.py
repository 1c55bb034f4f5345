"""The built-in answer (bot.ask.compose), pure: sources chosen, each cited with its best
sentence, points saying the same merged, an honest lead in the question's language."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.ask.compose import Candidate, best_sentences, compose, compose_about, coverage, lead
from bot.ask.model import Source

_CITE = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class Words:
    """Concepts as plain words (each concept held when any of its words is in the text)."""

    words: tuple[tuple[str, ...], ...]
    idfs: tuple[float, ...]

    def held(self, text: str) -> frozenset[int]:
        low = text.casefold()
        return frozenset(i for i, ws in enumerate(self.words) if any(w in low for w in ws))


CONCEPTS = Words((("unlearning", "忘却"), ("federated", "連合学習")), (3.0, 1.0))


def source(arxiv_id: str, title: str, *summary: str, thread: str | None = None) -> Source:
    link = thread or f"https://arxiv.org/abs/{arxiv_id}"
    return Source(0, arxiv_id, title, f"{title}（日本語）", tuple(summary), link=link, thread=thread)


def candidate(src: Source, score: float) -> Candidate:
    return Candidate(src, score, coverage([src.title, *src.summary], CONCEPTS))


PAPERS = [
    candidate(source("2401.00001", "Federated Unlearning at Scale", "連合学習の背景。", "クライアントの忘却を証明付きで行う。",
                     thread="https://t.slack.com/archives/C1/p1"), 100.0),
    candidate(source("2401.00002", "Certified Unlearning", "モデルからデータを忘却する手法。"), 90.0),
    candidate(source("2401.00003", "Client Selection", "クライアント選択の手法。"), 40.0),  # far below the best
]


def cited(text: str) -> set[int]:
    return {int(n) for n in _CITE.findall(text)}


def test_every_citation_names_a_source_and_every_source_is_cited() -> None:
    answer = compose("how to unlearn a client in federated learning", "en", PAPERS, CONCEPTS, matching=2)
    assert [s.n for s in answer.sources] == [1, 2]
    assert [s.arxiv_id for s in answer.sources] == ["2401.00001", "2401.00002"]  # the weak one is left out
    assert cited(answer.text) == {1, 2}
    assert answer.text.startswith("2 papers in the archive address this")


def test_each_point_is_the_sentence_that_answers_the_question() -> None:
    assert best_sentences(PAPERS[0].source, CONCEPTS) == ["クライアントの忘却を証明付きで行う。"]
    answer = compose("unlearning?", "en", PAPERS, CONCEPTS, matching=2)
    assert "• Federated Unlearning at Scale — クライアントの忘却を証明付きで行う。 [1]" in answer.text


def test_a_japanese_question_gets_a_japanese_lead_and_titles() -> None:
    answer = compose("連合学習で忘却する方法は？", "ja", PAPERS, CONCEPTS, matching=2)
    assert answer.lang == "ja" and answer.text.startswith("アーカイブでこの問いに答える論文は2件です")
    assert "Federated Unlearning at Scale（日本語）" in answer.text


def test_points_that_say_the_same_are_one_point_citing_both() -> None:
    same = [
        candidate(source("2401.00011", "A", "連合学習でクライアントの忘却を行う。"), 100.0),
        candidate(source("2401.00012", "B", "連合学習でクライアントの忘却を行う！"), 95.0),
    ]
    answer = compose("unlearning", "en", same, CONCEPTS, matching=2)
    points = [line for line in answer.text.splitlines() if line.startswith("•")]
    assert len(points) == 1 and points[0].endswith("[1][2]")
    assert cited(answer.text) == {1, 2}


def test_a_thin_archive_is_said_plainly() -> None:
    answer = compose("unlearning", "en", PAPERS[:1], CONCEPTS, matching=0)
    assert answer.text.startswith("1 paper touches this; none is squarely on it.")
    assert lead("ja", sources=2, matching=0, squarely=False).startswith("2件の論文がこの問いに触れていますが")


def test_nothing_found_is_an_answer_without_sources_never_an_empty_text() -> None:
    answer = compose("quantum gravity", "en", [], CONCEPTS)
    assert answer.empty and "no paper" in answer.text


def test_a_question_in_a_papers_thread_is_about_that_paper_first() -> None:
    paper, *related = PAPERS
    answer = compose_about("does it need a trusted server?", "en", paper, related, CONCEPTS)
    assert answer.sources[0].arxiv_id == "2401.00001" and answer.sources[0].n == 1
    assert answer.text.startswith("On this paper (Federated Unlearning at Scale) [1]:")
    assert cited(answer.text) == {s.n for s in answer.sources}
    assert "2401.00003" not in {s.arxiv_id for s in answer.sources}  # holds too little of the question
