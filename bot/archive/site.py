"""What the Jekyll site around the digests tells us: its address and topic names.

Both are optional: an archive without `_config.yml` has no web addresses, and a
topic without a page under `_pages/` is named by its digests' titles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import frontmatter
import yaml

from bot.archive import safe_yaml
from bot.archive.problems import Problem

_NAME_RE = re.compile(r"^(?P<ja>.*?)\s*\((?P<en>[^()]+)\)\s*$")
DEFAULT_PERMALINK = "/:collection/:path/"


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """The parts of `_config.yml` that make a digest's web address."""

    base_url: str | None = None
    permalinks: dict[str, str] = field(default_factory=dict)

    def digest_url(self, slug: str, stem: str) -> str | None:
        """`https://host/base/sd/2024-07-26/` for `_sd/2024-07-26.md`, if the url is known."""
        if not self.base_url:
            return None
        pattern = self.permalinks.get(slug) or DEFAULT_PERMALINK
        path = pattern.replace(":collection", slug).replace(":path", stem).replace(":name", stem)
        return self.base_url.rstrip("/") + "/" + path.lstrip("/")


def read_site_config(raw: bytes, path: str, problems: list[Problem]) -> SiteConfig:
    """Parse `_config.yml`; a broken one only costs the web addresses."""
    try:
        data = safe_yaml.load(raw.decode("utf-8-sig"), what="_config.yml")
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        problems.append(Problem(path, None, f"unreadable site config, digests get no web address: {err}", "warning"))
        return SiteConfig()
    if not isinstance(data, dict):
        return SiteConfig()
    url = str(data.get("url") or "").strip()
    base = str(data.get("baseurl") or "").strip()
    permalinks: dict[str, str] = {}
    collections = data.get("collections")
    if isinstance(collections, dict):
        for slug, conf in collections.items():
            if isinstance(conf, dict) and isinstance(conf.get("permalink"), str):
                permalinks[str(slug)] = conf["permalink"]
    if not url.startswith(("http://", "https://")):
        return SiteConfig(None, permalinks)
    return SiteConfig(url.rstrip("/") + ("/" + base.strip("/") if base.strip("/") else ""), permalinks)


@dataclass(frozen=True, slots=True)
class TopicPage:
    """A topic page's names: `合成データ (Synthetic Data)` -> ja, en."""

    slug: str
    name_ja: str
    name_en: str


def read_topic_page(raw: bytes, path: str, problems: list[Problem]) -> TopicPage | None:
    """A `_pages/<slug>.md` page that names a collection, else None (silently)."""
    try:
        meta, _ = frontmatter.parse(raw.decode("utf-8-sig").replace("\r\n", "\n"), handler=safe_yaml.SafeYAMLHandler())
    except (yaml.YAMLError, UnicodeDecodeError, ValueError, TypeError) as err:
        problems.append(Problem(path, None, f"unreadable topic page, its names are not used: {err}", "warning"))
        return None
    slug = meta.get("collection")
    title = meta.get("title")
    if not isinstance(slug, str) or not isinstance(title, str) or not title.strip():
        return None
    title = title.strip()
    m = _NAME_RE.match(title)
    if m and m.group("ja"):
        return TopicPage(slug, m.group("ja").strip(), m.group("en").strip())
    return TopicPage(slug, title, title)
