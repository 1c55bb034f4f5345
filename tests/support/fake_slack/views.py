"""views.publish (the Home tab), users.info and auth.test: who is who in the fake workspace."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from tests.support.fake_slack.errors import ApiError
from tests.support.fake_slack.state import FakeState
from tests.support.fake_slack.validation import validate_view
from tests.support.fake_slack.workspace import (
    APP_ID,
    BOT_ID,
    BOT_USER_ID,
    TEAM_ID,
    TEAM_NAME,
    WORKSPACE_URL,
)


class ViewsUsersTeam(FakeState):
    """Home tabs per person, people, and the bot's own identity."""

    def views(self, user: str) -> list[dict[str, Any]]:
        """Every view published to `user`'s Home tab, oldest first."""
        with self._cond:
            return copy.deepcopy(self._views.get(user, []))

    def home(self, user: str) -> dict[str, Any] | None:
        """The Home tab `user` sees now (the last view published), or None."""
        views = self.views(user)
        return views[-1] if views else None

    def _auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": f"{WORKSPACE_URL}/",
            "team": TEAM_NAME,
            "user": self.users.get(BOT_USER_ID, "bot"),
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        """Publish a Home tab: type home, at most 100 valid blocks; `hash` guards a stale update."""
        user = p.get("user_id")
        if not isinstance(user, str) or not user:
            raise ApiError("invalid_arguments", ["[ERROR] missing required field: user_id"])
        if user not in self.users:
            raise ApiError("user_not_found")
        if isinstance(p.get("view"), str):
            raise ApiError("invalid_arguments", ["[ERROR] view must be a JSON object [json-pointer:/view]"])
        validate_view(p.get("view"))
        history = self._views.setdefault(user, [])
        if p.get("hash") and history and p["hash"] != history[-1]["hash"]:
            raise ApiError("hash_conflict")
        view = {
            **copy.deepcopy(p["view"]),
            "id": f"V{len(history) + 1:04d}{user}",
            "team_id": TEAM_ID,
            "app_id": APP_ID,
            "bot_id": BOT_ID,
            "hash": f"{int(self._clock())}.{secrets.token_hex(4)}",
        }
        history.append(view)
        return {"view": copy.deepcopy(view)}

    def _users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        user_id = p.get("user")
        if user_id not in self.users:
            raise ApiError("user_not_found")
        name = self.users[user_id]
        return {
            "user": {
                "id": user_id,
                "team_id": TEAM_ID,
                "name": name,
                "real_name": name.title(),
                "is_bot": user_id == BOT_USER_ID,
                "tz": "Asia/Tokyo",
                "profile": {"display_name": name, "real_name": name.title()},
            }
        }
