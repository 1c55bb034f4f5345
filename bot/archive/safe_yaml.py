"""YAML from archive files, read so that no file can make the reader blow up.

A few hundred bytes of YAML aliases ("billion laughs") expand to gigabytes in
`yaml.safe_load`: a digest's front matter, a topic page or `_config.yml`
could take the indexer's memory and abort the whole sync. Front matter is a
title and a date; nothing the archive needs uses anchors or aliases. So the
text is size-capped first, an alias is refused where it appears, before
anything is expanded, and nesting so deep that PyYAML's recursion gives out
is refused too.
"""

from __future__ import annotations

from typing import Any

import yaml
from frontmatter.default_handlers import YAMLHandler

from bot.archive.files import size_text

#: Front matter (and a topic page's) is a few lines; `_config.yml` a few kB.
MAX_FRONT_MATTER_BYTES = 64_000
MAX_CONFIG_BYTES = 1_000_000


class YAMLRefused(yaml.YAMLError):
    """YAML not read: too large, or using aliases. `problem` says which, like PyYAML's errors."""

    def __init__(self, problem: str, mark: yaml.Mark | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.problem_mark = mark

    def __str__(self) -> str:
        return self.problem


class NoAliasLoader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing every alias (`*name`) at the first one."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise YAMLRefused("uses a YAML alias (`*name`), which is not read", event.start_mark)
        return super().compose_node(parent, index)


def check_size(text: str, limit: int, what: str) -> None:
    """Refuse YAML text longer than `limit` bytes before parsing any of it."""
    size = len(text.encode("utf-8", errors="replace")) if len(text) * 4 > limit else len(text)
    if size > limit:
        raise YAMLRefused(f"{what} is {size_text(size)}, over the {size_text(limit)} limit")


def load(text: str, *, limit: int = MAX_CONFIG_BYTES, what: str = "the YAML") -> Any:
    """`yaml.safe_load`, without aliases, within `limit` bytes, and not nested too deeply."""
    check_size(text, limit, what)
    return _load(text)


def _load(text: str) -> Any:
    try:
        return yaml.load(text, Loader=NoAliasLoader)
    except RecursionError:  # `[[[[…]]]]` thousands deep: PyYAML composes recursively
        raise YAMLRefused("is nested too deeply to read") from None


class SafeYAMLHandler(YAMLHandler):
    """python-frontmatter's YAML handler on `NoAliasLoader`, front matter size-capped."""

    def load(self, fm: str, **kwargs: object) -> Any:
        check_size(fm, MAX_FRONT_MATTER_BYTES, "front matter")
        return _load(fm)
