"""Uploading a file for a person: into a channel, or into their DM with the bot.

Both `/papers saved bibtex` (the .bib file) and `/papers trends` (the chart)
upload with `files_upload_v2`, the DM opened first with `conversations.open`
(an ephemeral answer cannot hold a file). Each caller decides what a failure
means (BibTeX falls back to text, the chart says so in one line), so these
return Slack's error code rather than raise.
"""

from __future__ import annotations

import http.client
import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

log = logging.getLogger(__name__)

#: The error code for a network failure (Slack sent no error of its own).
UNREACHABLE = "unreachable"


def upload(
    client: WebClient,
    channel: str,
    *,
    content: bytes,
    filename: str,
    title: str,
    initial_comment: str,
    alt_txt: str | None = None,
) -> str | None:
    """Upload `content` into `channel`; None when it went, else Slack's error code (or `UNREACHABLE`)."""
    try:
        client.files_upload_v2(
            channel=channel, content=content, filename=filename, title=title, initial_comment=initial_comment,
            alt_txt=alt_txt,
        )
    except SlackApiError as err:
        return str(err.response.get("error") or "error")
    except (SlackRequestError, OSError, http.client.HTTPException) as err:
        log.warning("could not upload %s to %s: %s", filename, channel, err)
        return UNREACHABLE
    return None


def open_dm(client: WebClient, user: str) -> tuple[str | None, str | None]:
    """(the DM channel with `user`, None), or (None, Slack's error code) when it cannot be opened."""
    try:
        return str(client.conversations_open(users=user)["channel"]["id"]), None
    except SlackApiError as err:
        return None, str(err.response.get("error") or "error")
    except (SlackRequestError, OSError, http.client.HTTPException) as err:
        log.warning("could not open a DM with %s: %s", user, err)
        return None, UNREACHABLE
    except (KeyError, TypeError):  # a 200 without the channel: Slack's answer was not what the API says
        return None, "invalid_response"


def upload_to_dm(
    client: WebClient,
    user: str,
    *,
    content: bytes,
    filename: str,
    title: str,
    initial_comment: str,
    alt_txt: str | None = None,
) -> str | None:
    """Upload `content` into `user`'s DM with the bot; None when it went, else the error code."""
    channel, error = open_dm(client, user)
    if channel is None:
        return error
    return upload(
        client, channel, content=content, filename=filename, title=title, initial_comment=initial_comment,
        alt_txt=alt_txt,
    )
