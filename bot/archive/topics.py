"""Name each topic from what the archive says about it.

Japanese name: what the digests' titles call it (`合成データ (2024-07-26 ~ …)`),
else the topic page, else the entries' topic links, else the slug.
English name: the topic page's parenthesis (`合成データ (Synthetic Data)`), else
a page title that differs from the Japanese name (`All`), else the Japanese name.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from bot.archive.site import TopicPage
from bot.model import Topic


def name_topics(
    slugs: Iterable[str],
    pages: Mapping[str, TopicPage],
    title_names: Mapping[str, Counter[str]],
    link_names: Mapping[str, Counter[str]],
) -> dict[str, Topic]:
    """Topics for `slugs` (plus every slug a page names), sorted by slug."""
    topics: dict[str, Topic] = {}
    for slug in sorted(set(slugs) | set(pages)):
        page = pages.get(slug)
        titles = title_names.get(slug)
        links = link_names.get(slug)
        if titles:
            ja = titles.most_common(1)[0][0]
        elif page is not None:
            ja = page.name_ja
        elif links:
            ja = links.most_common(1)[0][0]
        else:
            ja = slug
        en = page.name_en if page is not None else ja
        topics[slug] = Topic(slug, ja, en)
    return topics
