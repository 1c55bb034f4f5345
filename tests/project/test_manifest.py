"""manifest.yaml: valid against Slack's manifest schema, and asking for exactly what the bot uses."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import PROJECT, SCHEMAS

MANIFEST = PROJECT / "manifest.yaml"
#: $SLACK_MANIFEST_SCHEMA (a checkout whose ../shared is elsewhere, e.g. a git worktree), else SCHEMAS.
MANIFEST_SCHEMA = Path(os.environ.get("SLACK_MANIFEST_SCHEMA") or SCHEMAS / "slack-app-manifest.schema.1.0.0.json")


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def test_valid_against_slack_schema(manifest: dict[str, Any]) -> None:
    schema_path = MANIFEST_SCHEMA
    if not schema_path.exists():
        pytest.skip(f"Slack's manifest schema not found at {schema_path}")
    from jsonschema import Draft7Validator

    schema = json.loads(Path(schema_path).read_text(encoding="utf-8"))
    errors = sorted(Draft7Validator(schema).iter_errors(manifest), key=lambda e: list(e.path))
    assert [f"{list(e.path)}: {e.message}" for e in errors] == []


def test_slash_command_and_modes(manifest: dict[str, Any]) -> None:
    commands = manifest["features"]["slash_commands"]
    assert [c["command"] for c in commands] == ["/papers"]
    assert commands[0]["description"] and commands[0]["usage_hint"]
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["features"]["bot_user"]["display_name"]
    assert manifest["features"]["app_home"]["messages_tab_enabled"] is True  # people can DM the bot


def test_scopes_and_events_are_exactly_what_the_bot_uses(manifest: dict[str, Any]) -> None:
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    # Each scope, and why the code needs it.
    assert scopes == {
        "commands",  # /papers
        "chat:write",  # digests, answers to mentions and DMs, chat.update of edited papers
        "app_mentions:read",  # app_mention
        "channels:history",  # message.channels (thread replies) + conversations.history (crash recovery)
        "groups:history",  # the same in private channels
        "im:history",  # message.im (questions by direct message)
        "channels:read",  # conversations.list / .info: DIGEST_CHANNEL(S) checked at start
        "groups:read",  # the same for private channels
        "links:read",  # link_shared: arXiv links pasted anywhere the bot is
        "links:write",  # chat.unfurl: the archive's card under them
        "files:write",  # files_upload_v2: the recap's chart, /papers trends, /papers saved bibtex
        "im:write",  # conversations.open: the weekly DM, BibTeX and trends charts in a person's DM
        "reactions:read",  # reaction_added / reaction_removed: votes
        "assistant:write",  # assistant.threads.setStatus / setSuggestedPrompts / setTitle: the panel
    }
    assert events == {
        "app_mention",
        "link_shared",
        "message.channels",
        "message.groups",
        "message.im",
        "app_home_opened",  # the Home tab (views.publish)
        "reaction_added",  # votes
        "reaction_removed",
        "assistant_thread_started",  # the assistant panel: greeting and suggested prompts
        "assistant_thread_context_changed",
    }
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


def test_the_assistant_panel_is_declared_and_its_plan_said(manifest: dict[str, Any]) -> None:
    view = manifest["features"]["assistant_view"]
    assert view["assistant_description"] and 1 <= len(view["suggested_prompts"]) <= 4
    assert all(p["title"] and p["message"] for p in view["suggested_prompts"])
    text = MANIFEST.read_text(encoding="utf-8")
    assert "paid" in manifest["display_information"]["long_description"] and "every plan" in text


def test_arxiv_links_are_unfurled(manifest: dict[str, Any]) -> None:
    assert manifest["features"]["unfurl_domains"] == ["arxiv.org"]
