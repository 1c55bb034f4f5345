"""Pictures for people: the trends chart as a PNG (matplotlib, Agg backend, no display needed)."""

from bot.charts.fonts import japanese_font
from bot.charts.trends import Chart, trends_chart

__all__ = ["Chart", "japanese_font", "trends_chart"]
