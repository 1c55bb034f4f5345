"""Reading a question: its language, whether it is a question at all, and what to search for.

A mention or a direct message that asks something ("how do we handle slow clients
in federated learning?", "差分プライバシーの監査方法は？") gets an answer; one that is
a few keywords ("dp auditing") keeps getting search results, as it always did. The
frame of a question (`can we`, `is it possible to`, `〜する方法は`) carries no subject:
it is taken off before the search, so it is neither a required word nor a typo.

Pure functions: no store, no index, no Slack.
"""

from __future__ import annotations

import re
import unicodedata

from bot.ask.model import Lang

#: Characters of a question read at most (a chat message can be long; a question is not).
MAX_QUESTION = 500
#: Words from which a message is a sentence to answer, whatever its form.
LONG = 6

_JA_RE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]")
_KANA_RE = re.compile(r"[\u3040-\u30ff\uff66-\uff9f]")
_QUESTION_MARKS = ("?", "？")
#: English openings that make a sentence a question (or a request for an answer).
_EN_OPENINGS = (
    "how", "what", "which", "why", "when", "where", "who", "whom", "whose", "can", "could", "is", "are",
    "does", "do", "did", "should", "would", "will", "has", "have", "any", "explain", "compare",
    "summarize", "summarise", "tell", "give", "list", "show", "describe", "find", "i want", "i need",
    "i'm looking", "im looking", "i am looking", "looking for", "anything on", "papers on", "papers about",
    "work on", "research on",
)
#: Japanese endings and words that make a sentence a question or a request.
_JA_MARKERS = (
    "方法は", "とは", "ですか", "ますか", "のか", "か？", "か?", "どう", "なぜ", "何", "どの", "どれ", "教えて",
    "知りたい", "ありますか", "あるか", "できる", "には", "について", "ないか", "は？", "は?", "比較", "違い",
)
#: Question frames: phrases that say "this is a question" and nothing of its subject.
_EN_FRAMES = re.compile(
    r"\b(?:is it possible to|is there (?:a |any )?way to|are there (?:any )?(?:ways|methods|papers|works?) (?:to|that|on|for|about)"
    r"|is there (?:any )?(?:work|research|paper)s? (?:on|about|that)|what are (?:the )?(?:ways|methods|approaches) (?:to|for)"
    r"|how (?:do|can|could|should|would) (?:we|i|you|one|they|people)|how to|can (?:we|i|you|one)|could (?:we|i|you|one)"
    r"|what (?:is|are) (?:the )?(?:state of the art|latest|recent|known)|which (?:papers|works|methods) "
    r"|tell me about|i(?:'m| am) looking for|i want to know|what do we know about|any (?:papers|work) on)\b",
    re.IGNORECASE,
)
#: Japanese question endings, taken off the end of a question one by one, longest first
#: (`…を計算する方法はありますか？` → `…を計算`): how it is asked, not what about.
_JA_ENDINGS = tuple(sorted((
    "？", "?", "。", "か", "ですか", "でしょうか", "ますか", "のか", "ありますか", "あります", "ある", "あるか",
    "は", "を", "が", "には", "とは", "について", "の", "こと", "ことは", "ことが", "できる", "できますか",
    "できます", "可能", "可能か", "方法", "手法", "やり方", "する", "するには", "すれば", "したい", "教えて",
    "ください", "知りたい", "どう", "どうやって", "どのように", "どれくらい", "何", "なに", "なぜ", "とは何",
    "ように", "ようにする",
), key=len, reverse=True))


def clean_text(text: str) -> str:
    """User text without control or invisible format characters, whitespace collapsed
    (`/papers` text and questions alike)."""
    kept = []
    for char in text:
        category = unicodedata.category(char)
        if char.isspace():
            kept.append(" ")
        elif category in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        else:
            kept.append(char)
    return " ".join("".join(kept).split())


def clean(text: str) -> str:
    """A question as one line (NFKC), without control or invisible characters, bounded."""
    return clean_text(unicodedata.normalize("NFKC", (text or "")[: MAX_QUESTION * 4]))[:MAX_QUESTION].strip()


def language(text: str) -> Lang:
    """Japanese when the question is written with Japanese grammar (any kana: `post-quantum
    な zero-knowledge proof system は？` is a Japanese question) or mostly in kanji, else English."""
    if _KANA_RE.search(text):
        return "ja"
    letters = [c for c in text if c.isalpha()]
    ja = sum(1 for c in letters if _JA_RE.match(c))
    return "ja" if letters and ja >= 2 and ja / len(letters) >= 0.2 else "en"


def is_question(text: str) -> bool:
    """A sentence that asks something (answered), not a few keywords (searched).

    A question mark says so; so does an English opening (`how`, `can we`, `which`)
    with at least three words, or a Japanese question ending or request (`方法は`,
    `ですか`, `教えて`).
    """
    text = clean(text)
    if not text:
        return False
    if text.endswith(_QUESTION_MARKS):
        return True
    if _JA_RE.search(text) and any(marker in text for marker in _JA_MARKERS):
        return True
    words = text.casefold().split()
    if len(words) >= LONG:  # nobody types six keywords: a sentence
        return True
    if len(words) < 3:
        return False
    opening = " ".join(words[:3])
    return any(opening == o or opening.startswith(o + " ") for o in _EN_OPENINGS)


def search_text(text: str) -> str:
    """What to search for: the question without its frame and its question marks.

    `can we detect images generated by diffusion models?` → `detect images
    generated by diffusion models`; `差分プライバシーを監査する方法はありますか？` →
    `差分プライバシーを監査`. The search's own stop words do the rest.
    """
    original = text = clean(text)
    text = _EN_FRAMES.sub(" ", text)
    text = re.sub(r"[?？、。,!！]", " ", text).strip()
    if _JA_RE.search(text):
        text = " ".join(_without_ending(part) for part in text.split())
    return " ".join(text.split()) or original


def _without_ending(part: str) -> str:
    """A Japanese run without the question endings at its end (kept whole when all ending)."""
    word = part
    changed = True
    while changed and word:
        changed = False
        for ending in _JA_ENDINGS:
            if word.endswith(ending) and len(word) > len(ending) and _JA_RE.search(word[: -len(ending)][-1:]):
                word = word[: -len(ending)]
                changed = True
                break
    return word
