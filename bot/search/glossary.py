"""The field's vocabulary: abbreviations and English <-> Japanese names of one concept.

A research group types `FL`, `federated learning` or `連合学習` for the same
thing; the archive's English titles say one, its Japanese summaries another.
Each line of `_GLOSSARY` is one concept: English phrases, abbreviations, and
Japanese terms, separated by `|` (items by `,`). The query planner reads a query
phrase that names a concept as "any of these" (see `bot.search.concepts`).

Abbreviations are matched as typed in capitals only when they are also common
English words (`HE`, `DID`, `VC`, `PET`): `he` in a sentence is not homomorphic
encryption. Written for this archive's field (privacy technology and machine
learning) from the field's own usage; terms the archive uses that are not here
are learned from its English/Japanese title pairs (`bot.search.translate`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache

from bot.search.analyze import phrase_terms
from bot.search.normalize import fold, is_cjk

_GLOSSARY = """
federated learning, federated training | FL | 連合学習, 連合型学習, フェデレーテッドラーニング, フェデレーテッド学習, 連邦学習, フェデレーション学習, 連合訓練
federated transfer learning | FTL | 連合転移学習
personalized federated learning, personalised federated learning | PFL | 個別化連合学習, パーソナライズ連合学習, パーソナライズド連合学習, 個別連合学習, 個人化連合学習
vertical federated learning | VFL | 垂直連合学習, 垂直型連合学習, 縦型連合学習
federated unlearning | | 連合アンラーニング, 連合忘却, 連合消去
differential privacy, differentially private | DP | 差分プライバシー, 差分プライバシ, 差分プライベート
local differential privacy, locally differentially private | LDP | 局所差分プライバシー, ローカル差分プライバシー
differentially private stochastic gradient descent, dp-sgd | DPSGD | 差分プライバシー確率的勾配降下法
stochastic gradient descent | SGD | 確率的勾配降下法, 確率的勾配降下
privacy accounting, privacy accountant, privacy loss | | プライバシー会計, プライバシー計算, プライバシー損失
privacy budget | | プライバシー予算
homomorphic encryption, homomorphically encrypted | HE | 準同型暗号, 準同型暗号化
fully homomorphic encryption | FHE, TFHE, CKKS, BFV | 完全準同型暗号, 全準同型暗号, 完全同型暗号
bootstrapping | | ブートストラップ, ブートストラッピング
secure multiparty computation, secure multi-party computation, multiparty computation, multi-party computation, secure computation | MPC, SMPC | 秘密計算, マルチパーティ計算, 多者間計算, 安全な計算, セキュアマルチパーティ計算
secret sharing | | 秘密分散, 秘密共有
garbled circuit | | ガーブルド回路, 暗号化回路
oblivious transfer | OT | 紛失通信, オブリビアス転送, 忘却転送
oblivious ram | ORAM | オブリビアスRAM, 忘却型RAM
private set intersection | PSI | プライベート集合交差, 秘密集合交差, 集合交差, 集合積
private information retrieval | PIR | 秘匿情報検索, プライベート情報検索, 私的情報検索
zero-knowledge proof, zero knowledge proof, zero-knowledge, zero knowledge | ZKP, ZK | ゼロ知識証明, ゼロ知識
zk-snark, zksnark, snark, succinct non-interactive argument | | ZK-SNARK, zkSNARK, SNARK
zero-knowledge machine learning | zkML | ゼロ知識機械学習
trusted execution environment | TEE | 信頼できる実行環境, 信頼実行環境, 信頼された実行環境, TEE
secure enclave, enclave | | エンクレーブ, セキュアエンクレーブ
software guard extensions, intel sgx, sgx enclave | SGX | SGX, SGXエンクレーブ
confidential computing | | 機密コンピューティング, 機密計算
confidential virtual machine, confidential vm, AMD SEV | CVM, SEV-SNP, TDX | 機密仮想マシン, 機密VM
remote attestation, attestation | | リモート証明, リモートアテステーション, アテステーション, 遠隔証明
side-channel attack, side channel attack, side-channel, side channel | | サイドチャネル攻撃, サイドチャネル, サイドチャンネル
self-sovereign identity | SSI | 自己主権型アイデンティティ, 自己主権型ID, 自己主権アイデンティティ, 自己主権型デジタルアイデンティティ
decentralized identifier, decentralised identifier | DID | 分散型識別子, 分散識別子, 分散型ID
verifiable credential | VC | 検証可能な資格情報, 検証可能な資格証明, 検証可能なクレデンシャル, 検証可能な証明書, 検証可能資格情報
digital identity | | デジタルアイデンティティ, デジタルID
identity wallet, digital wallet, wallet | | ウォレット
selective disclosure, sd-jwt, bbs signature, bbs+ signature | | 選択的開示, BBS署名, BBS+署名
privacy enhancing technology, privacy-enhancing technology, privacy enhancing technologies, privacy-enhancing technologies | PET, PETs | プライバシー強化技術, プライバシー保護技術, プライバシー向上技術
privacy-preserving machine learning | PPML | プライバシー保護機械学習
machine learning | ML | 機械学習
deep learning | DL | 深層学習, ディープラーニング
neural network | NN, DNN | ニューラルネットワーク, ニューラルネット
convolutional neural network | CNN | 畳み込みニューラルネットワーク
graph neural network | GNN | グラフニューラルネットワーク
reinforcement learning | RL | 強化学習
computer vision | CV | コンピュータビジョン
natural language processing | NLP | 自然言語処理
synthetic data, data synthesis, synthetic, synthesis, synthesized, synthesizing | | 合成データ, データ合成
tabular data, table data | | 表形式データ, 表データ, テーブルデータ, 表形式, タブラー, タブデータ
synthetic image | | 合成画像
large language model | LLM | 大規模言語モデル, 大型言語モデル, LLM
language model | LM | 言語モデル, ランゲージモデル
vision language model, vision-language model | VLM | 視覚言語モデル, 視覚-言語モデル, ビジョン言語モデル, ビジョンランゲージモデル
foundation model | | 基盤モデル, ファウンデーションモデル, 基礎モデル
diffusion model | | 拡散モデル
generative adversarial network | GAN | 敵対的生成ネットワーク, 生成敵対ネットワーク, 生成的敵対ネットワーク, 生成型敵対ネットワーク
generative model | | 生成モデル
variational autoencoder | VAE | 変分オートエンコーダ
machine unlearning, unlearning | | アンラーニング, 忘却, 機械学習の忘却, 機械忘却, 機械的忘却, 学習解除
privacy attack, privacy risk, privacy leakage, privacy threat | | プライバシー攻撃, プライバシーリスク, プライバシー漏洩, プライバシー侵害, プライバシー脅威
membership inference, membership inference attack | MIA | メンバーシップ推論, メンバーシップ推論攻撃, メンバーシップ推定, 所属推論, メンバーシップ推測
attribute inference | | 属性推論, 属性推測
model inversion | | モデル反転, モデル逆転
gradient inversion, gradient leakage, deep leakage from gradients, gradient reconstruction | | 勾配反転, 勾配逆転, 勾配漏洩, 勾配からの漏洩, 勾配再構成, 勾配再構築
data reconstruction, reconstruction attack | | 再構成攻撃, データ再構成, 復元攻撃, データ復元, 再構築攻撃, データ再構築
training data extraction, data extraction | | 訓練データ抽出, データ抽出
memorization, memorisation | | 記憶, 暗記
backdoor attack, backdoor | | バックドア攻撃, バックドア
poisoning attack, data poisoning, model poisoning, poisoning | | ポイズニング攻撃, ポイズニング, 毒性攻撃, 汚染攻撃, データ汚染, 毒化, 毒攻撃, 毒殺攻撃
adversarial example, adversarial attack | | 敵対的サンプル, 敵対的攻撃, 敵対的事例
byzantine robust, byzantine-robust, byzantine | | ビザンチン, ビザンチン耐性, ビザンチン堅牢
robust aggregation | | 頑健な集約, ロバスト集約, 堅牢な集約
secure aggregation | | 安全な集約, セキュア集約, 秘密集約, セキュアアグリゲーション, 安全集約
model aggregation, aggregation | | 集約, アグリゲーション
client dropout, dropout | | ドロップアウト, 脱落, 離脱
straggler | | ストラグラー
client selection | | クライアント選択
incentive mechanism, incentive | | インセンティブ, インセンティブメカニズム
non-iid, non-iid data, data heterogeneity, heterogeneous data, statistical heterogeneity | | 非IID, 非独立同一分布, データの異質性, データ不均一性, 不均一性, 異質性, 非独立同分布, 異質なデータ, 異種データ
knowledge distillation, distillation | | 知識蒸留, 蒸留
transfer learning | | 転移学習
domain adaptation | | ドメイン適応
fine-tuning, finetuning, fine tuning | | ファインチューニング, 微調整, 微細調整
communication efficiency, communication-efficient, communication cost, communication overhead | | 通信効率, 通信コスト, 通信オーバーヘッド, 通信量
quantization | | 量子化
compression | | 圧縮
sparsification | | スパース化
edge device, edge computing, edge learning, edge intelligence, edge server, edge network, resource-constrained device | | エッジデバイス, エッジコンピューティング, エッジ学習, エッジサーバー, エッジサーバ, エッジネットワーク, エッジインテリジェンス, エッジ連合学習
internet of things | IoT | モノのインターネット, IoT
energy efficiency, energy-efficient, energy consumption, energy-constrained, power consumption | | エネルギー効率, 省エネ, 消費電力, エネルギー消費, 電力制約, 省電力, エネルギー制約
hardware accelerator, accelerator, hardware acceleration | | アクセラレータ, ハードウェアアクセラレータ, ハードウェア高速化
speed-up, speedup, acceleration, accelerating | | 高速化
graphics processing unit | GPU | GPU
field-programmable gate array | FPGA | FPGA
recommender system, recommendation system, recommender | | 推薦システム, レコメンダーシステム, レコメンデーション, 推薦
record linkage, entity resolution | | レコードリンケージ, レコード連結, 名寄せ, エンティティ解決
blockchain | | ブロックチェーン
smart contract | | スマートコントラクト
medical imaging, medical image | | 医療画像, 医用画像
healthcare, health care | | ヘルスケア, 医療
hospital | | 病院
electronic health record | EHR | 電子カルテ, 電子健康記録
autonomous driving, self-driving | | 自動運転
speech recognition | ASR | 音声認識
text-to-speech | TTS | 音声合成
fraud detection | | 不正検知, 不正検出, 詐欺検出
anomaly detection | | 異常検知, 異常検出
model collapse | | モデル崩壊
re-identification, reidentification, identity disclosure | | 再識別, 再特定, 個人特定
anonymization, anonymisation | | 匿名化
k-anonymity | | k-匿名性, k匿名性
fairness | | 公平性, 公平, 公正
auction | | オークション
frequency estimation | | 頻度推定
mean estimation | | 平均推定
data augmentation | | データ拡張
object detection | | 物体検出
semantic segmentation | | セマンティックセグメンテーション, 意味セグメンテーション
privacy | | プライバシー
attack | | 攻撃
defense, defence, defend, defending | | 防御
evaluation, evaluate | | 評価
verification, verify, verifying, verifiable | | 検証, 検証可能
inference | | 推論
""".strip()

#: Narrower concepts, by their first English name: a question about the broader one is
#: also answered, less well, by a paper that names only a narrower one (`machine learning`
#: by a paper on large language models, `MPC` by one on secret sharing). Kinds of the
#: broader concept, or means to it, never merely related subjects; at most nine each (a
#: concept has at most `concepts.MAX_ALTERNATIVES`; all sixteen kinds of machine learning
#: scored 0.003 lower on the dev questions than these nine, and cost more). Read at query
#: time (`bot.search.concepts`), so it is not part of the index's `digest`.
_NARROWER = """
machine learning > deep learning, neural network, convolutional neural network, graph neural network, reinforcement learning, large language model, language model, vision language model, foundation model
deep learning > neural network, convolutional neural network, graph neural network, large language model, diffusion model, generative adversarial network, variational autoencoder
neural network > convolutional neural network, graph neural network
language model > large language model
generative model > diffusion model, generative adversarial network, variational autoencoder, large language model
zero-knowledge proof > zk-snark, zero-knowledge machine learning
homomorphic encryption > fully homomorphic encryption
secure multiparty computation > secret sharing, garbled circuit, oblivious transfer
trusted execution environment > software guard extensions, secure enclave, confidential virtual machine
differential privacy > local differential privacy, differentially private stochastic gradient descent
federated learning > federated transfer learning, personalized federated learning, vertical federated learning, federated unlearning
machine unlearning > federated unlearning
healthcare > medical imaging, electronic health record, hospital
synthetic data > synthetic image
speed-up > hardware accelerator
privacy attack > membership inference, attribute inference, model inversion, gradient inversion, data reconstruction, training data extraction, re-identification
attack > membership inference, attribute inference, model inversion, gradient inversion, data reconstruction, training data extraction, backdoor attack, poisoning attack, adversarial example
digital identity > self-sovereign identity, decentralized identifier, verifiable credential, identity wallet
self-sovereign identity > decentralized identifier, verifiable credential
blockchain > smart contract
anonymization > k-anonymity
communication efficiency > compression, quantization, sparsification
hardware accelerator > graphics processing unit, field-programmable gate array
model aggregation > secure aggregation, robust aggregation
""".strip()

#: Abbreviations that are also English words: matched only as typed in capitals.
_CASE_SENSITIVE = frozenset({"HE", "DID", "VC", "PET", "OT", "ZK", "LM", "DP"})
#: Abbreviations understood in a question but never tagged in a paper: the archive's papers
#: that write them mean something else (`FTL` for follow-the-leader, few-shot task learning,
#: a plasma model), while every paper on the concept also names it in full.
_QUERY_ONLY = frozenset({"FTL"})


@dataclass(frozen=True, slots=True)
class ConceptNames:
    """One concept's names: English phrases and abbreviations (as term tuples), Japanese terms."""

    key: str  # the first English name, for notices
    token: str  # the term the index adds wherever a paper names the concept (`§federated_learning`)
    english: tuple[tuple[str, ...], ...]  # each phrase as its index terms (stems)
    abbreviations: tuple[str, ...]  # folded
    japanese: tuple[str, ...]  # folded Japanese (or mixed) names


