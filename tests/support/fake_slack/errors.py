"""`ApiError`: how a handler says `ok: false`, turned into Slack's JSON by the server."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


class ApiError(Exception):
    """A Slack error answer; handlers raise it and the server turns it into JSON."""

    def __init__(
        self,
        error: str,
        messages: Iterable[str] = (),
        *,
        status: int = 200,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages)
        self.status = status
        self.extra = dict(extra or {})

    def body(self) -> dict[str, Any]:
        """The JSON Slack sends: pointer messages go to `response_metadata.messages`."""
        body: dict[str, Any] = {"ok": False, "error": self.error, **self.extra}
        if self.messages:
            body["errors"] = [m.removeprefix("[ERROR] ") for m in self.messages]
            body["response_metadata"] = {"messages": self.messages}
        return body
