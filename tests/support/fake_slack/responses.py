"""response_url: a slash command's reply address, at most RESPONSE_URL_USES posts, each validated."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from tests.support.fake_slack.errors import ApiError
from tests.support.fake_slack.records import Outcome
from tests.support.fake_slack.state import FakeState
from tests.support.fake_slack.validation import validate_message
from tests.support.fake_slack.wire import flag
from tests.support.fake_slack.workspace import RESPONSE_URL_USES


class ResponseUrls(FakeState):
    """Response URLs handed out, and what was posted to each."""

    def new_response_url(self) -> str:
        """A fresh response_url (like a slash command's) whose posts are recorded."""
        with self._changed():
            response_id = secrets.token_hex(8)
            self._responses[response_id] = []
        return f"{self.url}/response/{response_id}"

    def responses(self, url_or_id: str) -> list[dict[str, Any]]:
        """Payloads accepted on a response_url, oldest first."""
        response_id = url_or_id.rstrip("/").rsplit("/", 1)[-1]
        with self._cond:
            if response_id not in self._responses:
                raise KeyError(f"no such response_url: {url_or_id}")
            return copy.deepcopy(self._responses[response_id])

    def _response_post(self, path: str, payload: dict[str, Any]) -> Outcome:
        """Slack's response_url: 200 "ok", at most RESPONSE_URL_USES accepted posts."""
        posts = self._responses.get(path.rsplit("/", 1)[-1])
        if posts is None:
            return Outcome(404, {"ok": False, "error": "unknown_response_url"})
        if len(posts) >= RESPONSE_URL_USES:
            return Outcome(404, {"error": "expired_url"})
        if not flag(payload.get("delete_original")):
            try:
                validate_message(
                    payload.get("text"), payload.get("blocks"), payload.get("attachments")
                )
            except ApiError as exc:
                return Outcome(400, exc.body())
        posts.append(copy.deepcopy(payload))
        return Outcome(200, "ok")
