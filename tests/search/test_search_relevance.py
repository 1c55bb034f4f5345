"""The search failures a research group met, one test each (issue: topical relevance).

Hand-made archives, written for these tests: each shows one way the engine
before this work went wrong (all-words gating, rewriting correct words, no
morphology, no shared vocabulary between English, Japanese and the field's
abbreviations, title similarity over subject, loose authors), and pins what it
does now.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.model import Paper
from bot.search import SearchEngine
from tests.search.test_search_engine import TOPICS, ids, paper


def build(*papers: Paper) -> SearchEngine:
    return SearchEngine.build(papers, TOPICS)


def fillers(n: int, title: str, *, start: int = 100, **kw: object) -> list[Paper]:
    return [paper(f"2402.{start + i:05d}", f"{title} number {i}", **kw) for i in range(n)]  # type: ignore[arg-type]


# Typo correction never rewrites a word the archive knows ---------------------------


def test_a_correctly_spelled_word_is_never_rewritten() -> None:
    engine = build(
        paper("2401.00001", "Machine unlearning for language models"),
        paper("2401.00002", "Certified unlearning of graph networks"),
        *fillers(30, "Federated learning with heterogeneous clients"),
    )
    response = engine.search("unlearning")
    assert {h.paper.arxiv_id for h in response.hits} == {"2401.00001", "2401.00002"}
    assert response.total == 2  # not the 32 papers about learning
    assert not any("searched for" in n or "read as" in n for n in response.notices)


def test_an_unknown_word_is_corrected_and_the_user_told() -> None:
    engine = build(paper("2401.00001", "Federated learning of tumour segmentation"), *fillers(3, "Other"))
    response = engine.search("lerning tumour")
    assert [h.paper.arxiv_id for h in response.hits] == ["2401.00001"]
    assert any("`lerning` is not in the archive; searched for learning" in n for n in response.notices)


def test_a_rare_spelling_also_finds_the_common_one() -> None:
    engine = build(
        paper("2401.00001", "Brain tumour detection"),
        *[paper(f"2401.{i:05d}", f"Brain tumor model {i}") for i in range(2, 12)],
    )
    found = set(ids(engine, "tumour", limit=20))
    assert "2401.00001" in found and len(found) == 11


# OR semantics: long questions, common words, relevance before recency ----------------


def test_a_long_question_returns_a_full_page() -> None:
    papers = [
        paper(f"2401.{i:05d}", f"Privacy evaluation of synthetic tabular data generators, study {i}",
              slug="sd", summary=("合成データのプライバシーを評価する",))
        for i in range(12)
    ]
    engine = build(*papers, *fillers(20, "Federated optimisation"))
    question = "how can we evaluate the privacy of synthetic tabular data without revealing any real records"
    assert len(ids(engine, question, limit=10)) == 10


def test_a_rare_word_decides_more_than_a_common_one() -> None:
    engine = build(
        paper("2401.00001", "Certified unlearning", week=dt.date(2024, 6, 7)),
        *fillers(20, "Privacy of federated clients", week=dt.date(2024, 8, 2)),
    )
    assert ids(engine, "privacy unlearning")[0] == "2401.00001"


def test_candidates_are_the_most_relevant_not_the_newest() -> None:
    old_and_right = paper("2401.00001", "Secure aggregation robust to client dropout", week=dt.date(2024, 3, 29))
    newer = [
        paper(f"2412.{i:05d}", f"Secure aggregation protocol {i}", week=dt.date(2024, 12, 20)) for i in range(300)
    ]
    engine = build(old_and_right, *newer)
    assert ids(engine, "secure aggregation client dropout")[0] == "2401.00001"


def test_counts_are_of_papers_that_really_match() -> None:
    engine = build(
        paper("2401.00001", "Backdoor attacks on federated learning"),
        paper("2401.00002", "Backdoor defences for federated learning"),
        *fillers(10, "Federated learning for hospitals"),
        *fillers(10, "Backdoor attacks on image classifiers", start=200),
    )
    response = engine.search("federated learning backdoor")
    assert response.total == 2
    assert {h.paper.arxiv_id for h in response.hits[:2]} == {"2401.00001", "2401.00002"}


def test_strict_search_keeps_only_papers_that_really_match() -> None:
    engine = build(
        paper("2401.00001", "Backdoor attacks on federated learning"),
        *fillers(10, "Federated learning for hospitals"),
        *fillers(10, "Backdoor attacks on image classifiers", start=200),
    )
    loose = engine.search("federated learning backdoor")
    strict = engine.search("federated learning backdoor", strict=True)
    assert len(loose.hits) == 10 and [h.paper.arxiv_id for h in strict.hits] == ["2401.00001"]
    assert strict.total == loose.total == 1


def test_japanese_grammar_is_not_a_required_word() -> None:
    engine = build(paper("2401.00001", "A", title_ja="連合学習の高速化"), *fillers(3, "Other"))
    assert ids(engine, "連合学習せずに") == ["2401.00001"]
    assert ids(engine, "連合学習とは") == ["2401.00001"]


def test_japanese_words_for_based_method_using_are_not_required_words() -> None:
    # `based`, `using`, `how` are stop words in an English question; ベース, 利用, 方法 are
    # the same words in a Japanese one, and a paper on HE inference need not say ベース.
    on_subject = paper("2401.00001", "Private inference with HE", title_ja="HEによるプライベート推論")
    says_base = paper("2401.00002", "A", title_ja="クラウドベースのシステム")
    engine = build(on_subject, says_base, *fillers(5, "Other"))
    assert [c["concept"] for c in engine.explain("HE ベースの private inference")] == ["HE", "private", "inference"]
    assert ids(engine, "HE ベースの private inference")[:1] == ["2401.00001"]
    assert [c["concept"] for c in engine.explain("合成データの評価方法")] == ["合成データ", "評価"]


def test_a_one_kanji_verb_in_a_question_is_not_a_concept() -> None:
    # `使った` ("using") was a concept `使` that every paper saying 使って held: it outranked the subject.
    on_subject = paper("2401.00001", "A", title_ja="差分プライバシーによる合成データ")
    uses = [paper(f"2401.{i:05d}", "B", title_ja="差分プライバシー", summary=("既存の手法を使って評価する",))
            for i in range(2, 6)]
    engine = build(on_subject, *uses, *fillers(5, "Other"))
    assert [c["concept"] for c in engine.explain("差分プライバシーを使った合成データ")] == ["差分プライバシー", "合成データ"]
    assert ids(engine, "差分プライバシーを使った合成データ")[0] == "2401.00001"


# Morphology -----------------------------------------------------------------------


def test_english_words_meet_their_other_forms() -> None:
    engine = build(
        paper("2401.00001", "Synthetic images for detection"),
        paper("2401.00002", "Shuffling improves privacy amplification"),
        paper("2401.00003", "Auditing LLMs for memorisation"),
        paper("2401.00004", "Faster zk-SNARK provers"),
        paper("2401.00005", "Private fine-tuning of vision models"),
        *fillers(5, "Other"),
    )
    assert ids(engine, "image") == ["2401.00001"]
    assert ids(engine, "shuffle") == ["2401.00002"]
    assert ids(engine, "LLM") == ["2401.00003"]
    assert ids(engine, "zkSNARK") == ["2401.00004"]
    assert ids(engine, "zk-snarks")[0] == "2401.00004"
    assert ids(engine, "finetuning") == ["2401.00005"]
    assert ids(engine, "fine-tuning") == ["2401.00005"]


def test_a_verb_meets_its_noun_where_the_stems_differ() -> None:
    # `defend` and `defense` stem apart (defend / defens), as do `verifying` and
    # `verification`: the glossary makes each pair one concept, in Japanese too.
    engine = build(
        paper("2401.00001", "Backdoor defense for federated learning"),
        paper("2401.00002", "Robust training", summary=("バックドア攻撃に対する防御手法を提案する",)),
        paper("2401.00003", "Verification of model training", title_ja="モデル訓練の検証"),
        *fillers(5, "Other"),
    )
    assert set(ids(engine, "how to defend against backdoors")) >= {"2401.00001", "2401.00002"}
    assert ids(engine, "verifying")[0] == "2401.00003"


def test_a_short_name_is_not_stemmed_into_an_abbreviation() -> None:
    # Snowball stems `psy` to `psi`: the PSY method was found as private set intersection.
    engine = build(
        paper("2401.00001", "PSY: posterior sampling for LLM privacy"),
        paper("2401.00002", "Fast PSI for contact discovery"),
        *fillers(5, "Other"),
    )
    assert ids(engine, "private set intersection") == ["2401.00002"]
    assert ids(engine, "PSY") == ["2401.00001"]


# One concept in three names -------------------------------------------------------------


def test_fl_federated_learning_and_renkei_gakushu_are_one_concept() -> None:
    english_only = paper("2401.00001", "Federated learning on phones", title_ja="スマートフォン上の学習")
    japanese_only = paper("2401.00002", "Training across hospitals", summary=("病院間の連合学習を提案する",))
    abbreviated = paper("2401.00003", "FL with differential privacy")
    engine = build(english_only, japanese_only, abbreviated, *fillers(5, "Other", slug="sd"))
    expected = {"2401.00001", "2401.00002", "2401.00003"}
    for query in ("FL", "federated learning", "連合学習", "フェデレーテッドラーニング"):
        assert set(ids(engine, query)) == expected, query


#: A paper naming a concept only in a way the archive's papers do, and a question asking
#: for the concept: machine-translated Japanese titles (差分プライベート for "differentially
#: private", 大型言語モデル), federated *edge learning* (FL on edge devices), a *gradient
#: reconstruction* attack (a gradient inversion), an AMD SEV-SNP VM (a confidential VM), a
#: synthetic dataset (合成マルチモーダルデータセット, synthetic data), an SD-JWT (a Selective
#: Disclosure JWT) and BBS+ signatures (the selective-disclosure signatures of credentials).
NAMED_OTHERWISE = [
    ("Noisy distance queries", "非対称ノイズを用いた差分プライベートな距離クエリ", "differential privacy"),
    ("Code models cookbook", "コード大型言語モデルのクックブック", "LLM"),
    ("Energy-efficient federated edge learning with streaming data", "", "edge devices"),
    ("Optimal defenses against gradient reconstruction attacks", "", "gradient inversion"),
    ("Remote attestation of SEV-SNP VMs", "", "confidential virtual machines"),
    ("A synthetic multi-modal dataset for driving", "運転のための合成マルチモーダルデータセット", "合成データ"),
    ("Credential wallets with SD-JWT", "", "selective disclosure"),
    ("Credentials on a blockchain", "BBS+署名による資格証明", "selective disclosure"),
]


@pytest.mark.parametrize(("title", "title_ja", "question"), NAMED_OTHERWISE)
def test_a_concept_answers_in_the_names_papers_give_it(title: str, title_ja: str, question: str) -> None:
    engine = build(paper("2401.00001", title, title_ja=title_ja), *fillers(5, "Other"))
    assert ids(engine, question) == ["2401.00001"]


def test_an_sgx_enclave_is_one_thing_in_a_question() -> None:
    # "SGX enclaves" names SGX's enclaves, not SGX and, again, enclaves: read as two concepts,
    # a paper on SGX that never mentions side channels outranked the side-channel papers.
    attack = paper("2401.00001", "Cache side-channel attacks on trusted execution environments",
                   summary=("SGXのエンクレーブに対するサイドチャネル攻撃を示す",))
    plain = paper("2401.00002", "Attribute-based encryption inside an Intel SGX enclave",
                  summary=("SGXエンクレーブ内で暗号化と復号を行う",))
    engine = build(attack, plain, *fillers(6, "Other"))
    assert [c["concept"] for c in engine.explain("side-channel attacks on SGX enclaves")] == [
        "side-channel attacks", "SGX enclaves"]
    assert ids(engine, "side-channel attacks on SGX enclaves")[0] == "2401.00001"
    assert set(ids(engine, "enclave")) == {"2401.00001", "2401.00002"}  # papers keep the enclave


def test_an_abbreviation_papers_use_for_other_things_is_understood_but_not_tagged() -> None:
    # Papers in the archive writing `FTL` mean follow-the-leader or few-shot task learning;
    # every paper on federated transfer learning names it in full. `SEV` alone is also a
    # Sparse Explanation Value: AMD SEV and SEV-SNP are confidential VMs.
    ftl = paper("2401.00001", "Federated transfer learning for fault diagnosis")
    robot = paper("2401.00002", "FTL: a follow-the-leader continuum robot")
    amd = paper("2401.00003", "Demystifying AMD SEV performance")
    sev = paper("2401.00004", "Improving decision sparsity with SEV")
    engine = build(ftl, robot, amd, sev, *fillers(5, "Other"))
    assert ids(engine, "FTL") == ["2401.00001"]
    assert ids(engine, "連合転移学習") == ["2401.00001"]
    assert ids(engine, "confidential virtual machines") == ["2401.00003"]


def test_a_broad_concept_is_answered_by_papers_on_a_narrower_one() -> None:
    # "MPC for machine learning": a paper on MPC for LLM inference names no "machine
    # learning", yet answers; one naming the broad concept itself still ranks first.
    broad = paper("2401.00001", "Secure multiparty computation for machine learning")
    narrow = paper("2401.00002", "MPC inference of large language models")
    unrelated = paper("2401.00003", "Secure multiparty computation for auctions")
    engine = build(broad, narrow, unrelated, *fillers(5, "Large language models for code"))
    found = ids(engine, "MPC で機械学習")
    assert found[:2] == ["2401.00001", "2401.00002"]
    assert engine.search("machine learning MPC").total == 2  # the narrower paper really matches


def test_a_concept_most_papers_name_asks_for_no_narrower_ones() -> None:
    # Where FL is everywhere, a paper on personalised FL names FL too: the narrower concepts
    # would add clauses and no papers. Where it is rare, they are asked for.
    def alternatives(engine: SearchEngine) -> set[str]:
        return {a["terms"] for a in engine.explain("federated learning")[0]["alternatives"]}

    common = build(*fillers(8, "Federated learning"), *fillers(2, "Other", start=200))
    rare = build(paper("2401.00001", "Federated learning"), *fillers(9, "Other"))
    assert "§personalized_federated_learning" not in alternatives(common)
    assert "§personalized_federated_learning" in alternatives(rare)


def test_every_narrower_concept_listed_is_asked_for() -> None:
    # A concept has at most MAX_ALTERNATIVES alternatives (its own token first): a narrower
    # concept listed past the cap would be silently left out of every query.
    from bot.search.concepts import MAX_ALTERNATIVES
    from bot.search.glossary import glossary

    for token, narrower in glossary().narrower.items():
        assert len(narrower) <= MAX_ALTERNATIVES - 1, token


def test_narrower_is_not_broader() -> None:
    # A paper on machine learning in general does not answer a question about LLMs.
    engine = build(paper("2401.00001", "Machine learning for tumour detection"), *fillers(3, "Other"))
    assert "2401.00001" not in ids(engine, "LLM")


def test_kousokuka_is_the_concept_of_speeding_up() -> None:
    # 高速化 in a Japanese question meets `speed-up` / `accelerating` in English titles, and a
    # hardware accelerator, the commonest way the archive speeds things up.
    engine = build(
        paper("2401.00001", "Accelerating zkSNARK provers"),
        paper("2401.00002", "An FPGA accelerator for zkSNARKs"),
        paper("2401.00003", "zkSNARKs for voting"),
        *fillers(5, "Other"),
    )
    found = ids(engine, "zkSNARK の高速化")
    assert set(found[:2]) == {"2401.00001", "2401.00002"}


def test_english_words_reach_japanese_summaries_through_learned_translations() -> None:
    # Title pairs teach `diffusion` <-> 拡散 (and nothing else names it): a paper whose only
    # mention is in its Japanese summary is then found by the English word.
    titles = [("Diffusion for generation", "拡散による生成"), ("Evaluating diffusion models", "拡散モデルの評価"),
              ("Fast diffusion", "高速な拡散"), ("Analysis of diffusion processes", "拡散過程の解析"),
              ("Conditional diffusion", "条件付き拡散")]
    pairs = [paper(f"2401.{i:05d}", en, title_ja=ja) for i, (en, ja) in enumerate(titles, start=1)]
    summary_only = paper("2401.00009", "Generative privacy audit", title_ja="生成的監査",
                         summary=("拡散によるサンプル生成を監査する",))
    engine = build(*pairs, summary_only, *fillers(5, "Other"))
    assert "2401.00009" in ids(engine, "diffusion", limit=20)


def test_a_capitalised_abbreviation_that_is_a_word_needs_its_capitals() -> None:
    engine = build(
        paper("2401.00001", "Homomorphic encryption for inference"),
        paper("2401.00002", "What he said about privacy"),
        *fillers(5, "Other"),
    )
    assert ids(engine, "HE")[0] == "2401.00001"
    assert "2401.00001" not in ids(engine, "he")


def test_a_paper_writing_only_the_capitalised_abbreviation_holds_the_concept() -> None:
    # `PETs` in a title, `HEベース` in a Japanese summary: the paper names the concept, and a
    # question in its other names finds it. A `he` in a sentence, the OT inside IoT or ending
    # `FMDA-OT` (optimal transport) does not.
    pets = paper("2401.00001", "The PET Paradox: PETs in smart homes", title_ja="PETのパラドックス")
    he = paper("2401.00002", "Private inference at scale", summary=("HEベースの推論を高速化する",))
    pronoun = paper("2401.00003", "What he said about privacy enhancing")
    iot = paper("2401.00004", "IoT device onboarding", summary=("FMDA-OTによる適応",))
    engine = build(pets, he, pronoun, iot, *fillers(5, "Other"))
    assert ids(engine, "プライバシー保護技術")[:1] == ["2401.00001"]
    assert ids(engine, "privacy enhancing technologies")[0] == "2401.00001"
    assert ids(engine, "homomorphic encryption") == ["2401.00002"]
    assert "2401.00004" not in ids(engine, "oblivious transfer")


# Subject over title similarity -----------------------------------------------------------


def test_a_paper_on_the_subject_beats_one_sharing_generic_title_words() -> None:
    on_subject = paper(
        "2401.00001", "Auditing generative image models", title_ja="生成画像モデルの監査",
        summary=("拡散モデルに対するメンバーシップ推論攻撃を評価する",),
    )
    generic = paper("2401.00002", "Diffusion models for inference of images", week=dt.date(2024, 8, 2))
    engine = build(on_subject, generic, *fillers(5, "Other"))
    assert ids(engine, "membership inference on diffusion models")[0] == "2401.00001"


# Authors ---------------------------------------------------------------------------------


def test_an_author_the_archive_lacks_is_said_so_and_suggested_without_claiming_it() -> None:
    engine = build(
        paper("2401.00001", "Private counting", authors=("Anna Steiner",)),
        paper("2401.00002", "Private sums", authors=("Bo Stein",)),
        paper("2401.00003", "Learning bounds", authors=("Peter Bartlett",)),
    )
    response = engine.search("author:Steinke")
    assert response.hits == ()
    assert any("no author in the archive is called `Steinke`" in n for n in response.notices)
    assert 'author:"Anna Steiner"' in response.suggestions
    assert not any("also matched" in n for n in response.notices)
    assert ids(engine, "author:Bartlet") == ["2401.00003"]  # a prefix of a name is fine
    assert ids(engine, "author:Steiner") == ["2401.00001"]


# Related papers (more like this) ---------------------------------------------------------


def test_related_papers_share_the_papers_own_subject_in_both_languages() -> None:
    source = paper("2401.00001", "Backdoor defence for federated learning", summary=("連合学習のバックドア防御",))
    close = paper("2401.00002", "Robust aggregation against backdoors", summary=("バックドア攻撃に頑健な集約",))
    far = paper("2401.00003", "Synthetic tabular data", summary=("表形式データの合成",), slug="sd")
    engine = build(source, close, far, *fillers(5, "Other", slug="sd"))
    related = engine.related("2401.00001", limit=3)
    assert related.hits and related.hits[0].paper.arxiv_id == "2401.00002"
    assert "2401.00001" not in {h.paper.arxiv_id for h in related.hits}


# A paper holds a concept when any of its own fields does --------------------------


def test_a_concept_is_held_in_whichever_own_field_says_it() -> None:
    """Counting and the gate ask each of the paper's own fields (title, Japanese title,
    summary, authors, comment, remark); a phrase must stand within one field."""
    engine = build(
        paper("2401.00001", "Backdoor attacks", comment="Accepted at a federated learning workshop"),
        paper("2401.00002", "Backdoor attacks on image models", remark="連合学習での評価が中心。"),
        paper("2401.00003", "Backdoor attacks in the wild", summary=("連合学習のクライアントに対する攻撃。",)),
        paper("2401.00004", "Backdoor attacks, federated", comment="learning rates tuned"),  # the phrase split
        *fillers(10, "Image classifiers", start=200),
    )
    response = engine.search("federated learning backdoor", strict=True)
    assert response.total == 3
    assert {h.paper.arxiv_id for h in response.hits} == {"2401.00001", "2401.00002", "2401.00003"}


def test_matched_fields_are_named_only_when_asked() -> None:
    engine = build(
        paper("2401.00001", "Backdoor attacks", summary=("連合学習のクライアントに対する攻撃。",)),
        *fillers(3, "Image classifiers", start=200),
    )
    asked = engine.search("連合学習 backdoor", fields=True)
    assert asked.hits[0].paper.arxiv_id == "2401.00001"
    assert asked.hits[0].matched == ("title", "summary")
    assert engine.search("連合学習 backdoor").hits[0].matched == ()
