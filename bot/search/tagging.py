"""What the index adds to a paper's text: its glossary concepts and English for its Japanese.

Two kinds of added terms, found in each field as the paper is indexed:
- a concept's token (`§federated_learning`) wherever the paper names a
  glossary concept, in any of its names and either language (nested names
  too: a paper on membership inference attacks is also about attacks), so a
  query for a concept is one term, however the paper put it;
- the English stem of every learned translation whose Japanese string the
  paper's Japanese text holds (`拡散` adds `diffus`), kept in a field of its
  own (`xlat`) so that English words reach the Japanese summaries, weighed
  apart from the paper's own English.

Abbreviations that are also English words (`HE`, `DID`, `PET`) are tagged only
where the paper writes them in capitals (`PETs`, `HEベース`), found in its text
before folding: `he` in a sentence is not homomorphic encryption.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence

from bot.search.glossary import Glossary
from bot.search.normalize import fold
from bot.search.translate import Translations

#: Translations this sure (Dice over title pairs) expand the index; weaker ones are left out.
MIN_EXPANSION_DICE = 0.5


#: Two capitals in a row (every case-sensitive abbreviation has them), ASCII or full-width.
_TWO_CAPITALS = re.compile("[A-Z\uff21-\uff3a]{2}")
#: Full-width letters and digits (full-width punctuation, common in Japanese text, is not).
_FULL_WIDTH = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")


class Tagger:
    def __init__(self, g: Glossary, translations: Translations) -> None:
        lowered = {fold(a) for a in g.case_sensitive | g.query_only}
        self._by_stems = {
            key: g.concepts[i].token for key, i in g.by_phrase.items() if not (len(key) == 1 and key[0] in lowered)
        }
        self._longest: dict[str, int] = {}  # a name's first term -> its longest name's length
        for key in self._by_stems:
            self._longest[key[0]] = max(self._longest.get(key[0], 0), len(key))
        cased = {a: g.concepts[g.by_phrase[(fold(a),)]].token for a in g.case_sensitive if (fold(a),) in g.by_phrase}
        self._cased = cased
        # As written (widths folded, case kept), a plural `s` allowed, not inside a Latin
        # word or number (`IoT` holds no OT, `LLM` no LM) nor ending a hyphenated name
        # (`FMDA-OT` is optimal transport; `DP-SGD` starts with DP); Japanese may touch it.
        self._cased_re = re.compile(
            "(?<![^\\W_])(?<![^\\W_]-)(" + "|".join(sorted(map(re.escape, cased), key=len, reverse=True)) + ")s?(?![^\\W_])",
            re.ASCII,
        ) if cased else None
        self._concepts = _Names((name, g.concepts[g.by_japanese[name]].token) for name in g.japanese_names)
        self._english = _Names(
            (ja, en) for en, (ja, dice) in translations.en_ja.items() if dice >= MIN_EXPANSION_DICE and len(ja) >= 2
        )

    def concepts(self, text: str, folded: str, stems: Sequence[str]) -> list[str]:
        """The concept tokens of a field: `text` as written, `folded` its folded form,
        `stems` its terms in order."""
        found: list[str] = []
        by_stems, longest = self._by_stems, self._longest
        for i, first in enumerate(stems):
            most = longest.get(first)
            if most is None:
                continue
            for n in range(1, min(most, len(stems) - i) + 1):
                token = by_stems.get(tuple(stems[i : i + n]))
                if token is not None:
                    found.append(token)
        return found + self._concepts.find(folded) + self._capitals(text)

    def _capitals(self, text: str) -> list[str]:
        """The tokens of the case-sensitive abbreviations written in capitals (full-width
        letters read as ASCII; only a text holding some is normalized, a regex scan being
        far cheaper than NFKC on every field of every paper)."""
        if self._cased_re is None or not _TWO_CAPITALS.search(text):
            return []
        if _FULL_WIDTH.search(text):
            text = unicodedata.normalize("NFKC", text)
        return [self._cased[m.group(1)] for m in self._cased_re.finditer(text)]

    def english(self, folded: str) -> list[str]:
        """The learned English stems of a field's Japanese text (one per occurrence)."""
        return self._english.find(folded)


class _Names:
    """Strings to find in text, each with what it adds, by their first two characters."""

    def __init__(self, names: Iterable[tuple[str, str]]) -> None:
        self.starts: dict[str, list[tuple[str, str]]] = {}
        for name, value in names:
            self.starts.setdefault(name[:2], []).append((name, value))
        for found in self.starts.values():
            found.sort(key=lambda nv: -len(nv[0]))
        firsts = "".join(map(re.escape, sorted({key[0] for key in self.starts})))
        seconds = "".join(map(re.escape, sorted({key[1] for key in self.starts if len(key) > 1})))
        # Where a name may start: a first character followed by a second one (the regex skips
        # every other place in C); a one-character name needs its first character alone.
        whole = all(len(key) > 1 for key in self.starts)
        self._firsts = re.compile(f"[{firsts}](?=[{seconds}])" if whole else f"[{firsts}]") if firsts else None

    def find(self, folded: str) -> list[str]:
        """What every occurrence of every name adds, in text order (nested ones too)."""
        if self._firsts is None or folded.isascii():
            return []
        found = []
        get = self.starts.get
        for m in self._firsts.finditer(folded):
            i = m.start()
            candidates = get(folded[i : i + 2])
            if candidates:
                for name, value in candidates:
                    if folded.startswith(name, i):
                        found.append(value)
        return found
