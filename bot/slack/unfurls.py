"""arXiv link unfurls: `link_shared` → the archive's card under the message, via `chat.unfurl`.

Someone pastes an arXiv link (`abs/`, `pdf/`, `html/`, with or without a
version) anywhere the bot is: Slack sends `link_shared` with the message's
links (only for the `unfurl_domains` of the manifest). The listener only
acknowledges and queues: the look-up (paper, thread) runs on the answers
queue and the `chat.unfurl` call on the deliveries queue, like every other
answer. A full answers queue answers the event 503, so Slack delivers it
again later instead of it being lost; Slack's own retries of an event
already handled are recognised by event id and ignored.

Papers the archive lacks are left out (Slack's own preview stays); a message
with several links gets one unfurl per known paper, at most `MAX_UNFURLS`.
"""

from __future__ import annotations

import http.client
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from slack_bolt import App, BoltResponse
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine

from bot.archive import arxiv_id_from_url
from bot.engagement import discussion
from bot.model import Paper
from bot.render.unfurls import paper_unfurl
from bot.slack.work import Workers

log = logging.getLogger(__name__)

#: Unfurls attached to one message at most: a message pasting a reading list
#: gets previews for its first few papers, not a wall of cards.
MAX_UNFURLS = 5
#: Links read from one event at most (the rest are not even parsed).
MAX_LINKS = 50
#: The longest URL worth parsing (arXiv's are far shorter).
MAX_URL = 2000


class Papers(Protocol):
    """Where papers are read from (`Catalog`)."""

    def paper(self, arxiv_id: str) -> Paper | None: ...


class Seen(Protocol):
    """Event ids handled lately (`bot.slack.app._SeenEvents`)."""

    def first_time(self, event_id: str | None) -> bool: ...

    def forget(self, event_id: str | None) -> None: ...


@dataclass(frozen=True, slots=True)
class UnfurlTarget:
    """Where `chat.unfurl` attaches: a posted message (channel + ts) or the composer (unfurl_id + source)."""

    channel: str | None = None
    ts: str | None = None
    unfurl_id: str | None = None
    source: str | None = None

    def as_kwargs(self) -> dict[str, str]:
        if self.unfurl_id and self.source:
            return {"unfurl_id": self.unfurl_id, "source": self.source}
        return {"channel": self.channel or "", "ts": self.ts or ""}


def target_of(event: Mapping[str, Any]) -> UnfurlTarget | None:
    """Where to attach the unfurls of a `link_shared` event; None when the event says nowhere."""
    unfurl_id, source = _text(event.get("unfurl_id")), _text(event.get("source"))
    channel, ts = _text(event.get("channel")), _text(event.get("message_ts"))
    if source == "composer" and unfurl_id:
        return UnfurlTarget(unfurl_id=unfurl_id, source=source)
    if channel and ts:
        return UnfurlTarget(channel=channel, ts=ts)
    if unfurl_id and source:
        return UnfurlTarget(unfurl_id=unfurl_id, source=source)
    return None


def arxiv_links(links: Any) -> list[tuple[str, str]]:
    """(url, arXiv id) of each arXiv link in the event, in order, one per paper, at most `MAX_UNFURLS`.

    Anything that is not a list of `{"url": str}` objects is skipped, whatever it holds.
    """
    found: list[tuple[str, str]] = []
    ids: set[str] = set()
    for item in links[:MAX_LINKS] if isinstance(links, list) else []:
        url = item.get("url") if isinstance(item, Mapping) else None
        if not isinstance(url, str) or not url or len(url) > MAX_URL:
            continue
        arxiv_id = arxiv_id_from_url(url)
        if arxiv_id is None or arxiv_id in ids:
            continue
        ids.add(arxiv_id)
        found.append((url, arxiv_id))
        if len(found) == MAX_UNFURLS:
            break
    return found


def unfurls_for(
    links: Sequence[tuple[str, str]], papers: Papers, engine: Engine, *, lang: str, channel: str | None = None
) -> dict[str, dict[str, Any]]:
    """url -> its unfurl, for the links whose paper the archive holds (one thread query for all)."""
    known = [(url, paper) for url, arxiv_id in links if (paper := papers.paper(arxiv_id)) is not None]
    if not known:
        return {}
    threads = discussion.threads_for(engine, [p.arxiv_id for _, p in known], channel=channel)
    return {url: paper_unfurl(paper, lang=lang, thread=threads.get(paper.arxiv_id)) for url, paper in known}


def register(
    app: App,
    *,
    papers: Papers,
    engine: Engine,
    client: WebClient,
    work: Workers,
    seen: Seen,
    lang: str,
) -> None:
    """Add the `link_shared` listener to `app`."""

    @app.event("link_shared")
    def link_shared(event: Mapping[str, Any], body: Mapping[str, Any]) -> BoltResponse | None:
        target = target_of(event)
        links = arxiv_links(event.get("links"))
        if target is None or not links:
            return None
        event_id = body.get("event_id")
        if not seen.first_time(event_id if isinstance(event_id, str) else None):
            return None
        what = f"unfurl of {len(links)} link(s) in {target.channel or 'the composer'}"
        channel = target.channel

        def answer() -> None:
            started = time.perf_counter()
            unfurls = unfurls_for(links, papers, engine, lang=lang, channel=channel)
            log.debug("%s: %d known, worked out in %.1f ms", what, len(unfurls), (time.perf_counter() - started) * 1000)
            if unfurls:
                work.send(lambda: _unfurl(client, target, unfurls), what)

        if not work.answers.submit(answer, what):
            seen.forget(event_id if isinstance(event_id, str) else None)
            log.warning("answers are backed up: asking Slack to deliver the %s again later", what)
            return BoltResponse(status=503, body="busy: deliver this event again later")
        return None


def _unfurl(client: WebClient, target: UnfurlTarget, unfurls: dict[str, dict[str, Any]]) -> None:
    try:
        if target.unfurl_id and target.source:
            client.chat_unfurl(unfurl_id=target.unfurl_id, source=target.source, unfurls=unfurls)
        else:
            client.chat_unfurl(channel=target.channel, ts=target.ts, unfurls=unfurls)
    except SlackApiError as err:
        log.warning("could not unfurl in %s: %s", target.channel or "the composer", err.response.get("error"))
    except (OSError, http.client.HTTPException) as err:  # network: logged, the worker lives on
        log.warning("could not unfurl in %s: %s", target.channel or "the composer", err)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
