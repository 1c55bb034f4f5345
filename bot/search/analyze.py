"""Text -> index terms, the same way for papers and for queries.

Every field is folded first (`normalize.fold`: width, case, diacritics), then cut
by script:

- Latin words are stemmed with the Snowball English stemmer (PyStemmer), so
  `images`/`image`, `shuffling`/`shuffle` and `learning`/`learned` meet. An
  all-consonant abbreviation loses a plural `s` the stemmer keeps (`LLMs` ->
  `llm`, `GNNs` -> `gnn`); a three-letter word is left as it is unless plural
  (`PSY` is not the stem `psi` of `PSI`). A hyphenated compound (`zk-SNARK`, `fine-tuning`,
  `non-IID`) gives its parts and also the parts joined (`zksnark`, `finetun`),
  so either spelling finds the other.
- Japanese has no spaces: kanji/katakana runs become overlapping character
  bigrams (a run of one character stays a unigram), which is what Japanese
  retrieval has long used instead of a dictionary. A Japanese word is then
  found as the phrase of its bigrams. Hiragana is grammar in running text and
  is indexed (as bigrams) in titles only.

The output of `field_terms` is a whitespace-joined term stream that the index
stores with a whitespace tokenizer, so positions follow the text and phrase
queries work on stems and bigrams alike.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from functools import lru_cache

import Stemmer

from bot.search.normalize import fold

_KK = "\u3005-\u3007\u30a0-\u30fa\u30fc-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HIRA = "\u3040-\u309f"
#: A Latin/number word: letters and digits that are not kanji, katakana or hiragana.
_LATIN = f"[^\\W_{_KK}{_HIRA}]+"
_LATIN_RE = re.compile(_LATIN)
#: A Latin/number word, or a kanji/katakana run, in text order; with hiragana runs of two or
#: more (a single hiragana is a particle, never a term): groups, so `findall` does the loop in C.
_PIECES_RE = re.compile(f"({_LATIN})|([{_KK}]+)")
_PIECES_HIRA_RE = re.compile(f"({_LATIN})|([{_KK}]+)|([{_HIRA}]{{2,}})")
#: Latin words joined by hyphens (or a slash between letters): compounds.
_COMPOUND_RE = re.compile(f"{_LATIN}(?:[-‐‑–/]{_LATIN})+")
_SPLIT_RE = re.compile("[-‐‑–/]")
_VOWELS = frozenset("aeiouy")

_stemmer = Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """One folded Latin word's stem (cached: the same few words recur all the time)."""
    if word.isdigit() or len(word) <= 2:
        return word
    if len(word) == 3 and not word.endswith("s"):
        return word  # an abbreviation: the stemmer would make `psy` the `psi` of PSI
    if word.endswith("s") and len(word) >= 4 and not _VOWELS.intersection(word[:-1]):
        return word[:-1]  # llms -> llm, cnns -> cnn: the stemmer keeps these
    if not word.isascii():
        return word
    return _stemmer.stemWord(word)


def bigrams(run: str) -> list[str]:
    """Overlapping character bigrams of one run; a single character is its own term."""
    if len(run) == 1:
        return [run]
    return list(map(operator.add, run, run[1:]))


def terms(folded: str, *, hiragana: bool = False) -> list[str]:
    """Index terms of already folded text, in text order, compounds' joins at the end."""
    out = phrase_terms(folded, hiragana=hiragana)
    if "-" in folded or "/" in folded or "‐" in folded or "‑" in folded or "–" in folded:
        out += compound_joins(folded)
    return out


def phrase_terms(folded: str, *, hiragana: bool = False) -> list[str]:
    """Index terms of folded text in text order, without compound joins: a phrase's terms.
    (Written for speed: it is most of the time a million papers' index build takes.)"""
    out: list[str] = []
    add = out.append
    pair = operator.add
    if hiragana:
        for latin, kk, hira in _PIECES_HIRA_RE.findall(folded):
            if latin:
                add(stem(latin))
            else:
                run = kk or hira
                if len(run) == 1:
                    add(run)
                else:
                    out += map(pair, run, run[1:])
    else:
        for latin, kk in _PIECES_RE.findall(folded):
            if latin:
                add(stem(latin))
            elif len(kk) == 1:
                add(kk)
            else:
                out += map(pair, kk, kk[1:])
    return out


def compound_joins(folded: str) -> list[str]:
    """`zk-snark` -> `zksnark`: the join of each hyphenated compound, stemmed."""
    joins = []
    for m in _COMPOUND_RE.finditer(folded):
        joined = "".join(_SPLIT_RE.split(m.group()))
        if len(joined) <= 40:
            joins.append(stem(joined))
    return joins


def field_terms(
    text: str, *, hiragana: bool = False, tag: Callable[[str, str, list[str]], list[str]] | None = None,
    folded: str | None = None,
) -> str:
    """A field's term stream as the index stores it: terms joined by spaces, and the
    tokens `tag` finds in the text, as written and folded, and its terms (the glossary's
    concepts). `folded` is `fold(text)` when the caller has it already."""
    if folded is None:
        folded = fold(text)
    found = terms(folded, hiragana=hiragana)
    if tag is not None:
        found += tag(text, folded, found)
    return " ".join(found)


def is_compound(folded: str) -> bool:
    """`zk-snark`, `text-to-sql`: Latin words joined by hyphens and nothing else."""
    return _COMPOUND_RE.fullmatch(folded) is not None


def latin_words(folded: str) -> list[str]:
    """The Latin/number words of folded text, unstemmed (for typo correction)."""
    return _LATIN_RE.findall(folded)
