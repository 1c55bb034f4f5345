"""Resolve what people call a topic, an author or a category to what the archive holds.

A topic goes by its slug (`sd`), its Japanese name (`合成データ`) or its
English one (`Synthetic Data`), typed in any case or width, in part, or with a
typo. Authors are matched word by word (`Leskovec`, `Jure Leskovec`, `lesko`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from rapidfuzz import fuzz, process

from bot.model import Topic
from bot.search.normalize import fold

_TOPIC_CUTOFF = 78  # WRatio a fuzzy topic name must reach to count as that topic
_SUGGEST_CUTOFF = 55


def _key(text: str) -> str:
    return " ".join(fold(text).replace("-", " ").replace("_", " ").split())


class TopicNames:
    """Every name of every topic, for exact, prefix and fuzzy lookups."""

    def __init__(self, topics: Iterable[Topic]) -> None:
        self.topics = [t for t in topics if not t.aggregate]
        self.by_slug = {t.slug: t for t in self.topics}
        self._names: list[tuple[str, Topic]] = []
        for topic in self.topics:
            for name in {topic.slug, topic.name_ja, topic.name_en}:
                if name:
                    self._names.append((_key(name), topic))

    def resolve(self, text: str) -> tuple[Topic | None, tuple[str, ...]]:
        """(the topic meant, or None; labels of the closest topics when unsure)."""
        key = _key(text)
        if not key:
            return None, ()
        for name, topic in self._names:
            if name == key:
                return topic, ()
        starts = {t.slug: t for name, t in self._names if len(key) >= 2 and name.startswith(key)}
        if len(starts) == 1:
            return next(iter(starts.values())), ()
        inside = {t.slug: t for name, t in self._names if len(key) >= 3 and key in name}
        if len(inside) == 1 and not starts:
            return next(iter(inside.values())), ()
        ranked = self._ranked(key)
        if not starts and ranked and ranked[0][1] >= _TOPIC_CUTOFF:
            top = ranked[0]
            runner_up = next((r for r in ranked[1:] if r[0].slug != top[0].slug), None)
            if runner_up is None or top[1] - runner_up[1] >= 5:
                return top[0], ()
        candidates = list(starts.values()) or [t for t, score in ranked if score >= _SUGGEST_CUTOFF]
        return None, tuple(dict.fromkeys(f"{t.label} [{t.slug}]" for t in candidates[:3]))

    def _ranked(self, key: str) -> list[tuple[Topic, float]]:
        """Topics by their best-scoring name, best first."""
        best: dict[str, tuple[Topic, float]] = {}
        for name, score, i in process.extract(
            key, [n for n, _ in self._names], scorer=fuzz.WRatio, processor=None, limit=None
        ):
            topic = self._names[i][1]
            if topic.slug not in best or best[topic.slug][1] < score:
                best[topic.slug] = (topic, score)
            del name
        return sorted(best.values(), key=lambda pair: pair[1], reverse=True)

    def suggest(self, text: str, *, cutoff: float = 86) -> Topic | None:
        """The topic a free-text query probably names, for "did you mean topic:...". """
        key = _key(text)
        if not key:
            return None
        ranked = self._ranked(key)
        if ranked and ranked[0][1] >= cutoff:
            return ranked[0][0]
        return None

    def nearest(self, text: str, limit: int = 3) -> list[Topic]:
        """The closest topics whatever the score: the last resort of "did you mean"."""
        key = _key(text)
        return [t for t, _score in self._ranked(key)[:limit]] if key else []


def nearest_authors(
    text: str, names: Mapping[str, str], limit: int = 3, *, cutoff: float = 80
) -> list[str]:
    """Author names (as written) closest to `text`, for "did you mean author:...". """
    key = _key(text)
    if len(key) < 3 or not names:
        return []
    # ratio on the surnames-and-names list is a C++ loop; WRatio would be 5x slower.
    found = process.extract(
        key, names.keys(), scorer=fuzz.partial_ratio if len(key) < 6 else fuzz.ratio,
        processor=None, limit=limit, score_cutoff=cutoff,
    )
    return [names[name] for name, _score, _i in found]