@dataclass(frozen=True, slots=True)
class Glossary:
    concepts: tuple[ConceptNames, ...]
    by_phrase: dict[tuple[str, ...], int]  # English stems / abbreviation -> concept index
    by_japanese: dict[str, int]  # folded Japanese name -> concept index
    case_sensitive: frozenset[str]
    query_only: frozenset[str]  # abbreviations the index does not tag (`_QUERY_ONLY`)
    longest: int  # most terms in an English name
    japanese_names: frozenset[str]  # every folded Japanese name, to find inside a query's runs
    narrower: dict[str, tuple[ConceptNames, ...]]  # a concept's token -> its narrower concepts

    def concept_for_japanese(self, text: str) -> ConceptNames | None:
        found = self.by_japanese.get(fold(text))
        return self.concepts[found] if found is not None else None


def _phrase_terms(phrase: str) -> tuple[str, ...]:
    return tuple(phrase_terms(fold(phrase)))


@cache
def glossary() -> Glossary:
    """The glossary, parsed once (it is data, the same for every engine)."""
    concepts: list[ConceptNames] = []
    by_phrase: dict[tuple[str, ...], int] = {}
    by_japanese: dict[str, int] = {}
    for line in _GLOSSARY.splitlines():
        english_part, abbr_part, ja_part = (part.strip() for part in line.split("|"))
        english = [e.strip() for e in english_part.split(",") if e.strip()]
        abbreviations = [a.strip() for a in abbr_part.split(",") if a.strip()]
        japanese = [j.strip() for j in ja_part.split(",") if j.strip()]
        phrase_terms = tuple(dict.fromkeys(t for t in (_phrase_terms(e) for e in english) if t))
        key = english[0] if english else abbreviations[0]
        concept = ConceptNames(
            key=key,
            token="§" + re.sub(r"\W+", "_", fold(key)).strip("_"),
            english=phrase_terms,
            abbreviations=tuple(dict.fromkeys(fold(a) for a in abbreviations)),
            japanese=tuple(dict.fromkeys(fold(j) for j in japanese)),
        )
        index = len(concepts)
        concepts.append(concept)
        for phrase in phrase_terms:
            by_phrase.setdefault(phrase, index)
        for abbr in abbreviations:
            by_phrase.setdefault(_phrase_terms(abbr), index)
        for name in concept.japanese:
            by_japanese.setdefault(name, index)
    longest = max((len(p) for p in by_phrase), default=1)
    names = frozenset(n for n in by_japanese if any(is_cjk(c) for c in n))
    tokens = [c.token for c in concepts]
    assert len(set(tokens)) == len(tokens), "two glossary concepts share a key"
    return Glossary(
        tuple(concepts), by_phrase, by_japanese, _CASE_SENSITIVE, _QUERY_ONLY, longest, names, _narrower(concepts)
    )


def _narrower(concepts: list[ConceptNames]) -> dict[str, tuple[ConceptNames, ...]]:
    by_key = {c.key: c for c in concepts}
    out: dict[str, tuple[ConceptNames, ...]] = {}
    for line in _NARROWER.splitlines():
        broad, _, narrow = line.partition(">")
        out[by_key[broad.strip()].token] = tuple(by_key[n.strip()] for n in narrow.split(","))
    return out


@cache
def digest() -> str:
    """A fingerprint of the glossary: an index tagged with another glossary is rebuilt."""
    tagged = "\n".join((_GLOSSARY, " ".join(sorted(_CASE_SENSITIVE)), " ".join(sorted(_QUERY_ONLY))))
    return hashlib.blake2b(tagged.encode("utf-8"), digest_size=8).hexdigest()
