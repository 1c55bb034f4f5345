"""Make docs/trends-chart.png with the bot's own code: `python docs/make_trends_chart.py`.

The archive is the made-up one of the tests (`tests/support/trends_archive.py`),
indexed into a scratch store; the chart is exactly what the weekly recap and
`/papers trends` upload.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from bot.charts import trends_chart
from bot.store import Catalog, open_engine, sync_archive
from bot.weekly.trends import trends
from tests.support.trends_archive import write_trends_archive


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = write_trends_archive(Path(scratch) / "archive")
        engine = open_engine(f"sqlite:///{scratch}/store.sqlite3")
        sync_archive(engine, root)
        chart = trends_chart(trends(Catalog(engine)), lang="ja")
        engine.dispose()
    out = PROJECT / "docs" / "trends-chart.png"
    out.write_bytes(chart.png)
    print(f"{out} ({chart.width}×{chart.height}, font: {chart.font or 'none: English names'})")


if __name__ == "__main__":
    main()
