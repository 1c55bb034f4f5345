"""The trends chart: papers per topic per week, the current week highlighted, as a PNG.

Stacked bars, one per digest week, one colour per topic (matplotlib's
`tab10`/`tab20`, chosen for telling categories apart), the legend beside the
plot, each week's total above its bar. The current week is drawn in full
colour with its label in bold; earlier weeks are lighter, so the eye lands on
it first. The legend calls it "this week" only when it is the calendar's week
(`Trends.this_week`), else "week of <date>". The number above a bar counts
each paper once (`Trends.week_total`); where a paper in two topics makes the
stack taller, a footnote says so. Topic names are Japanese with the English name beside them
when a Japanese font is found (`bot.charts.fonts`), else English only.

matplotlib is imported on first use (it takes a while), with its object API
on the Agg canvas: no pyplot, no display, no global figure state. Renders
are serialised because matplotlib's settings and font cache are shared.
"""

from __future__ import annotations

import datetime as dt
import io
import threading
from dataclasses import dataclass

from bot.charts.fonts import japanese_font
from bot.i18n import t
from bot.model import Topic
from bot.weekly.trends import Trends

#: Pixels: wide enough for 12 labelled weeks and a legend, small enough to load at once.
WIDTH, HEIGHT, DPI = 1200, 600, 100
#: Weeks other than the current one are drawn at this opacity.
FADED = 0.45
_LABEL = 40
_lock = threading.Lock()


@dataclass(frozen=True, slots=True)
class Chart:
    """A rendered chart: the PNG, its size, the labels it shows and the font used for them."""

    png: bytes
    width: int
    height: int
    labels: tuple[str, ...]
    title: str
    font: str | None
    highlight: str | None = None  # the legend's name for the highlighted week
    note: str | None = None  # the footnote under the plot (topics overlapping)


def topic_label(topic: Topic, *, japanese: bool) -> str:
    """`合成データ (Synthetic Data)` with a Japanese font, else `Synthetic Data` (or the slug)."""
    name_en = topic.name_en if topic.name_en and topic.name_en.isascii() else ""
    if japanese and topic.name_ja and topic.name_ja != name_en:
        label = f"{topic.name_ja} ({name_en})" if name_en else topic.name_ja
    else:
        label = name_en or topic.slug
    label = " ".join(label.split())
    return label if len(label) <= _LABEL else label[: _LABEL - 1] + "…"


def _colours(n: int) -> list[tuple[float, float, float, float]]:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def trends_chart(trends: Trends, *, lang: str = "en", font: str | None = None, auto_font: bool = True) -> Chart:
    """Render `trends` as a PNG of WIDTH × HEIGHT pixels.

    `font` forces a family; by default a Japanese one is looked for
    (`auto_font=False`: none, English names only, as on a machine without one).
    """
    family = font or (japanese_font() if auto_font else None)
    japanese = family is not None
    labels = tuple(topic_label(topic, japanese=japanese) for topic in trends.topics)
    words = lang if japanese else "en"
    title = t(words, "trends_chart_title", n=len(trends.weeks))
    highlight = highlight_label(trends, lang=words)
    note = t(words, "counts_overlap") if trends.overlaps else None
    with _lock:
        png = _draw(trends, labels, title, family, words, highlight, note)
    return Chart(png, WIDTH, HEIGHT, labels, title, family, highlight, note)


def highlight_label(trends: Trends, *, lang: str = "en") -> str | None:
    """"this week" for the calendar's week only; any other highlighted week by its date."""
    if trends.current is None:
        return None
    if trends.this_week:
        return t(lang, "trends_this_week")
    return t(lang, "trends_week_of", date=trends.current.isoformat())


def _draw(
    trends: Trends,
    labels: tuple[str, ...],
    title: str,
    family: str | None,
    lang: str,
    highlight: str | None,
    note: str | None,
) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    families = [family, "DejaVu Sans"] if family else ["DejaVu Sans"]
    # The Japanese fonts found have no bold face: weight would only log a warning.
    strong = "normal" if family else "bold"
    with rc_context({"font.family": families, "font.size": 11, "axes.titlesize": 15, "svg.hashsalt": "digest-bot"}):
        figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.add_subplot()
        weeks = list(trends.weeks)
        current = trends.current_index()
        colours = _colours(len(trends.topics))
        xs = list(range(len(weeks)))
        bottoms = [0] * len(weeks)
        for topic, colour in zip(trends.topics, colours, strict=True):
            row = trends.counts[topic.slug]
            alphas = [1.0 if i == current else FADED for i in xs]
            bars = axes.bar(xs, row, bottom=bottoms, color=colour, edgecolor="white", linewidth=0.6, width=0.72)
            for bar, alpha in zip(bars, alphas, strict=True):
                bar.set_alpha(alpha)
            bottoms = [b + v for b, v in zip(bottoms, row, strict=True)]
        top = max(bottoms, default=0)
        for i, height in enumerate(bottoms):
            total = trends.week_total(i)  # each paper once, even where the bars stack a paper twice
            if height:
                axes.annotate(
                    f"{total:,}", (i, height), xytext=(0, 3), textcoords="offset points", ha="center", va="bottom",
                    fontsize=10 if i != current else 11, fontweight=strong if i == current else "normal", color="#222222",
                )
        if current is not None:
            axes.axvspan(current - 0.45, current + 0.45, color="#fff2b3", zorder=0)
        axes.set_xticks(xs, [_week_label(w, i, weeks) for i, w in enumerate(weeks)])
        for i, tick in enumerate(axes.get_xticklabels()):
            if i == current:
                tick.set_fontweight(strong)
                tick.set_color("#8a6d00")
        axes.set_ylim(0, max(top * 1.12, 1))
        axes.set_ylabel(t(lang, "trends_axis_papers"))
        axes.set_xlabel(t(lang, "trends_axis_week"))
        axes.set_title(title, loc="left", fontweight=strong)
        axes.spines[["top", "right"]].set_visible(False)
        axes.grid(axis="y", color="#dddddd", linewidth=0.8)
        axes.set_axisbelow(True)
        handles = [Patch(facecolor=c, label=label) for c, label in zip(colours, labels, strict=True)]
        if current is not None and highlight:
            handles.append(Patch(facecolor="#fff2b3", label=highlight))
        axes.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=10)
        if note:
            figure.supxlabel(note, x=0.01, ha="left", fontsize=9, color="#555555")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": "digest-bot"})
    return buffer.getvalue()


def _week_label(week: dt.date, index: int, weeks: list[dt.date]) -> str:
    """`01-17`, with the year on the first week and where the year changes."""
    if index == 0 or weeks[index - 1].year != week.year:
        return f"{week:%Y}\n{week:%m-%d}"
    return f"{week:%m-%d}"
