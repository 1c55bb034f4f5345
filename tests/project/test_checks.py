"""The code is checked, not only written: mypy and ruff over everything Python (bot, tests, bench).

Hints that lie hide bugs (a job whose result a queue drops, an index's metadata read
before it is known, a Slack page typed as what it is not); a linter catches the blind
`except`, the unused import, the shadowed name before a reviewer has to. Both are
configured in pyproject.toml and pinned in the `test` extra, so a new release of either
does not fail a commit that did not change. Caches go to temporary folders: tests never
write into the checkout.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, check=False)


def test_the_bot_type_checks(tmp_path: Path) -> None:
    result = _run("mypy", "--cache-dir", str(tmp_path / "mypy-cache"), "bot", "tests", "bench")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Success" in result.stdout


def test_the_code_passes_the_linter() -> None:
    result = _run("ruff", "check", "--no-cache", "--output-format", "concise", "bot", "tests", "bench")
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
