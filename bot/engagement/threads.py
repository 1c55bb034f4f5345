"""Which paper a thread is about: the one query on posts that replies and votes both rest on.

`discussion` counts replies in a paper's thread and `votes` counts reactions on
the paper's message; both first ask whether the message is one of the bot's
paper posts. Kept below both, so neither imports the other for it.
"""

from __future__ import annotations

from sqlalchemy import Engine, select

from bot.store.posts import posts


def paper_for_thread(engine: Engine, channel: str, thread_ts: str) -> str | None:
    """The arXiv id of the paper whose message starts this thread, if the bot posted one."""
    query = select(posts.c.arxiv_id).where(
        posts.c.channel == channel,
        posts.c.ts == thread_ts,
        posts.c.kind == "paper",
        posts.c.state == "posted",
    )
    with engine.connect() as conn:
        return conn.execute(query).scalar()
