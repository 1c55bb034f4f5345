"""One normal form for index and query text, and the terms cut from it.

Everything the index stores and every query term goes through `fold`, so a
full-width `ＦＬ`, a half-width `ｶﾀｶﾅ`, `Müller` and `MÜLLER` meet as the same
string. Latin text splits into words; Japanese has no spaces, so runs of
kana/kanji are indexed as character bigrams and matched as substrings.
"""

from __future__ import annotations

import re
import unicodedata

# Katakana (without the middle dot ・, a separator), CJK ideographs, 々〆〇 and
# the compatibility ideographs: the characters of Japanese content words.
_KANJI_KANA = "\u3005-\u3007\u30a0-\u30fa\u30fc-\u30ff\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HIRA = "\u3040-\u309f"
# With hiragana: the characters that form space-less Japanese runs.
_CJK = _HIRA + _KANJI_KANA
# Characters NFKC may change (full-width forms, half-width kana, ligatures, circled
# and squared letters, combining marks...). Text without them is NFKC already, so
# only these spans are normalised: NFKC over whole fields was most of build time.
_COMPAT_RE = re.compile(
    "[\u00a0-\u00bf\u00c0-\u024f\u0300-\u036f\u2000-\u2bff\u2e80-\u2fff\u3000\u3099-\u309c"
    "\u3200-\u33ff\ufb00-\ufb4f\ufe00-\ufe6f\uff00-\uffef\U00010000-\U0010ffff]+",
)
_COMBINING_RE = re.compile("[\u0300-\u036f\u3099\u309a]")
_LATIN_MARKS_RE = re.compile("[\u00c0-\u024f\u1e00-\u1eff]")
_HIRAGANA_RE = re.compile("[\u3040-\u309f]+")
TOKEN_RE = re.compile(f"[{_CJK}]+|[^\\W_{_CJK}]+")
_WORD_RE = re.compile(f"[^\\W_{_CJK}]+")
_CJK_RE = re.compile(f"[{_CJK}]")

#: Hiragana strings that are grammar, not content (particles, copulas, verb endings).
_PARTICLES = frozenset((
    "の", "を", "に", "は", "が", "と", "で", "も", "や", "へ", "から", "まで", "より", "など",
    "について", "における", "による", "に対する", "ための", "ため", "する", "した", "して",
    "される", "された", "できる", "として", "という", "ような",
))


class _StripMarks(dict[int, str]):
    """`str.translate` table that drops diacritics from Latin letters, built lazily.

    Kana keep their voicing marks (ガ stays ガ): only a letter whose base is
    ASCII is reduced, so `é` -> `e` while `が` is untouched.
    """

    def __missing__(self, code: int) -> str:
        char = chr(code)
        decomposed = unicodedata.normalize("NFD", char)
        base = decomposed[0]
        if len(decomposed) > 1 and base.isascii() and all(unicodedata.combining(c) for c in decomposed[1:]):
            result = base
        else:
            result = char
        self[code] = result
        return result


_STRIP_MARKS = _StripMarks()


def fold(text: str) -> str:
    """NFKC (width), casefold (case), then Latin diacritics dropped."""
    if text.isascii():
        return text.casefold()
    if _COMBINING_RE.search(text) is None:
        text = _COMPAT_RE.sub(_nfkc, text).casefold()
    else:  # a combining mark composes with the character before it: normalise it all
        text = unicodedata.normalize("NFKC", text).casefold()
    if _LATIN_MARKS_RE.search(text) is None:
        return text
    return text.translate(_STRIP_MARKS)


def _nfkc(m: re.Match[str]) -> str:
    return unicodedata.normalize("NFKC", m.group())


def tokens(text: str) -> list[str]:
    """Latin/number words and whole kana-kanji runs of already folded text."""
    return TOKEN_RE.findall(text)


def is_cjk(token: str) -> bool:
    return bool(token) and _CJK_RE.match(token) is not None


def words(text: str) -> list[str]:
    """The Latin/number words of folded text."""
    return _WORD_RE.findall(text)


def content_segments(run: str) -> tuple[list[str], list[str]]:
    """(content pieces, one-kanji verb or adjective stems) of a Japanese query run:
    particles and okurigana are dropped. `連合学習のプライバシー` -> [`連合学習`,
    `プライバシー`]; a run that is only hiragana is kept whole (it is the word itself,
    e.g. `なりすまし`).

    A kanji alone before its okurigana (`使った`, `用いた`, `守る`) says "using", "with"
    in a question, and as a one-character term most papers hold it would outrank the
    subject: the caller keeps such stems only when the query has nothing else.
    """
    if _HIRAGANA_RE.fullmatch(run):
        return [run], []
    pieces: list[str] = []
    stems: list[str] = []
    pos = 0
    for m in _HIRAGANA_RE.finditer(run):
        if m.start() > pos:
            piece = run[pos : m.start()]
            if len(piece) == 1 and is_cjk(piece) and not _all_particles(m.group()):
                stems.append(piece)
            else:
                pieces.append(piece)
        kana = m.group()
        if len(kana) > 2 and kana not in _PARTICLES and not _all_particles(kana):
            pieces.append(kana)
        pos = m.end()
    if pos < len(run):
        pieces.append(run[pos:])
    return pieces, stems


def _all_particles(kana: str) -> bool:
    """True when a hiragana string is made of particles only (`における`, `のための`)."""
    if kana in _PARTICLES:
        return True
    longest = max(map(len, _PARTICLES))
    ends = [False] * len(kana) + [True]  # ends[i]: kana[i:] splits into particles
    for i in range(len(kana) - 1, -1, -1):
        ends[i] = any(
            ends[j] and kana[i:j] in _PARTICLES for j in range(i + 1, min(len(kana), i + longest) + 1)
        )
    return ends[0]


def has_terms(text: str) -> bool:
    """Whether text holds anything searchable (a word or a Japanese character)."""
    return TOKEN_RE.search(fold(text)) is not None


