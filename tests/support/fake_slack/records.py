"""What the fake keeps and tests inspect: `Call` (one request), channels, uploaded files, outcomes."""

from __future__ import annotations

import base64
import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Call:
    """One request the fake received, as tests inspect it.

    `method` is the Web API method ("chat.postMessage"), "response_url" for posts to a
    response URL, or the path for anything else. `params` holds the parsed body and
    query (blocks/metadata decoded even when sent as JSON strings); `headers` have
    lower-cased names. `received` is time.monotonic() on arrival. `status` is None
    when the connection was dropped instead of answered.
    """

    method: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]
    received: float
    status: int | None = None
    response: Any = None
    fault: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the client got a successful answer."""
        if self.status != 200:
            return False
        return not isinstance(self.response, dict) or bool(self.response.get("ok", True))

    @property
    def error(self) -> str | None:
        """The `error` the fake answered (or would have, for a dropped connection)."""
        return self.response.get("error") if isinstance(self.response, dict) else None

    @property
    def token(self) -> str | None:
        auth = self.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            return auth.removeprefix("Bearer ").strip()
        token = self.params.get("token")
        return token if isinstance(token, str) else None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class Channel:
    id: str
    name: str
    messages: list[dict[str, Any]] = field(default_factory=list)  # ts order
    private: bool = False
    archived: bool = False
    im_user: str | None = None  # a direct message channel with this user

    def find(self, ts: Any) -> dict[str, Any] | None:
        return next((m for m in self.messages if m["ts"] == ts), None)

    def threads(self) -> dict[str, list[dict[str, Any]]]:
        """Replies per parent ts, oldest first."""
        replies: dict[str, list[dict[str, Any]]] = {}
        for m in self.messages:
            if "thread_ts" in m:
                replies.setdefault(m["thread_ts"], []).append(m)
        return replies


@dataclass
class UploadedFile:
    """A file uploaded through files.getUploadURLExternal + the upload URL (+ completion).

    `content` holds the bytes the client sent; `channel`/`thread_ts` are set by
    files.completeUploadExternal, which shares the file there.
    """

    id: str
    filename: str
    length: int
    content: bytes | None = None
    title: str | None = None
    channel: str | None = None
    thread_ts: str | None = None
    initial_comment: str | None = None
    completed: bool = False

    @property
    def text(self) -> str:
        """The content as UTF-8 text (what a BibTeX or CSV file holds)."""
        return (self.content or b"").decode("utf-8")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["content"] = base64.b64encode(self.content or b"").decode()
        return data

@dataclass
class Outcome:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    fault: str | None = None
    drop: bool = False
