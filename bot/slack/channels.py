"""Every configured channel resolved and checked before the bot posts: fail fast, say the fix.

`DIGEST_CHANNEL` and `DIGEST_CHANNELS` take a channel id (`C0123ABCD`) or a
name (`#general`, `general`). A name is looked up among the channels the bot
can see (`conversations.list`), an id is read with `conversations.info`;
either way the channel must exist, be unarchived and have the bot in it.
Anything else is one line naming the setting and what to do, before a single
message is posted, instead of a failure on posting day. The posts are then
recorded under the channel's id, whatever the setting spelled.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine

from bot.config import Settings
from bot.store.channel_names import channel_ids, save_channel_ids

#: What `conversations.info` / `.list` need; the manifest asks for both.
READ_SCOPES = ("channels:read", "groups:read")
_ID_RE = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_LIST_PAGE = 1000


class ChannelsNotReady(Exception):
    """Some configured channel cannot be posted to; `problems` has one line per fix."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class _Ref:
    """One configured channel: the setting it comes from and what it says."""

    setting: str  # "DIGEST_CHANNEL" or "DIGEST_CHANNELS sd=#foo"
    given: str

    @property
    def is_id(self) -> bool:
        return bool(_ID_RE.match(self.given))

    @property
    def name(self) -> str:
        return self.given.removeprefix("#").lower()


def _refs(settings: Settings) -> Iterator[_Ref]:
    if settings.channel:
        yield _Ref("DIGEST_CHANNEL", settings.channel)
    for slug, channel in settings.channels.items():
        yield _Ref(f"DIGEST_CHANNELS {slug}={channel}", channel)


def resolve_channels(client: WebClient, settings: Settings, *, bot_name: str = "digest-bot") -> Settings:
    """The settings with every channel as its id, or `ChannelsNotReady` saying what to fix."""
    refs = list(_refs(settings))
    problems: list[str] = []
    resolved: dict[str, str] = {}
    by_name: dict[str, dict[str, Any]] | None = None
    for ref in refs:
        if ref.given in resolved:
            continue
        try:
            if ref.is_id:
                channel = _info(client, ref)
            else:
                if by_name is None:
                    by_name = _visible_channels(client)
                channel = by_name.get(ref.name)
                if channel is None:
                    problems.append(
                        f"{ref.setting}: no channel named #{ref.name} that the bot can see; check the "
                        f"name, or use the channel's id (its details → About, at the bottom); a private "
                        f"channel needs /invite @{bot_name} first"
                    )
                    continue
        except _Refused as refused:  # every other channel would fail alike (token, scope, network)
            raise ChannelsNotReady([*problems, refused.line]) from None
        if channel is None:
            problems.append(
                f"{ref.setting}: there is no channel {ref.given} in this workspace (or it is private and "
                f"the bot is not in it); copy the id from the channel's details (About, at the bottom)"
            )
            continue
        label = f"#{channel.get('name') or ref.name} ({channel['id']})"
        if channel.get("is_archived"):
            problems.append(f"{ref.setting}: {label} is archived; unarchive it or choose another channel")
        elif not channel.get("is_member") and not channel.get("is_im"):
            problems.append(
                f"{ref.setting}: the bot is not in {label}; in Slack, type /invite @{bot_name} "
                f"in #{channel.get('name') or ref.name}"
            )
        else:
            resolved[ref.given] = str(channel["id"])
    if problems:
        raise ChannelsNotReady(problems)
    return with_ids(settings, resolved)


def channels_as_ids(
    settings: Settings, engine: Engine, client: WebClient | None = None, *, bot_name: str = "digest-bot"
) -> Settings:
    """The settings with every channel as the id its posts are recorded under: the one way
    every command (`run`, `post`, `post --dry-run`, `status`, `recap`, preview) reads
    DIGEST_CHANNEL(S), so that none of them plans for `#general` while the posts are under `C…`.

    With a Slack `client` each channel is looked up and checked (`resolve_channels`:
    `ChannelsNotReady` says what to fix) and what names resolved to is remembered in
    the store. Without one (commands that ask no Slack) names become the ids they
    last resolved to; a name never looked up stays as it is (`unresolved`).
    """
    if client is not None:
        resolved = resolve_channels(client, settings, bot_name=bot_name)
        save_channel_ids(engine, resolved_ids(settings, resolved))
        return resolved
    known = channel_ids(engine)
    by_name = {_Ref("", given).name: cid for given, cid in known.items()}
    ids = {
        ref.given: known.get(ref.given) or by_name[ref.name]
        for ref in _refs(settings)
        if not ref.is_id and (ref.given in known or ref.name in by_name)
    }
    return with_ids(settings, ids)


