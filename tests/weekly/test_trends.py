"""The trends numbers, the chart (rendered and checked: size, colours, labels, fonts) and `digest-bot trends`."""

from __future__ import annotations

import datetime as dt
import io
import json
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.charts import japanese_font, trends_chart
from bot.charts.trends import FADED, HEIGHT, WIDTH
from bot.render import unsafe_markup, violations
from bot.render.trends import trends_message, trends_table
from bot.store import Catalog, open_engine, sync_archive
from bot.weekly.trends import Trends, find_topic, trends
from tests.conftest import PROJECT, schema_problems
from tests.support.trends_archive import TOPICS, write_trends_archive
from tests.support.trends_archive import weeks as archive_weeks


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_trends_archive(tmp_path_factory.mktemp("trends") / "archive")


@pytest.fixture(scope="module")
def catalog(archive: Path, tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    engine = open_engine(f"sqlite:///{tmp_path_factory.mktemp('trends-store') / 'store.sqlite3'}")
    sync_archive(engine, archive)
    return Catalog(engine)


def test_the_last_twelve_weeks_per_topic(catalog: Catalog) -> None:
    data = trends(catalog)
    assert data.weeks == tuple(archive_weeks()[-12:]) and data.current == archive_weeks()[-1]
    expected = {slug: counts[-12:] for slug, _, _, counts in TOPICS}
    assert data.counts == expected
    assert [t.slug for t in data.topics] == sorted(expected, key=lambda s: -sum(expected[s]))  # biggest first
    assert data.topics[0].name_ja == "合成データ" and data.topics[0].name_en == "Synthetic Data"


def test_up_to_a_week_and_one_topic(catalog: Catalog) -> None:
    week = archive_weeks()[5]
    data = trends(catalog, until=week + dt.timedelta(days=3), topic="rl", weeks=4)
    assert data.weeks == tuple(archive_weeks()[2:6]) and data.current == week
    assert data.counts == {"rl": TOPICS[1][3][2:6]}
    assert trends(catalog, until=dt.date(2000, 1, 1)).empty
    assert find_topic(catalog, "合成データ").slug == "sd"  # type: ignore[union-attr]
    assert find_topic(catalog, "synthetic  data").slug == "sd"  # type: ignore[union-attr]
    assert find_topic(catalog, "nothing") is None


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def colours(png: bytes) -> set[tuple[int, int, int]]:
    from matplotlib import image

    pixels = (image.imread(io.BytesIO(png))[..., :3] * 255).round().astype(int)
    return {tuple(p) for p in pixels.reshape(-1, 3)}


def blend(colour: tuple[float, ...], alpha: float, over: tuple[int, int, int]) -> tuple[int, int, int]:
    return tuple(round(c * 255 * alpha + o * (1 - alpha)) for c, o in zip(colour[:3], over, strict=True))  # type: ignore[return-value]


def near(found: set[tuple[int, int, int]], wanted: tuple[int, int, int], tolerance: int = 3) -> bool:
    return any(all(abs(a - b) <= tolerance for a, b in zip(pixel, wanted, strict=True)) for pixel in found)


def test_the_chart_shows_every_topic_this_week_highlighted(catalog: Catalog) -> None:
    from matplotlib import colormaps

    data = trends(catalog)
    chart = trends_chart(data, lang="en")
    assert png_size(chart.png) == (WIDTH, HEIGHT) == (chart.width, chart.height)
    assert 20_000 < len(chart.png) < 400_000
    found = colours(chart.png)
    tab10 = colormaps["tab10"]
    for i in range(len(data.topics)):
        assert near(found, blend(tab10(i), 1.0, (0, 0, 0))), f"topic {i} in full colour (this week)"
        assert near(found, blend(tab10(i), FADED, (255, 255, 255))), f"topic {i} faded (earlier weeks)"
    assert near(found, (0xFF, 0xF2, 0xB3))  # the band behind this week
    if chart.font is not None:
        assert chart.labels[0] == "合成データ (Synthetic Data)"
    else:
        assert chart.labels[0] == "Synthetic Data"


def test_without_a_japanese_font_the_chart_uses_english_names(catalog: Catalog) -> None:
    chart = trends_chart(trends(catalog), lang="ja", auto_font=False)
    assert chart.font is None and chart.labels == ("Synthetic Data", "Reinforcement Learning", "Generative Models",
                                                   "Secure Computation")
    assert chart.title.startswith("Papers per topic per week")  # no Japanese words without the glyphs
    assert png_size(chart.png) == (WIDTH, HEIGHT)


def test_a_japanese_font_is_found_when_installed() -> None:
    import importlib.util

    if importlib.util.find_spec("japanize_matplotlib") is None:
        pytest.skip("japanize-matplotlib is not installed (pip install -e .): no IPAexGothic to find")
    assert japanese_font() == "IPAexGothic"
    chart = trends_chart(Trends((dt.date(2025, 1, 3),), (), {}, dt.date(2025, 1, 3)), lang="ja")
    assert chart.font == "IPAexGothic" and "トピック" in chart.title


def test_the_numbers_as_text_and_as_a_message(catalog: Catalog) -> None:
    data = trends(catalog)
    table = trends_table(data).splitlines()
    assert table[0].split()[1:] == [f"{w:%m-%d}" for w in data.weeks] + ["total"]
    assert table[1].split() == ["sd", *map(str, TOPICS[0][3][-12:]), str(sum(TOPICS[0][3][-12:]))]
    assert table[-1].split()[0] == "all"
    for lang in ("en", "ja"):
        message = trends_message(data, lang=lang)
        assert violations(message) == [] and schema_problems(message["blocks"]) == [] and unsafe_markup(message) == []
        assert "合成データ (Synthetic Data)" in json.dumps(message, ensure_ascii=False)
    empty = trends_message(Trends((), (), {}, None), topic_missing="<!channel>")
    assert violations(empty) == [] and unsafe_markup(empty) == []


def test_the_cli_writes_the_chart(archive: Path, tmp_path: Path) -> None:
    out = tmp_path / "chart.png"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(PROJECT), "DIGEST_DB_URL": f"sqlite:///{tmp_path / 's.sqlite3'}",
           "HOME": str(tmp_path), "MPLCONFIGDIR": str(tmp_path / "mpl")}
    command = [sys.executable, "-m", "bot", "--env-file", "/dev/null", "trends", "--archive", str(archive)]
    done = subprocess.run([*command, "--out", str(out), "--json", "--topic", "強化学習"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [t["slug"] for t in report["topics"]] == ["rl"] and report["topics"][0]["papers"] == list(TOPICS[1][3][-12:])
    assert png_size(out.read_bytes()) == (WIDTH, HEIGHT)
    text = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert text.returncode == 0 and "sd" in text.stdout and "合成データ" in text.stdout
    bad = subprocess.run([*command, "--topic", "nope"], env=env, capture_output=True, text=True, timeout=120, check=False)
    assert bad.returncode == 2 and "no topic 'nope'" in bad.stderr and "Traceback" not in bad.stderr


# --- /papers trends over signed HTTP ------------------------------------------------------


@pytest.fixture(scope="module")
def trends_bot(archive: Path, tmp_path_factory: pytest.TempPathFactory, module_fake_slack: Any) -> Any:
    from tests.support.bot_server import running_bot

    now = dt.datetime(2025, 3, 21, 12, 0, tzinfo=dt.UTC)
    with running_bot(module_fake_slack, archive, tmp_path_factory.mktemp("trends-bot"), now=lambda: now) as bot:
        yield bot


def test_papers_trends_answers_with_the_numbers_and_the_chart_in_the_dm(trends_bot: Any) -> None:
    from tests.support.fake_slack import USER_ID

    status, url = trends_bot.command("trends 強化学習")
    assert status == 200
    [answer] = trends_bot.answer(url)
    raw = json.dumps(answer, ensure_ascii=False)
    assert answer["response_type"] == "ephemeral" and " ".join(map(str, TOPICS[1][3][-12:])) in " ".join(raw.split())
    assert "direct messages" in raw and "trends_share" in raw
    assert violations(answer) == [] and unsafe_markup(answer) == []
    [opened] = trends_bot.fake.wait_for(lambda: trends_bot.fake.calls("conversations.open"))
    assert opened.params["users"] == USER_ID
    dm = opened.response["channel"]["id"]
    [chart] = trends_bot.fake.wait_for(lambda: trends_bot.fake.files(dm))
    assert png_size(chart.content or b"") == (WIDTH, HEIGHT) and chart.filename.endswith(".png") and "rl" in chart.filename


def test_share_the_chart_in_the_channel(trends_bot: Any) -> None:
    from bot.render import TRENDS_SHARE

    before = len(trends_bot.fake.files("C0SD"))
    status, url = trends_bot.click(f"{TRENDS_SHARE}:chart", "*", channel_id="C0SD")
    assert status == 200
    files = trends_bot.fake.wait_for(lambda: len(trends_bot.fake.files("C0SD")) > before and trends_bot.fake.files("C0SD"))
    assert files[-1].initial_comment and "<@U0USER>" in files[-1].initial_comment and "all" in files[-1].filename
    trends_bot.fake.not_member.add("C0FL")
    try:
        status, url = trends_bot.click(f"{TRENDS_SHARE}:chart", "sd", channel_id="C0FL")
        [notice] = trends_bot.answer(url)
        assert "not_in_channel" in json.dumps(notice) and trends_bot.fake.files("C0FL") == []
    finally:
        trends_bot.fake.not_member.discard("C0FL")


@pytest.mark.parametrize(
    ("method", "error"),
    [("conversations.open", "missing_scope"), ("files.completeUploadExternal", "not_allowed_token_type")],
)
def test_a_chart_that_cannot_reach_the_dm_is_said_in_one_line(trends_bot: Any, method: str, error: str) -> None:
    """Opening the DM or the upload refused: the numbers still come, then one line says why no chart."""
    trends_bot.fake.fail(method, error)
    try:
        status, url = trends_bot.command("trends")
        assert status == 200
        answers = trends_bot.answer(url, count=2)  # two deliveries, in whichever order they land
        [numbers] = [a for a in answers if "trends_share" in json.dumps(a)]
        [notice] = [a for a in answers if a is not numbers]
        raw = json.dumps(notice, ensure_ascii=False)
        assert "could not be uploaded" in raw and error in raw
        assert notice.get("replace_original") is False and violations(notice) == []
    finally:
        trends_bot.fake.clear_faults()
