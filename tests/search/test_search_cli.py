"""`digest-bot search` through click's runner, on a copy of the example archive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from bot.store import Catalog, open_engine, sync_archive


@pytest.fixture
def env(example_archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DIGEST_ARCHIVE", str(example_archive))
    monkeypatch.setenv("DIGEST_DB_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    return example_archive


@pytest.fixture
def some_paper(example_archive: Path, tmp_path: Path) -> str:
    eng = open_engine(f"sqlite:///{tmp_path / 'probe.sqlite3'}")
    sync_archive(eng, example_archive)
    first = next(Catalog(eng).iter_papers())
    eng.dispose()
    return first.arxiv_id


def invoke(*args: str, stdin: str | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["--env-file", "/nonexistent", "search", *args], input=stdin)
    return result.exit_code, result.output


def test_human_output(env: Path) -> None:
    code, out = invoke("federated", "learning", "--limit", "3")
    assert code == 0, out
    assert "1." in out and "matched:" in out and "of" in out


def test_json_output(env: Path) -> None:
    code, out = invoke("federated", "--json", "--limit", "2")
    assert code == 0, out
    data = json.loads(out)
    assert data["query"] == "federated"
    assert 0 < len(data["results"]) <= 2
    first = data["results"][0]
    assert {"arxiv_id", "title", "title_ja", "score", "matched", "authors", "topics", "week"} <= set(first)
    # The CLI shows where each hit matched, so it asks the engine for it (a lookup does not).
    assert first["matched"] and set(first["matched"]) <= {"title", "title_ja", "summary", "authors", "comment", "remark"}


def test_id_lookup(env: Path, some_paper: str) -> None:
    code, out = invoke(f"https://arxiv.org/abs/{some_paper}v1", "--json")
    assert code == 0, out
    assert json.loads(out)["results"][0]["arxiv_id"] == some_paper


def test_nothing_matched_says_so(env: Path) -> None:
    code, out = invoke("xqzvbnw")
    assert code == 0
    assert "No papers matched" in out
    assert "Did you mean" in out


def test_stdin_json_line_protocol(env: Path, some_paper: str) -> None:
    lines = ["federated learning", "", some_paper, "topic:dp", "xqzvbnw"]
    code, out = invoke("--stdin", "--json", "--limit", "3", stdin="\n".join(lines) + "\n")
    assert code == 0, out
    answers = [json.loads(line) for line in out.splitlines()]
    assert [a["query"] for a in answers] == lines
    for answer in answers:
        assert set(answer) >= {"query", "results"}
        for result in answer["results"]:
            assert set(result) >= {"arxiv_id", "title", "score"}
    assert answers[2]["results"][0]["arxiv_id"] == some_paper
    assert answers[4]["results"] == [] and answers[4]["suggestions"]


def test_archive_option(example_archive: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIGEST_DB_URL", f"sqlite:///{tmp_path / 'other.sqlite3'}")
    code, out = invoke("--archive", str(example_archive), "privacy", "--json")
    assert code == 0, out
    assert json.loads(out)["total"] >= 0


def test_query_is_required(env: Path) -> None:
    code, out = invoke()
    assert code != 0 and "QUERY" in out


def test_a_sentence_is_searched_as_a_question_as_papers_searches_it(env: Path) -> None:
    """`/papers <a sentence>` gets the closest papers, not nothing; so does the terminal."""
    sentence = "what should we do about tardy participants in federated learning"
    code, out = invoke("--json", *sentence.split())
    assert code == 0, out
    data = json.loads(out)
    assert data["results"] and data["closest"] is True
    code, shown = invoke(*sentence.split())
    assert "showing the closest" in shown and "1." in shown
    assert "matched:" not in shown  # a question's papers may match by meaning: no field is claimed
    code, lines = invoke("--stdin", "--json", stdin=sentence + "\nfederated tardy participants\n")
    first, words = (json.loads(line) for line in lines.splitlines())
    assert first["results"] == data["results"]
    assert words["results"] == [] and words["closest"] is False  # keywords: every word is needed
