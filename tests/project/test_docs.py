"""The documents keep to their readers: README for users, CONTRIBUTING for developers.

The README is what a person who uses or deploys the bot reads, on a clone that
has no `../shared`, no Slack schema files and no CI. Test internals belong to
CONTRIBUTING.md and benchmark history (runs of record, commit ids, the
machine's drift) to bench/README.md; the README keeps the current figures only.
These tests pin that split, and that every relative link in either document
leads to a file of the project.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import PROJECT

README = PROJECT / "README.md"
CONTRIBUTING = PROJECT / "CONTRIBUTING.md"
BENCH_README = PROJECT / "bench" / "README.md"

#: The README's first screen: what a visitor sees before scrolling.
FIRST_SCREEN_LINES = 60
#: Words of the test and CI machinery that mean nothing on a user's clone.
TEST_INTERNALS = ("../shared", ".ci/run", "hypothesis", "schemas/", "DIGEST_TEST_")
#: A git commit id as the history cites them (7 to 40 hex digits, a digit and a letter among them).
COMMIT_ID = re.compile(r"(?<![0-9A-Za-z_-])(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}(?![0-9A-Za-z_-])")
#: A Markdown link or image: [text](target) / ![alt](target).
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
#: A fenced code block: its text is an example (the archive format's own links), not a link of the document.
FENCED = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)


def shown(text: str) -> str:
    """The text as rendered: HTML comments (the `.ci/run` markers) are not shown to a reader."""
    return HTML_COMMENT.sub("", text)


def relative_links(document: Path) -> list[str]:
    """Every link target in `document` that is a path inside the project (not a URL or an anchor)."""
    targets = LINK.findall(FENCED.sub("", shown(document.read_text(encoding="utf-8"))))
    return [t for t in targets if not re.match(r"^[a-z][a-z0-9+.-]*:|^#", t)]


def real_archive_test_files() -> list[str]:
    """The test files marked `real_archive` (they skip without the real digest archive)."""
    return sorted(
        path.relative_to(PROJECT).as_posix()
        for path in (PROJECT / "tests").rglob("test_*.py")
        if "mark.real_archive" in path.read_text(encoding="utf-8")
    )


def test_the_readme_first_screen_is_for_users() -> None:
    first_screen = shown("\n".join(README.read_text(encoding="utf-8").splitlines()[:FIRST_SCREEN_LINES]))
    for word in TEST_INTERNALS:
        assert word.lower() not in first_screen.lower(), f"README's first screen mentions {word!r}"


def test_the_readme_names_no_test_internals_anywhere() -> None:
    readme = shown(README.read_text(encoding="utf-8"))
    for word in TEST_INTERNALS:
        assert word.lower() not in readme.lower(), f"README mentions {word!r}: that belongs in CONTRIBUTING.md"


def test_the_readme_cites_no_commit_ids_and_no_benchmark_history() -> None:
    readme = shown(README.read_text(encoding="utf-8"))
    assert COMMIT_ID.findall(readme) == [], "commit ids belong in bench/README.md's history"
    for phrase in ("run of record", "runs of record", "the machine drifts"):
        assert phrase not in readme.lower(), f"README carries benchmark history ({phrase!r}): bench/README.md"
    assert "bench/README.md" in relative_links(README), "README should link its figures' source, bench/README.md"


def test_the_commit_id_pattern_finds_what_the_history_cites() -> None:
    """The check above would pass vacuously if the pattern were wrong: it must see real citations."""
    assert COMMIT_ID.findall("the run of record at ab52d7f (2026-12-02), before 87458da") == ["ab52d7f", "87458da"]
    assert COMMIT_ID.findall("C0123ABCD 2408.00707 xoxb-1234567 defaced 1000000 sha256") == []


def test_contributing_explains_the_tests_a_user_clone_cannot_run() -> None:
    assert CONTRIBUTING.is_file(), "CONTRIBUTING.md is where the test suite's needs are explained"
    text = CONTRIBUTING.read_text(encoding="utf-8")
    for needed in ("../shared/archive", "DIGEST_TEST_ARCHIVE", "../shared/schemas", "DIGEST_TEST_PG_URL",
                   ".ci/run", "hypothesis", "-m real_archive"):
        assert needed in text, f"CONTRIBUTING.md does not explain {needed!r}"
    files = real_archive_test_files()
    assert files, "no test is marked real_archive: has the marker been renamed?"
    for name in files:
        assert name in text, f"CONTRIBUTING.md does not name {name}, a test that needs the real archive"


def test_benchmark_history_lives_in_bench_readme() -> None:
    text = BENCH_README.read_text(encoding="utf-8")
    assert "run of record" in text and COMMIT_ID.search(text), "bench/README.md keeps the runs and their commits"


@pytest.mark.parametrize("document", [README, CONTRIBUTING], ids=lambda p: p.name)
def test_relative_links_lead_to_files_of_the_project(document: Path) -> None:
    assert document.is_file(), f"{document.name} is missing"
    links = relative_links(document)
    assert links, f"{document.name} links to nothing in the project"
    for target in links:
        path = (document.parent / target.split("#", 1)[0]).resolve()
        assert path.exists(), f"{document.name} links to {target}, which does not exist"
        assert path.is_relative_to(PROJECT), f"{document.name} links to {target}, outside the project"


def test_the_readme_names_the_recap_age_limit_and_how_to_post_one_anyway() -> None:
    """A user who sees no recap finds why in the README (the limit is the code's own)."""
    from bot.publisher.recap import MAX_AGE

    readme = " ".join(README.read_text(encoding="utf-8").split())
    assert f"No recap is posted for a week that ended more than {MAX_AGE.days} days ago" in readme
    assert "`digest-bot recap --week DATE`" in readme
