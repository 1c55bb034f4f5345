"""What went wrong while reading an archive, said precisely enough to fix it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: `skipped`: something (a file or an entry) was not loaded.
#: `warning`: it was loaded, but not as written (a fallback was used).
Severity = Literal["skipped", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing the loader could not read as written: where, and why."""

    path: str
    line: int | None
    reason: str
    severity: Severity = "skipped"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.reason}"

    def as_dict(self) -> dict[str, object]:
        return {
            "path": self.path,
            "line": self.line,
            "reason": self.reason,
            "severity": self.severity,
        }
