"""The bot's type hints are checked, not only written (mypy, configured in pyproject.toml).

Hints that lie hide bugs: a job whose result a queue drops, an index's metadata read
before it is known, a Slack page typed as what it is not. The cache goes to a temporary
folder: tests never write into the checkout.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_bot_type_checks(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy-cache"), "bot"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Success" in result.stdout
