"""Ranking behaviour of the search engine on small hand-made archives."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.model import DigestRef, Paper, Topic, TopicRef
from bot.search import SearchEngine, parse_query
from bot.search.normalize import content_segments, fold

TOPICS = [
    Topic("sd", "合成データ", "Synthetic Data"),
    Topic("fl", "連合学習", "Federated Learning"),
    Topic("dp", "差分プライバシー", "Differential Privacy"),
    Topic("all", "全て", "All"),
]


def paper(
    arxiv_id: str,
    title: str,
    *,
    title_ja: str = "",
    authors: tuple[str, ...] = ("Alice Example",),
    summary: tuple[str, ...] = (),
    remark: str = "",
    comment: str = "",
    slug: str = "fl",
    week: dt.date = dt.date(2024, 7, 26),
    categories: tuple[str, ...] = ("cs.LG",),
) -> Paper:
    return Paper(
        arxiv_id=arxiv_id,
        url=f"http://arxiv.org/abs/{arxiv_id}",
        title=title,
        title_ja=title_ja,
        authors=authors,
        summary=summary,
        remark=remark,
        comment=comment,
        topics=(TopicRef(slug, slug),),
        categories=categories,
        posted_at=dt.datetime.combine(week, dt.time(12)) + dt.timedelta(days=1),
        digests=(DigestRef("all", week), DigestRef(slug, week)),
    )


def ids(engine: SearchEngine, query: str, *, limit: int = 10, offset: int = 0) -> list[str]:
    return [h.paper.arxiv_id for h in engine.search(query, limit=limit, offset=offset).hits]


def build(*papers: Paper) -> SearchEngine:
    return SearchEngine.build(papers, TOPICS)


def test_exact_above_fuzzy() -> None:
    engine = build(
        paper("2401.00001", "Leaning towards robust models"),
        paper("2401.00002", "Learning robust models"),
    )
    assert ids(engine, "learning robust")[0] == "2401.00002"
    assert ids(engine, "lerning robust")[0] == "2401.00002"  # the commoner, closer spelling


def test_all_terms_above_some() -> None:
    engine = build(
        paper("2401.00001", "Federated learning", week=dt.date(2024, 8, 2)),
        paper("2401.00002", "Federated learning for medical imaging"),
    )
    assert ids(engine, "federated learning imaging") == ["2401.00002", "2401.00001"]
    # OR semantics: the paper holding two of the three concepts first, the one holding
    # one of them after it (a page is filled), and only the first counted as a match.
    response = engine.search("federated clinical imaging")
    assert [h.paper.arxiv_id for h in response.hits] == ["2401.00002", "2401.00001"]
    assert response.total == 1


def test_phrase_above_scattered_words() -> None:
    engine = build(
        paper("2401.00001", "Privacy of differential equations solvers", week=dt.date(2024, 8, 2)),
        paper("2401.00002", "Differential privacy for graphs"),
    )
    assert ids(engine, '"differential privacy"')[0] == "2401.00002"
    response = engine.search('"differential privacy"')
    assert response.hits[0].score > response.hits[1].score


def test_title_above_summary() -> None:
    engine = build(
        paper("2401.00001", "Something else", summary=("uses synthetic data",), week=dt.date(2024, 8, 2)),
        paper("2401.00002", "Synthetic data generation"),
    )
    assert ids(engine, "synthetic")[0] == "2401.00002"


def test_japanese_without_spaces() -> None:
    engine = build(
        paper("2401.00001", "A", title_ja="差分プライバシーを用いた連合学習"),
        paper("2401.00002", "B", title_ja="合成データの評価"),
        paper("2401.00003", "C", summary=("連合学習のプライバシー保護を提案",)),
    )
    assert set(ids(engine, "連合学習のプライバシー")) == {"2401.00001", "2401.00003"}
    assert ids(engine, "合成データ") == ["2401.00002"]
    assert ids(engine, "差分プライバシー")[0] == "2401.00001"


def test_japanese_segments_drop_particles() -> None:
    assert content_segments("連合学習のプライバシー") == (["連合学習", "プライバシー"], [])
    assert content_segments("なりすまし") == (["なりすまし"], [])
    assert content_segments("暗号を用いた推論") == (["暗号", "推論"], ["用"])  # a one-kanji verb stem goes apart
    assert content_segments("鍵の管理") == (["鍵", "管理"], [])  # a one-kanji noun before a particle stays
    assert content_segments("使った") == ([], ["使"])
    engine = build(paper("2401.00001", "A", title_ja="使い方"), paper("2401.00002", "B"))
    assert [c["concept"] for c in engine.explain("使った")] == ["使"]  # a stem is the concept when it is all there is


def test_katakana_word_inside_a_longer_one_ranks_lower() -> None:
    engine = build(
        paper("2401.00001", "A", title_ja="コンテキスト学習", week=dt.date(2024, 8, 2)),
        paper("2401.00002", "B", title_ja="テキスト学習"),
    )
    assert ids(engine, "テキスト")[0] == "2401.00002"


def test_full_width_and_case() -> None:
    engine = build(paper("2401.00001", "HumanVBench: video understanding"), paper("2401.00002", "Other"))
    assert ids(engine, "ＨｕｍａｎＶＢｅｎｃｈ") == ["2401.00001"]
    assert ids(engine, "humanvbench") == ["2401.00001"]
    assert fold("ｶﾀｶﾅ Müller") == "カタカナ muller"


def test_partial_words() -> None:
    engine = build(paper("2401.00001", "Semantic segmentation of micrographs"), paper("2401.00002", "Other"))
    assert ids(engine, "segment microgr") == ["2401.00001"]


def test_newer_only_breaks_ties() -> None:
    older = paper("2401.00001", "Federated learning", week=dt.date(2024, 7, 5))
    newer = paper("2401.00002", "Federated learning", week=dt.date(2024, 8, 2))
    best_but_old = paper("2401.00003", "Federated learning with synthetic data", week=dt.date(2024, 6, 7))
    engine = build(older, newer, best_but_old)
    assert ids(engine, "federated learning") == ["2401.00002", "2401.00001", "2401.00003"]
    assert ids(engine, "federated synthetic")[0] == "2401.00003"


def test_filters() -> None:
    engine = build(
        paper("2401.00001", "Synthetic tables", slug="sd", categories=("cs.LG",), week=dt.date(2024, 7, 26)),
        paper("2401.00002", "Synthetic images", slug="sd", categories=("cs.CV",), week=dt.date(2024, 8, 2),
              authors=("Jure Leskovec", "Bob")),
        paper("2401.00003", "Federated images", slug="fl", categories=("cs.CV",), week=dt.date(2024, 8, 2)),
    )
    assert ids(engine, "topic:sd") == ["2401.00002", "2401.00001"]
    assert ids(engine, "topic:合成データ") == ids(engine, 'topic:"synthetic data"') == ids(engine, "topic:sd")
    assert ids(engine, "topic:synthtic") == ids(engine, "topic:sd")  # typo
    assert ids(engine, "images cat:cs.CV") == ["2401.00003", "2401.00002"]
    assert ids(engine, "cat:cs.cv topic:fl") == ["2401.00003"]
    assert ids(engine, "author:Leskovec") == ["2401.00002"]
    assert ids(engine, "author:lesko") == ["2401.00002"]
    assert ids(engine, 'author:"jure leskovec"') == ["2401.00002"]
    assert ids(engine, "week:2024-07-30") == ["2401.00001"]  # any day of the week
    assert ids(engine, "since:2024-08-01") == ["2401.00003", "2401.00002"]
    assert ids(engine, "until:2024-07-31 synthetic") == ["2401.00001"]


def test_unknown_filter_values_say_so() -> None:
    engine = build(paper("2401.00001", "Synthetic tables", slug="sd"))
    response = engine.search("topic:cooking")
    assert response.hits == () and response.notices
    assert response.suggestions
    assert engine.search("author:Nobody").hits == ()
    assert engine.search("week:1999-01-01").notices


def test_id_lookup_first() -> None:
    engine = build(
        paper("2408.00707", "Synthetic dual image generation"),
        paper("2408.00001", "Another synthetic paper", week=dt.date(2024, 8, 2)),
    )
    for text in ("2408.00707", "2408.00707v2", "arXiv:2408.00707", "https://arxiv.org/pdf/2408.00707v1"):
        assert ids(engine, text) == ["2408.00707"]
    assert ids(engine, "synthetic 2408.00707")[0] == "2408.00707"
    missing = engine.search("2501.99999")
    assert missing.hits == () and any("not in the archive" in n for n in missing.notices)


def test_update_and_remove() -> None:
    engine = build(paper("2401.00001", "Federated learning"), paper("2401.00002", "Synthetic data"))
    engine.update([paper("2401.00003", "Federated analytics")], ["2401.00002"])
    assert ids(engine, "synthetic") == []
    assert set(ids(engine, "federated")) == {"2401.00001", "2401.00003"}
    engine.update([paper("2401.00001", "Homomorphic encryption")], [])
    assert ids(engine, "federated") == ["2401.00003"]
    assert ids(engine, "homomorphic") == ["2401.00001"]
    assert len(engine) == 2


def test_compaction_keeps_results() -> None:
    papers = [paper(f"2401.{i:05d}", f"Paper number {i} federated") for i in range(1200)]
    engine = build(*papers)
    engine.update([], [p.arxiv_id for p in papers[:500]])
    assert len(engine) == 700
    assert engine.search("federated").total == 700


def test_did_you_mean() -> None:
    engine = build(paper("2401.00001", "Homomorphic encryption", authors=("Jure Leskovec",)))
    assert ids(engine, "homomorfic encrytion") == ["2401.00001"]  # typos within reach
    response = engine.search("hmmorphc")  # too far to match, close enough to suggest
    assert response.hits == ()
    assert "homomorphic" in response.suggestions
    assert engine.search("xqzvbn").suggestions  # always somewhere to go


def test_empty_and_filter_only_list_newest_first() -> None:
    engine = build(
        paper("2401.00001", "A", week=dt.date(2024, 7, 5)),
        paper("2401.00002", "B", week=dt.date(2024, 8, 2)),
    )
    assert ids(engine, "") == ["2401.00002", "2401.00001"]
    response = engine.search("", limit=1)
    assert response.total == 2 and response.has_more


def test_paging() -> None:
    engine = build(*(paper(f"2401.{i:05d}", "federated learning") for i in range(30)))
    first = ids(engine, "federated", limit=10)
    second = ids(engine, "federated", limit=10, offset=10)
    assert len(first) == len(second) == 10 and not set(first) & set(second)
    assert engine.search("federated").total == 30


def test_resolve_topic() -> None:
    engine = build(paper("2401.00001", "A"))
    assert engine.resolve_topic("sd")[0] == TOPICS[0]
    assert engine.resolve_topic("合成")[0] == TOPICS[0]
    assert engine.resolve_topic("SYNTHETIC DATA")[0] == TOPICS[0]
    assert engine.resolve_topic("federated")[0] == TOPICS[1]
    assert engine.resolve_topic("all")[0] is None
    topic, _close = engine.resolve_topic("d")
    assert topic is None


@pytest.mark.parametrize("junk", ["\x00", "😀" * 50, "<!channel>", "a" * 10_000, '"', "topic:", "ﷺ" * 30])
def test_never_raises(junk: str) -> None:
    engine = build(paper("2401.00001", "A"))
    assert engine.search(junk).query is not None


def test_concurrent_search_and_update() -> None:
    engine = build(*(paper(f"2401.{i:05d}", f"federated paper {i}") for i in range(200)))
    errors: list[BaseException] = []

    def searcher() -> None:
        try:
            for _ in range(50):
                engine.search("federated paper")
        except BaseException as error:  # noqa: BLE001 - surfaced by the assert below
            errors.append(error)

    threads = [threading.Thread(target=searcher) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(50):
        engine.update([paper(f"2402.{i:05d}", "federated paper new")], [f"2401.{i:05d}"])
    for t in threads:
        t.join()
    assert not errors
    assert len(engine) == 200


def test_query_object_is_accepted() -> None:
    engine = build(paper("2401.00001", "Federated learning"))
    assert engine.search(parse_query("federated")).hits


def test_live_search_follows_the_store(example_archive: Path, engine: Engine) -> None:
    """Another replica syncs the store; this one sees the change on its next engine() call."""
    from bot.search import LiveSearch
    from bot.store import Catalog, sync_archive

    sync_archive(engine, example_archive)
    catalog = Catalog(engine)
    live = LiveSearch(catalog)
    first = live.engine()
    before = len(first)
    assert live.engine() is first and not live.refresh()  # nothing changed: no work
    newest = max(p.week_start for p in catalog.iter_papers() if p.week_start is not None)
    gone = {p.arxiv_id for p in catalog.iter_papers() if p.week_start == newest}
    for path in example_archive.glob(f"_*/{newest.isoformat()}.md"):
        path.unlink()
    sync_archive(engine, example_archive)
    updated = live.engine()
    assert updated is first  # updated in place, not rebuilt
    assert len(updated) == before - len(gone)
    assert all(updated.paper(a) is None for a in gone)
    assert live.version == catalog.version()


def test_a_questions_hits_and_its_concepts_come_from_one_pass_as_from_two() -> None:
    """`for_question` (what answers use) is `search(question=True)` and `reader(question=True)` at once."""
    engine = build(
        paper("2401.00001", "Detecting images generated by diffusion models", summary=("拡散モデルの生成画像を検出する",)),
        paper("2401.00002", "Diffusion models for medical images"),
        paper("2401.00003", "Federated learning with stragglers"),
    )
    query = "detect images generated by diffusion models without watermarks"
    response, reader = engine.for_question(query, limit=5)
    alone = engine.search(query, limit=5, question=True)
    assert [(h.paper.arxiv_id, h.score) for h in response.hits] == [(h.paper.arxiv_id, h.score) for h in alone.hits]
    assert (response.total, response.closest, response.notices) == (alone.total, alone.closest, alone.notices)
    expected = engine.reader(query, question=True)
    assert (reader.labels, reader.idfs) == (expected.labels, expected.idfs)
    assert reader.held("Detecting images generated by diffusion models") == expected.held(
        "Detecting images generated by diffusion models"
    )
    assert response.hits[0].paper.arxiv_id == "2401.00001"
