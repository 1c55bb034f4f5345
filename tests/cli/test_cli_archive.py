"""`digest-bot index | show | topics | weeks` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from bot.cli import main


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, example_archive: Path):
    """Run the CLI in an empty folder, on a copy of the example archive."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DIGEST_ARCHIVE", str(example_archive))

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)

    return invoke


def test_help_lists_every_command_with_help_text(run) -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("index", "show", "topics", "weeks"):
        assert command in result.output
        sub = run(command, "--help")
        assert sub.exit_code == 0 and "--json" in sub.output and len(sub.output.splitlines()) > 4


def test_index_json_summary(run, tmp_path: Path) -> None:
    result = run("index", "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert {k: data[k] for k in ("files", "digests", "papers", "new", "changed", "skipped")} == {
        "files": 9, "digests": 9, "papers": 21, "new": 9, "changed": 0, "skipped": []
    }
    assert (tmp_path / "data" / "digest-bot.sqlite3").exists()  # the default store
    again = json.loads(run("index", "--json").output)
    assert again["parsed"] == 0 and again["unchanged"] == 9


def test_index_reports_skipped_entries(run, example_archive: Path) -> None:
    (example_archive / "_dp" / "2025-01-24.md").write_text("", encoding="utf-8")
    result = run("index")
    assert result.exit_code == 0
    assert "Skipped (1)" in result.output and "_dp/2025-01-24.md: empty file" in result.output
    data = json.loads(run("index", "--json").output)
    assert data["skipped"] == [{"path": "_dp/2025-01-24.md", "line": None, "reason": "empty file"}]


def test_show_by_id_and_url(run) -> None:
    text = run("show", "https://arxiv.org/pdf/1602.05629v3")
    assert text.exit_code == 0
    assert "Communication-Efficient Learning of Deep Networks" in text.output
    assert "_fl/2025-01-03.md" in text.output
    data = json.loads(run("show", "arXiv:1602.05629", "--json").output)
    assert data["arxiv_id"] == "1602.05629"
    assert data["topics"] == [{"slug": "fl", "name": "連合学習"}]
    assert [d["slug"] for d in data["digests"]] == ["all", "fl"]
    assert data["digests"][1]["url"] == "https://example.org/paper-digest/fl/2025-01-03/"
    assert len(data["summary"]) >= 3 and data["authors"][0] == "H. Brendan McMahan"


def test_show_unknown_and_invalid(run) -> None:
    missing = run("show", "9999.99999")
    assert missing.exit_code == 1 and "not in the archive" in missing.output
    invalid = run("show", "not-an-id")
    assert invalid.exit_code == 2 and "not an arXiv id" in invalid.output


def test_topics_and_weeks(run) -> None:
    topics = json.loads(run("topics", "--json").output)
    assert [(t["slug"], t["name_ja"], t["name_en"], t["papers"]) for t in topics] == [
        ("dp", "差分プライバシー", "Differential Privacy", 12),
        ("fl", "連合学習", "Federated Learning", 12),
    ]
    weeks = json.loads(run("weeks", "--json").output)
    assert [w["week_start"] for w in weeks] == ["2025-01-17", "2025-01-10", "2025-01-03"]
    assert weeks[0]["topics"] == ["dp", "fl"]
    assert "Differential Privacy" in run("topics").output


def test_bad_settings_are_one_clear_line(run) -> None:
    result = run("topics", env={"DIGEST_TIMEZONE": "Mars/Olympus", "DIGEST_LANG": "fr"})
    assert result.exit_code == 2
    assert "DIGEST_TIMEZONE: unknown time zone 'Mars/Olympus'" in result.output
    assert "DIGEST_LANG" in result.output and "Traceback" not in result.output


def test_missing_archive_is_explained(run, tmp_path: Path) -> None:
    result = run("index", "--archive", str(tmp_path / "nowhere"))
    assert result.exit_code == 2 and "does not exist" in result.output and "DIGEST_ARCHIVE" in result.output


def test_bad_database_url(run) -> None:
    result = run("topics", env={"DIGEST_DB_URL": "nonsense://"})
    assert result.exit_code == 2 and "DIGEST_DB_URL" in result.output or "cannot open the store" in result.output