def unresolved(settings: Settings) -> list[str]:
    """The channel settings still naming a channel rather than its id (`channels_as_ids`
    without Slack left them: never looked up), e.g. `DIGEST_CHANNEL #general`."""
    return [
        f"DIGEST_CHANNEL {ref.given}" if ref.setting == "DIGEST_CHANNEL" else ref.setting
        for ref in _refs(settings)
        if not ref.is_id
    ]


def with_ids(settings: Settings, ids: Mapping[str, str]) -> Settings:
    """The settings with each channel replaced by its id where `ids` knows it."""
    return settings.model_copy(
        update={
            "channel": ids.get(settings.channel, settings.channel) if settings.channel else None,
            "channels": {slug: ids.get(c, c) for slug, c in settings.channels.items()},
        }
    )


def resolved_ids(before: Settings, after: Settings) -> dict[str, str]:
    """What each configured channel resolved to (`resolve_channels`' before and after)."""
    pairs = {before.channel: after.channel} if before.channel and after.channel else {}
    pairs.update((before.channels[slug], cid) for slug, cid in after.channels.items() if slug in before.channels)
    return {str(k): str(v) for k, v in pairs.items()}


class _Refused(Exception):
    """Slack said no (or could not be reached) for a reason no channel setting fixes."""

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line


class _NotFound(Exception):
    pass


def _call(client: WebClient, method: str, **params: Any) -> dict[str, Any]:
    """`conversations.info` or `.list`; Slack's refusals as the line that fixes them."""
    call = client.conversations_info if method == "conversations.info" else client.conversations_list
    try:
        return dict(call(**params).data)  # type: ignore[arg-type]
    except SlackApiError as err:
        error = str(err.response.get("error") or "unknown_error")
        if error == "missing_scope":
            needed = err.response.get("needed") or " and ".join(READ_SCOPES)
            raise _Refused(
                f"Slack refused {method} (missing_scope {needed}): the bot needs the scopes "
                f"{' and '.join(READ_SCOPES)} to check DIGEST_CHANNEL(S); add them under OAuth & "
                "Permissions (manifest.yaml lists them) and reinstall the app") from None
        if error in ("invalid_auth", "not_authed", "token_revoked", "account_inactive"):
            raise _Refused(
                f"Slack refused SLACK_BOT_TOKEN ({error}): copy the Bot User OAuth Token again") from None
        if error == "channel_not_found":
            raise _NotFound() from None
        raise _Refused(f"Slack refused {method} ({error}) while checking the channels") from None
    except OSError as err:
        raise _Refused(f"cannot reach Slack to check the channels: {err}") from None


def _info(client: WebClient, ref: _Ref) -> dict[str, Any] | None:
    try:
        return dict(_call(client, "conversations.info", channel=ref.given)["channel"])
    except _NotFound:
        return None


def _visible_channels(client: WebClient) -> dict[str, dict[str, Any]]:
    """Every public channel, and the private ones the bot is in, by name (unarchived first)."""
    found: dict[str, dict[str, Any]] = {}
    cursor = ""
    while True:
        params: dict[str, Any] = {
            "types": "public_channel,private_channel",  # archived too: to say so, not "not found"
            "limit": _LIST_PAGE,
        }
        if cursor:
            params["cursor"] = cursor
        try:
            page = _call(client, "conversations.list", **params)
        except _NotFound:
            return found
        for channel in page.get("channels") or []:
            if isinstance(channel, dict) and channel.get("name") and channel.get("id"):
                name = str(channel["name"]).lower()
                if name not in found or found[name].get("is_archived"):
                    found[name] = channel
        cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
        if not cursor:
            return found
