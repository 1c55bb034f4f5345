"""`digest-bot trends`: the trends chart as a PNG file, and its numbers, from a terminal."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from rich.markup import escape

from bot.cli.archive_cmds import archive_option, json_option
from bot.cli.context import CliContext, fail, pass_cli, print_json
from bot.weekly.trends import WEEKS, find_topic, trends


@click.command(name="trends")
@archive_option
@click.option("--topic", default=None, help="One topic only (slug, Japanese or English name).")
@click.option("--weeks", type=click.IntRange(1, 104), default=WEEKS, show_default=True, help="Digest weeks shown.")
@click.option(
    "--week",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The week to highlight (any day of it; default: the archive's newest).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path, dir_okay=False, writable=True),
    default=None,
    help="Write the chart here as a PNG (default: only print the numbers).",
)
@click.option("--lang", type=click.Choice(["en", "ja"]), default=None, help="Words on the chart (default: DIGEST_LANG).")
@json_option
@pass_cli
def trends_command(
    cli: CliContext,
    archive: Path | None,
    topic: str | None,
    weeks: int,
    week: dt.datetime | None,
    out: Path | None,
    lang: str | None,
    as_json: bool,
) -> None:
    """Papers per topic per week over the last weeks, the newest highlighted.

    Prints the numbers; with --out also writes the chart the weekly recap and
    `/papers trends` show (PNG, 1200×600). Japanese topic names need a font
    with Japanese glyphs (IPAexGothic comes with the install); without one the
    chart uses the English names.
    """
    catalog = cli.catalog(archive)
    slug = None
    if topic is not None:
        found = find_topic(catalog, topic)
        if found is None:
            names = ", ".join(s.topic.slug for s in catalog.topics())
            fail(f"no topic {topic!r} in the archive; topics: {names}")
        slug = found.slug
    today = dt.datetime.now(cli.settings.tz).date()  # "this week" only when it is the calendar's
    data = trends(catalog, weeks=weeks, until=week.date() if week else None, topic=slug, today=today)
    if data.empty:
        fail("the archive has no digest weeks to chart" + (f" up to {week.date()}" if week else ""))
    chart = None
    if out is not None:
        from bot.charts import trends_chart

        chart = trends_chart(data, lang=lang or cli.settings.lang)
        try:
            out.write_bytes(chart.png)
        except OSError as err:
            fail(f"cannot write {out}: {err.strerror or err}")
    from bot.render.trends import chart_notes, topic_names, trends_table

    notes = chart_notes(data)
    if as_json:
        print_json(
            {
                "weeks": [w.isoformat() for w in data.weeks],
                "current": data.current.isoformat() if data.current else None,
                "this_week": data.this_week,
                "totals": [data.week_total(i) for i in range(len(data.weeks))],
                "note": " ".join(notes),
                "topics": [
                    {"slug": t.slug, "name_ja": t.name_ja, "name_en": t.name_en, "papers": list(data.counts[t.slug])}
                    for t in data.topics
                ],
                "chart": {"path": str(out), "width": chart.width, "height": chart.height, "font": chart.font,
                          "highlight": chart.highlight}
                if chart
                else None,
            }
        )
        return
    cli.out.print(escape(trends_table(data)))
    cli.out.print(f"[dim]{escape(topic_names(data))}[/]")
    for line in notes:
        cli.out.print(escape(line))
    if chart is not None:
        font = chart.font or "no Japanese font found: English topic names"
        cli.out.print(f"chart written to {escape(str(out))} ({chart.width}×{chart.height}, {font})")
