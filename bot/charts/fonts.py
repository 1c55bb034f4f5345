"""A font with Japanese glyphs for the charts, if this machine has one.

Topic names are Japanese (`合成データ`); matplotlib's default font (DejaVu
Sans) has no kana or kanji and would draw boxes. Looked for, in order:
IPAexGothic as the `japanize-matplotlib` package ships it (a dependency, so
a pip install brings it), then well-known Japanese fonts installed on the
system (Noto Sans CJK, IPA, Takao, VL Gothic, …). None found: the charts use
English topic names (`bot.charts.trends`).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from pathlib import Path

log = logging.getLogger(__name__)

#: Families that have the Japanese glyphs, best first.
KNOWN_FAMILIES = (
    "IPAexGothic",
    "IPAGothic",
    "IPAPGothic",
    "Noto Sans CJK JP",
    "Noto Sans JP",
    "Source Han Sans JP",
    "TakaoGothic",
    "TakaoPGothic",
    "VL Gothic",
    "Hiragino Sans",
    "Yu Gothic",
    "Meiryo",
)


def _shipped_font() -> Path | None:
    """IPAexGothic inside the japanize-matplotlib package (found without importing it:
    importing it would change matplotlib's global settings)."""
    spec = importlib.util.find_spec("japanize_matplotlib")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "fonts" / "ipaexg.ttf"
        if path.is_file():
            return path
    return None


@functools.cache
def japanese_font() -> str | None:
    """The family name of a font with Japanese glyphs, registered with matplotlib; None if none."""
    from matplotlib import font_manager

    shipped = _shipped_font()
    if shipped is not None:
        try:
            font_manager.fontManager.addfont(str(shipped))
        except (OSError, RuntimeError) as err:  # a damaged file: look further
            log.warning("cannot use the font %s: %s", shipped, err)
    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = next((family for family in KNOWN_FAMILIES if family in installed), None)
    if found is None:
        log.info("no font with Japanese glyphs found: charts show English topic names")
    return found
