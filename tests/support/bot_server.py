"""Run the real bot in HTTP mode on a free port, in-process, for end-to-end tests.

The bot is assembled exactly as `digest-bot run` assembles it (`bot.runtime.service`),
served by uvicorn through the same ASGI app, and talks to a `FakeSlack`.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from sqlalchemy import Engine

from bot.config import Settings
from bot.runtime.service import Bot, assemble, health, lookup_client, slack_app, start_workers
from bot.slack.http import create_asgi_app, server_config
from bot.slack.work import Workers
from bot.store import open_engine, sync_archive
from bot.store.health import StoreWatch
from tests.support.fake_slack import FakeSlack
from tests.support.slack_requests import (
    FORM,
    JSON,
    block_actions_body,
    event_body,
    post,
    sign,
    slash_command_body,
)

SECRET = "test-signing-secret"


def settings_for(fake: FakeSlack, **overrides: Any) -> Settings:
    """Settings as a team would write them in .env, pointed at the fake Slack."""
    values = {
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "DIGEST_CHANNEL": "C0SD",
        **overrides,
    }
    return Settings(_env_file=None, **values)


@dataclass
class RunningBot:
    """A bot serving HTTP on `url`, and handles to poke it with."""

    url: str
    bot: Bot
    engine: Engine
    fake: FakeSlack
    workers: Workers
    secret: str = SECRET

    @property
    def events_url(self) -> str:
        return f"{self.url}/slack/events"

    def send(self, body: bytes, content_type: str, *, secret: str | None = None, timestamp: int | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        """POST a request to /slack/events, signed with `secret` (default: the bot's)."""
        signed = sign(secret or self.secret, body, timestamp) if secret != "" else {}
        return post(self.events_url, body, {**signed, **(headers or {})}, content_type)

    def command(self, text: str, **options: Any) -> tuple[int, str]:
        """A signed `/papers <text>`; returns (HTTP status, response_url) to watch."""
        response_url = self.fake.new_response_url()
        body = slash_command_body(text, response_url=response_url, **options)
        status, _, _ = self.send(body, FORM)
        return status, response_url

    def click(self, action_id: str, value: str, **options: Any) -> tuple[int, str]:
        response_url = self.fake.new_response_url()
        body = block_actions_body(action_id, value, response_url=response_url, **options)
        status, _, _ = self.send(body, FORM)
        return status, response_url

    def event(self, event: dict[str, Any], **options: Any) -> int:
        status, _, _ = self.send(event_body(event, **options), JSON)
        return status

    def answer(self, response_url: str, timeout: float = 10.0, count: int = 1) -> list[dict[str, Any]]:
        """The payloads posted to `response_url` once `count` have arrived."""
        return self.fake.wait_for(lambda: (r := self.fake.responses(response_url)) and len(r) >= count and r, timeout)


@contextmanager
def running_bot(
    fake: FakeSlack,
    archive: Path,
    tmp: Path,
    *,
    db_url: str | None = None,
    now: Callable[[], dt.datetime] | None = None,
    **overrides: Any,
) -> Iterator[RunningBot]:
    """Index `archive` into a store and serve the bot until the block ends.

    `db_url` shares a store between several bots (replicas); by default each
    gets a fresh SQLite file in `tmp`. `now` is the bot's clock ("this week").
    The search index goes to `tmp` too (DIGEST_INDEX_DIR), never the checkout's data/.
    """
    overrides.setdefault("DIGEST_INDEX_DIR", str(tmp / "search-index"))
    settings = settings_for(fake, **overrides)
    engine = open_engine(db_url or f"sqlite:///{tmp / 'bot.sqlite3'}")
    sync_archive(engine, archive)
    clock = {"now": now} if now is not None else {}
    bot = assemble(settings, engine, search_refresh=0.0, **clock)
    bot.search.engine()
    workers = start_workers(settings)
    app = slack_app(bot, lookup_client(settings), bot_user_id="U0BOT", workers=workers)
    watch = StoreWatch(engine)
    asgi = create_asgi_app(app, signing_secret=SECRET, health=health(bot, workers, watch))
    server = uvicorn.Server(server_config(asgi, host="127.0.0.1", port=0))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the bot's HTTP server did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield RunningBot(f"http://127.0.0.1:{port}", bot, engine, fake, workers)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        workers.close()
        bot.close()
        watch.stop()
        engine.dispose()
