"""What a query asks for, as concepts: each the words typed and everything that means the same.

`federated learning backdoor` is two concepts, not three words: *federated
learning* (also `FL`, `連合学習`) and *backdoor* (also `バックドア`). A paper
answers a concept when it holds any of its alternatives; the ranking adds up
concepts, so a rare concept decides more than a common one and a paper that
answers more of them comes first (see `bot.search.ranking`).

Where alternatives come from, strongest first:
- the words as typed (stemmed; a quoted phrase as a phrase);
- the glossary (`bot.search.glossary`): abbreviations and English <-> Japanese
  names of the field's concepts;
- translations learned from the archive's title pairs (`bot.search.translate`);
- corrections, for a word the archive does not know (or knows only once or
  twice): typos one or two edits away and completions of a partial word. A
  word the archive knows is never replaced: `unlearning` stays unlearning.

Pure: the caller passes the vocabulary and the document frequencies.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from rapidfuzz.distance import OSA

from bot.search.analyze import bigrams, is_compound, phrase_terms, stem
from bot.search.glossary import ConceptNames, Glossary
from bot.search.normalize import content_segments, fold, is_cjk, tokens
from bot.search.query import Query
from bot.search.translate import Translations
from bot.search.vocab import Vocabulary, max_typos

#: Which fields an alternative is looked for in: the paper's own English (`latin`, and the
#: English learned for its Japanese text unless translations are off: `english`), Japanese
#: (`ja`), a glossary concept's token (`concept`), or the token of a concept narrower than
#: the one asked for (`narrower`: titles and summary only).
Script = Literal["latin", "english", "ja", "concept", "narrower"]
#: How a narrower concept's paper (`glossary._NARROWER`) weighs against one naming the concept
#: itself: it answers, so it counts as holding the concept, but its BM25 counts this much.
NARROWER_WEIGHT = 0.3
#: ... unless the concept itself is named by more than this share of the papers: a paper on
#: personalised FL names FL too, so its narrower concepts add little but cost.
NARROWER_UP_TO = 0.2
Via = Literal["typed", "glossary", "translation", "typo", "prefix"]

#: Words that carry no subject in a question: left out unless nothing else is typed.
STOPWORDS = frozenset((
    "a", "about", "across", "against", "all", "also", "among", "an", "and", "any", "anything",
    "approach", "approaches", "are", "as", "at", "based", "be", "been", "being", "between", "both",
    "by", "can", "could", "did", "do", "does", "doing", "each", "either", "every", "find", "for",
    "from", "get", "give", "had", "has", "have", "how", "i", "if", "in", "into", "is", "it", "its",
    "just", "latest", "like", "list", "many", "me", "more", "most", "much", "my", "neither", "new",
    "no", "nor", "not", "of", "on", "one", "only", "onto", "or", "other", "others", "our", "over",
    "paper", "papers", "please", "recent", "regarding", "research", "should", "show", "so", "some",
    "studies", "study", "such", "tell", "than", "think", "thinks", "know", "want", "need", "needs",
    "looking", "interested", "say", "says", "that", "the", "their", "them", "there", "these",
    "they", "this", "those", "through", "throughout", "to", "toward", "towards", "two", "under",
    "upon", "using", "very", "via", "was", "we", "were", "what", "when", "where", "whether",
    "which", "while", "who", "whom", "why", "will", "with", "within", "without", "work", "works",
    "would", "you", "your",
))
#: Japanese words that carry no subject in a question, as their English counterparts above
#: (`ベース` based, `方法` how to / method, `利用` using, `研究` research, `最新` latest).
JA_STOPWORDS = frozenset((
    "ベース", "方法", "手法", "利用", "活用", "使用", "研究", "論文", "最新", "アプローチ", "提案", "応用",
))
#: Typo corrections are tried only for words the archive holds at most this often.
RARE = 2
#: ... or by one paper in this many (a big archive repeats its typos).
RARE_PER = 100_000
#: A correction of a rare (but known) word must be this many times commoner.
COMMONER = 5
#: Most alternatives a concept keeps.
MAX_ALTERNATIVES = 10
#: Japanese runs longer than this, not found whole, also match by most of their bigrams.
BAG_FROM = 4
#: "Most of" a bag's terms (`Alternative.bag`): this share of them, rounded up (`most_of`).
BAG_SHARE = 0.7

_HIRAGANA_ONLY = re.compile("^[\u3040-\u309f]+$")
_KANJI = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_SCRIPT_RUN = re.compile("[\u3005-\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[\u30a0-\u30ff\u31f0-\u31ff]+")


@dataclass(frozen=True, slots=True)
class Alternative:
    """One way a paper can answer a concept: index terms (a phrase when several)."""

    terms: tuple[str, ...]
    script: Script
    weight: float
    via: Via
    text: str  # what it stands for, readable (for notices)
    bag: bool = False  # match most of the terms anywhere, not the phrase
    parts: tuple[tuple[str, ...], ...] = ()  # or each of these phrases somewhere in one field


@dataclass(frozen=True, slots=True)
class Concept:
    """What one word or phrase of a query means: its alternatives, the typed one first
    (a glossary entry's names are `bot.search.glossary.ConceptNames`)."""

    label: str
    alternatives: tuple[Alternative, ...]
    notices: tuple[str, ...] = ()

    @property
    def typed(self) -> Alternative:
        return self.alternatives[0]


@dataclass(frozen=True, slots=True)
class Resources:
    """What planning reads: vocabulary, frequencies, glossary, translations."""

    vocab: Vocabulary  # folded Latin words as written in papers -> document frequency
    df: Callable[[str], int]  # an index term's document frequency (any text field)
    glossary: Glossary
    translations: Translations
    use_glossary: bool = True
    use_translations: bool = True
    papers: int = 0  # how many papers the index holds
    #: An everyday English word (`bot.search.english.is_word`): never a typo to correct.
    is_word: Callable[[str], bool] | None = None

    @property
    def rare(self) -> int:
        """A word held by at most this many papers is rare enough to be a typo itself."""
        return max(RARE, self.papers // RARE_PER)


@dataclass(slots=True)
class _Piece:
    """A unit of the query before planning: a Latin word (as typed) or a Japanese segment."""

    text: str
    latin: bool
    folded: str = ""
    stems: tuple[str, ...] = field(default=())
    compound: bool = False
    corrected: str = ""  # the likeliest archive word for an unknown one (glossary lookups)
    glossary_name: str = ""  # a Japanese glossary name this piece is (found inside a run)


def plan(query: Query, res: Resources) -> list[Concept]:
    """The query's free text as concepts, in the order typed."""
    pieces = _pieces(query.words, res.glossary.japanese_names if res.use_glossary else frozenset())
    content = [
        p for p in pieces
        if not (p.folded in (STOPWORDS if p.latin else JA_STOPWORDS)) and not _function_kana(p)
    ]
    for piece in content:
        if piece.latin and not piece.compound:
            df = max(res.df(piece.stems[0]), res.vocab.df.get(piece.folded, 0))
            if df <= res.rare and not _real_word(piece.folded, res):
                corrections = _corrections(piece.folded, df, res.vocab)
                piece.corrected = stem(corrections[0][0]) if corrections else ""
    if not content:
        content = pieces
    concepts: list[Concept] = []
    i = 0
    while i < len(content):
        found = _glossary_at(content, i, res) if res.use_glossary else None
        if found is not None:
            concept, used = found
            concepts.append(concept)
            i += used
            continue
        piece = content[i]
        concepts.append(_latin(piece, res) if piece.latin else _japanese(piece, res))
        i += 1
    for phrase in query.phrases:
        quoted = _phrase(phrase, res)
        if quoted is not None:
            concepts.append(quoted)
    return _merge_duplicates(concepts)


def is_plural(word: str, of: str) -> bool:
    """Whether `word` is `of` with an English plural ending (`gpus` of `gpu`,
    `proofs` of `proof`): a correction between the two is not worth a notice."""
    return word in (of + "s", of + "es")


def most_of(terms: int) -> int:
    """How many of `terms` terms are "most of" them: BAG_SHARE, rounded up.

    Three places count a bag, each by its own rule on top of this share, and the
    rules differ on purpose where they differ (making them one would change answers):
    `bag_query_need` (the index query: distinct terms, two at least), `bag_df_need`
    (the document-frequency estimate: distinct terms, one at least) and
    `bag_matched_need` (the fields named as matched: every term, repeats too).
    """
    return math.ceil(terms * BAG_SHARE)


def bag_query_need(distinct: int) -> int:
    """Of a bag's `distinct` terms, how many a paper must hold for the index query
    (`ranking`): most of them, and at least two. The floor matters only for a bag whose
    terms are one word repeated (`"privacy privacy"`): it matches nothing, and the
    phrase alternative beside it answers alone; with a floor of one, every paper
    holding the word would hold the concept."""
    return max(2, most_of(distinct))


def bag_df_need(distinct: int) -> int:
    """Of a bag's `distinct` terms, how many the document-frequency estimate
    (`ranking.estimate_df`) requires: most of them, and at least one (the estimate is
    the df of the term at that rank from the commonest, so one term is its own df).
    The estimate sets the concept's idf, its notice and whether it is generic; it reads
    the sorted frequencies at `len - need`, which a floor of two would take below zero
    for a bag of one distinct term."""
    return max(1, most_of(distinct))


def bag_matched_need(terms: int) -> int:
    """Of a bag's terms counted with their repeats (a bigram twice in a compound counts
    twice, in `terms` and in what a field holds), how many a field must hold to be named
    as matched (`matched.matched_fields`). It has always counted so; counting distinct
    terms as the query does would name other fields for a compound with a repeated
    bigram, an answer a user sees."""
    return most_of(terms)


# Pieces ------------------------------------------------------------------------


def _pieces(words: Sequence[str], names: frozenset[str]) -> list[_Piece]:
    out: list[_Piece] = []
    stems: list[_Piece] = []  # one-kanji verbs (`使った`): pieces only of a query with nothing else
    for word in words:
        folded_word = fold(word)
        if is_compound(folded_word):  # zk-SNARK, fine-tuning: one piece, a phrase of its parts
            parts = tokens(folded_word)
            out.append(_Piece(word, True, "".join(parts), tuple(stem(t) for t in parts), compound=True))
            continue
        for text, name in _cut_at_names(folded_word, names):
            if name:
                out.append(_Piece(text, False, text, glossary_name=text))
                continue
            for tok in tokens(text):
                if is_cjk(tok):
                    pieces, verbs = content_segments(tok)
                    out += [_Piece(seg, False, seg) for seg in pieces]
                    stems += [_Piece(seg, False, seg) for seg in verbs]
                else:
                    out.append(_Piece(_typed_span(word, tok), True, tok, (stem(tok),)))
    return out or stems


def _cut_at_names(text: str, names: frozenset[str]) -> list[tuple[str, bool]]:
    """Text cut at the glossary's Japanese names it holds, longest first, even across kana
    or Latin letters (`信頼できる実行環境への攻撃`, `非iidデータ`): (piece, is a name)."""
    if not names or text.isascii():
        return [(text, False)]
    longest = max(len(n) for n in names)
    out: list[tuple[str, bool]] = []
    rest = i = 0
    while i < len(text):
        name = next((text[i : i + n] for n in range(min(longest, len(text) - i), 1, -1) if text[i : i + n] in names), "")
        if not name:
            i += 1
            continue
        if rest < i:
            out.append((text[rest:i], False))
        out.append((name, True))
        i += len(name)
        rest = i
    if rest < len(text):
        out.append((text[rest:], False))
    return out


def _script_parts(seg: str) -> list[str]:
    """A Japanese compound cut where kanji turns to katakana or back (合成|ベンチマーク|データ),
    when every part is a word of two characters or more."""
    parts: list[str] = []
    for m in _SCRIPT_RUN.finditer(seg):
        parts.append(m.group())
    if len(parts) < 2 or any(len(p) < 2 for p in parts) or "".join(parts) != seg:
        return [seg]
    return parts


def _typed_span(word: str, tok: str) -> str:
    """The token as the user typed it (for case-sensitive abbreviations)."""
    m = re.search(re.escape(tok), word, flags=re.IGNORECASE)
    return m.group() if m else tok


def _function_kana(piece: _Piece) -> bool:
    """Hiragana alone is grammar in a question (`せずに`, `とは`), not a subject."""
    return not piece.latin and _HIRAGANA_ONLY.match(piece.folded) is not None


# Glossary -----------------------------------------------------------------------


def _glossary_at(content: list[_Piece], i: int, res: Resources) -> tuple[Concept, int] | None:
    """The longest glossary name starting at piece i (Latin words or one Japanese segment)."""
    g = res.glossary
    piece = content[i]
    if not piece.latin:
        concept = g.concept_for_japanese(piece.glossary_name or piece.folded)
        return (_from_glossary(concept, piece.text, ("ja", piece.folded), res), 1) if concept else None
    for n in range(min(g.longest, len(content) - i), 0, -1):
        window = content[i : i + n]
        if not all(p.latin for p in window):
            continue
        key = tuple(s for p in window for s in p.stems)
        index = g.by_phrase.get(key)
        corrected = False
        if index is None and any(p.corrected for p in window):  # `soverign` read as sovereign
            index = g.by_phrase.get(tuple(p.corrected or p.stems[0] for p in window))
            # A plural the vocabulary lacks (`GPUs` read as GPU) is no typo: nothing to say.
            corrected = index is not None and any(
                p.corrected and not is_plural(p.folded, p.corrected) for p in window
            )
        if index is None:
            continue
        concept = g.concepts[index]
        if n == 1 and piece.folded in {fold(a) for a in g.case_sensitive} and not piece.text.isupper():
            continue  # `he`, `did`: words, not HE or DID
        label = " ".join(p.text for p in window)
        found = _from_glossary(concept, label, ("latin", key), res)
        if corrected:  # the answer says so, as it does for a single corrected word
            found = Concept(found.label, found.alternatives, (f"searched for {concept.key} instead of `{label}`",))
        return found, n
    return None


def _from_glossary(concept: ConceptNames, label: str, typed: tuple[str, object], res: Resources) -> Concept:
    """One term: the index tags every paper that names the concept, in any of its names
    (`bot.search.glossary.Tagger`). An abbreviation that is also a word is not tagged,
    so one typed in capitals (`HE`) is searched as itself too."""
    alts = [Alternative((concept.token,), "concept", 1.0, "glossary", concept.key)]
    if NARROWER_WEIGHT and res.df(concept.token) <= NARROWER_UP_TO * max(res.papers, 1):
        alts += [Alternative((n.token,), "narrower", NARROWER_WEIGHT, "glossary", n.key)
                 for n in res.glossary.narrower.get(concept.token, ())]
    kind, key = typed
    if kind == "latin" and len(key) == 1 and label.isupper() and label.casefold() in {  # type: ignore[arg-type]
        a.casefold() for a in res.glossary.case_sensitive
    }:
        alts.append(Alternative(tuple(key), "latin", 0.9, "typed", label))  # type: ignore[arg-type]
    return Concept(label, _dedupe(alts))


# Latin words ----------------------------------------------------------------------


def _latin(piece: _Piece, res: Resources) -> Concept:
    typed_stems = piece.stems
    script: Script = "latin" if res.use_translations else "english"
    alts = [Alternative(typed_stems, script, 1.0, "typed", piece.text)]
    if piece.compound:
        alts.append(Alternative((stem(piece.folded),), script, 1.0, "typed", piece.folded))
    notices: list[str] = []
    if len(typed_stems) == 1:
        word = piece.folded
        df = max(res.df(typed_stems[0]), res.vocab.df.get(word, 0))
        if df <= res.rare and not _real_word(word, res):
            corrections = _corrections(word, df, res.vocab)
            for other, quality, via in corrections:
                alts.append(Alternative((stem(other),), script, quality, via, other))
            if corrections and df == 0:
                shown = ", ".join(dict.fromkeys(o for o, _q, _v in corrections[:3]))
                notices.append(f"`{piece.text}` is not in the archive; searched for {shown}")
    return Concept(piece.text, _dedupe(alts), tuple(notices))


def _real_word(word: str, res: Resources) -> bool:
    """An everyday English word the archive lacks is not a typo of an archive word
    (`correctly` is not `correct`); one it holds rarely is not either."""
    return res.is_word is not None and res.is_word(word)


def _corrections(word: str, df: int, vocab: Vocabulary) -> list[tuple[str, float, Via]]:
    """Typo corrections and completions of a word the archive lacks (or barely has)."""
    found: list[tuple[str, float, Via]] = []
    floor = COMMONER * df if df else 1
    if len(word) >= 3 and not word.isdigit():
        for other in vocab.completions(word, limit=6):
            if vocab.df[other] >= floor:
                found.append((other, 0.8, "prefix"))
    typos = max_typos(word)
    if typos:
        near = [(o, q, OSA.distance(word, o)) for o, q in vocab.near(word, typos) if vocab.df[o] >= floor]
        closest = min((d for _o, _q, d in near), default=0)
        # One edit away beats two: `lerning` is learning, not also merging.
        found += [(o, q, "typo") for o, q, d in near if d == closest]
    found.sort(key=lambda c: c[1], reverse=True)
    return found[: MAX_ALTERNATIVES - 2]


def _translation_weight(dice: float) -> float:
    return 0.4 + 0.4 * dice


# Japanese segments -------------------------------------------------------------------


def _japanese(piece: _Piece, res: Resources) -> Concept:
    seg = piece.folded
    grams = tuple(bigrams(seg))
    alts = [Alternative(grams, "ja", 1.0, "typed", piece.text)]
    parts = _script_parts(seg)
    if len(parts) > 1:  # 合成ベンチマークデータ: its words, each somewhere in the field
        alts.append(Alternative(grams, "ja", 0.75, "typed", piece.text,
                                parts=tuple(tuple(bigrams(p)) for p in parts)))
    elif len(seg) >= BAG_FROM and len(grams) > 2 and _KANJI.search(seg):  # a kanji compound: most bigrams
        alts.append(Alternative(grams, "ja", 0.75, "typed", piece.text, bag=True))
    if res.use_translations:
        for english, dice in res.translations.english(seg)[:2]:
            alts.append(Alternative((english,), "latin", round(_translation_weight(dice), 3), "translation", english))
    return Concept(piece.text, _dedupe(alts))


# Phrases ---------------------------------------------------------------------------


def _phrase(phrase: str, res: Resources) -> Concept | None:
    found = tuple(phrase_terms(fold(phrase)))
    if not found:
        return None
    script: Script = "ja" if any(is_cjk(c) for c in phrase) else "latin"
    alts = [Alternative(found, script, 1.0, "typed", f'"{phrase}"')]
    if len(found) > 1:  # its words apart: still an answer, far below the phrase itself
        alts.append(Alternative(found, script, 0.3, "typed", f'"{phrase}"', bag=True))
    if res.use_glossary:
        concept = res.glossary.concept_for_japanese(phrase)
        if concept is None:
            index = res.glossary.by_phrase.get(found)
            concept = res.glossary.concepts[index] if index is not None else None
        if concept is not None:
            alts += list(_from_glossary(concept, phrase, ("latin", found), res).alternatives[1:])
    return Concept(f'"{phrase}"', _dedupe(alts))


# Helpers -----------------------------------------------------------------------------


def _dedupe(alts: list[Alternative]) -> tuple[Alternative, ...]:
    best: dict[tuple[tuple[str, ...], Script, bool, bool], Alternative] = {}
    for alt in alts:
        if not alt.terms:
            continue
        key = (alt.terms, alt.script, alt.bag, bool(alt.parts))
        if key not in best or best[key].weight < alt.weight:
            best[key] = alt
    # What was typed and the glossary's tokens first, then the rest; each by weight.
    ordered = sorted(best.values(), key=lambda a: (not (a.via == "typed" or a.script in ("concept", "narrower")),
                                                   -a.weight))
    return tuple(ordered[:MAX_ALTERNATIVES])


def _merge_duplicates(concepts: list[Concept]) -> list[Concept]:
    """The same concept typed twice (`FL ... federated learning`) counts once."""
    seen: dict[frozenset, int] = {}
    out: list[Concept] = []
    for concept in concepts:
        key = frozenset((a.terms, a.script) for a in concept.alternatives if a.via != "translation")
        if key in seen:
            continue
        seen[key] = len(out)
        out.append(concept)
    return out


def idf(df: int, n: int) -> float:
    """BM25's idf, for the weights shown in explanations."""
    return math.log(1 + (n - df + 0.5) / (df + 0.5))
