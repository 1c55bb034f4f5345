"""Answers to `/papers …`, the same in Slack and in the terminal's preview mode.

`parse_command` reads what a person typed (never raising, whatever it is);
`Lookup` turns it into a rendered message using the store, the search engine
and the thread counts. Nothing here talks to Slack: the Bolt listeners and the
preview REPL both call `Lookup` and deliver what it returns.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from sqlalchemy import Engine

from bot.archive import parse_arxiv_id
from bot.ask.asker import Asker
from bot.ask.question import clean_text, is_question
from bot.engagement import discussion, votes
from bot.i18n import t
from bot.model import Paper, ThreadInfo, Topic
from bot.render import (
    error_message,
    help_message,
    paper_detail,
    search_results,
    shared_paper,
    topic_list,
    topic_not_found,
    topic_week,
    week_overview,
)
from bot.render.answer import answer_message
from bot.render.blocks import Message, context
from bot.render.help import ask_help
from bot.render.hot import hot_papers
from bot.render.trends import trends_message
from bot.search import LiveSearch
from bot.store import Catalog, WeekStats
from bot.weekly.trends import Trends, find_topic, trends

log = logging.getLogger(__name__)

Kind = Literal[
    "search", "topic", "topics", "author", "cat", "week", "id", "hot", "trends", "help",
    "follow", "following", "unfollow", "saved", "forget", "ask",
]
#: A person's own commands (`bot.personal.answers`): they need to know who asked.
PERSONAL_KINDS: frozenset[Kind] = frozenset({"follow", "following", "unfollow", "saved", "forget"})

#: Longer queries are shortened (and the user told): nobody types more, and
#: a 10,000-character "query" should cost nothing.
MAX_QUERY = 500
PAGE_SIZE = 5

_KEYWORDS: dict[str, Kind] = {
    "topic": "topic",
    "トピック": "topic",
    "topics": "topics",
    "トピック一覧": "topics",
    "author": "author",
    "著者": "author",
    "cat": "cat",
    "category": "cat",
    "カテゴリ": "cat",
    "week": "week",
    "週": "week",
    "id": "id",
    "arxiv": "id",
    "hot": "hot",
    "trends": "trends",
    "trend": "trends",
    "傾向": "trends",
    "トレンド": "trends",
    "help": "help",
    "ヘルプ": "help",
    "follow": "follow",
    "フォロー": "follow",
    "following": "following",
    "follows": "following",
    "フォロー中": "following",
    "unfollow": "unfollow",
    "フォロー解除": "unfollow",
    "saved": "saved",
    "save": "saved",
    "保存": "saved",
    "forget": "forget",
    "ask": "ask",
    "質問": "ask",
    "?": "help",
    "？": "help",
}


@dataclass(frozen=True, slots=True)
class Command:
    """What `/papers <text>` asks for: a kind, its argument, and what was changed in it."""

    kind: Kind
    arg: str = ""
    shortened: bool = False


def parse_command(text: str | None) -> Command:
    """Read `/papers` text: a subcommand keyword first, else a search."""
    cleaned = clean_text(text or "")
    shortened = len(cleaned) > MAX_QUERY
    if shortened:
        cleaned = cleaned[:MAX_QUERY].rstrip()
    if not cleaned:
        return Command("help")
    first, _, rest = cleaned.partition(" ")
    kind = _KEYWORDS.get(first.casefold())
    if kind is None:
        return Command("search", cleaned, shortened)
    return Command(kind, rest.strip(), shortened)


class Lookup:
    """Renders the answer to every kind of `/papers` request."""

    def __init__(
        self,
        catalog: Catalog,
        search: LiveSearch,
        engine: Engine,
        *,
        lang: str = "en",
        today: Callable[[], dt.date] = dt.date.today,
        now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
        page_size: int = PAGE_SIZE,
        asker: Asker | None = None,
    ) -> None:
        self.catalog = catalog
        self.asker = asker
        self.search_index = search
        self.engine = engine
        self.lang = lang
        self.today = today
        self.now = now
        self.page_size = page_size

    # Entry points --------------------------------------------------------

    def answer(self, text: str | None) -> Message:
        """The reply to `/papers <text>` (never raises: failures become a polite error)."""
        command = parse_command(text)
        try:
            return self._dispatch(command)
        except Exception:  # a bug or a store outage must not leave the user without an answer
            log.exception("lookup failed for %r", command)
            return error_message("search_failed", lang=self.lang)

    def _dispatch(self, command: Command) -> Message:
        arg = command.arg
        if command.kind == "search":
            return self.search(arg, shortened=command.shortened)
        if command.kind == "help":
            return help_message(lang=self.lang)
        if command.kind == "topics":
            return topic_list(self.catalog.topics(), lang=self.lang)
        if command.kind == "topic":
            return self.topic(arg) if arg else topic_list(self.catalog.topics(), lang=self.lang)
        if command.kind == "author":
            return self.search(f'author:"{_unquote(arg)}"') if arg else help_message(lang=self.lang)
        if command.kind == "cat":
            return self.search(f"cat:{arg.split()[0]}") if arg else help_message(lang=self.lang)
        if command.kind == "week":
            return self.week(arg)
        if command.kind == "id":
            return self.paper(arg)
        if command.kind == "trends":
            return self.trends(arg)[0]
        if command.kind == "ask":
            return self.ask(arg)
        if command.kind in PERSONAL_KINDS:  # answered by the Slack app, which knows who asked
            return _needs_user(self.lang)
        return self.hot(arg)

    def search(self, query: str, offset: int = 0, *, shortened: bool = False) -> Message:
        # `SearchEngine.search` bounds the offset (MAX_OFFSET), whoever calls.
        # A sentence (`/papers can we detect generated images?`) is searched as a question:
        # the papers closest to it rather than nothing when none holds all its words, found
        # as answers find them (by meaning too, with DIGEST_DENSE).
        question = is_question(query)
        if question and self.asker is not None:
            response, _concepts = self.asker.retrieve(query, limit=self.page_size, offset=offset)
        else:
            response = self.search_index.engine().search(query, limit=self.page_size, offset=offset, question=question)
        if shortened:
            notice = error_message("query_too_long", lang=self.lang, n=MAX_QUERY)["text"]
            response = replace(response, notices=(*response.notices, notice))
        return search_results(
            response, lang=self.lang, threads=self._threads(h.paper for h in response.hits), page_size=self.page_size
        )

    def topic(self, name: str) -> Message:
        """The newest digest of the topic `name` (slug, Japanese or English, fuzzy)."""
        engine = self.search_index.engine()
        topic, _labels = engine.resolve_topic(name)
        if topic is None:
            topics = [s.topic for s in self.catalog.topics()]
            return topic_not_found(name, _suggested(_labels, topics), topics, lang=self.lang)
        return self.topic_page(topic.slug, None, 0)

    def topic_page(self, slug: str, week: dt.date | None, offset: int) -> Message:
        digests = self.catalog.digests(slug=slug, with_papers=False)
        if not digests:
            topic = self.catalog.topic(slug)
            return error_message("no_digest", lang=self.lang, topic=topic.label if topic else slug)
        start = week or digests[0].week_start
        digest = self.catalog.digest(slug, start)
        if digest is None:
            return error_message("week_not_found", lang=self.lang, date=start.isoformat())
        threads = self._threads(digest.papers)
        return topic_week(digest, lang=self.lang, threads=threads, page_size=self.page_size, offset=offset)

    def week(self, arg: str) -> Message:
        """A week's overview: `this`, `last`, a date in it, or the newest week."""
        weeks = self.catalog.weeks()
        if not weeks:
            return error_message("week_not_found", lang=self.lang, date=self.today().isoformat())
        word = arg.strip().casefold()
        if not word:
            return self.week_page(weeks[0].week_start, 0)
        relative = word in ("this", "今週", "last", "先週")
        if word in ("this", "今週"):
            day = self.today()
        elif word in ("last", "先週"):
            day = self.today() - dt.timedelta(days=7)
        else:
            parsed = _date(word)
            if parsed is None:
                return error_message("bad_week", lang=self.lang, text=arg)
            day = parsed
        found = _week_containing(weeks, day)
        if found is None and relative:
            # The calendar ran ahead of the archive (its editors are late, or it
            # stopped): the newest week up to that day, saying so, not a dead end.
            found = next((w for w in weeks if w.week_start <= day), None)
            if found is not None:
                notice = t(self.lang, "week_newest_instead", date=day.isoformat())
                return self.week_page(found.week_start, 0, notice=notice)
        if found is None:
            return error_message("week_not_found", lang=self.lang, date=day.isoformat())
        return self.week_page(found.week_start, 0)

    def week_page(self, week_start: dt.date, offset: int, *, notice: str | None = None) -> Message:
        stats = next((w for w in self.catalog.weeks() if w.week_start == week_start), None)
        if stats is None:
            return error_message("week_not_found", lang=self.lang, date=week_start.isoformat())
        digests = self.catalog.digests(week=week_start, with_papers=True)
        threads = self._threads(p for d in digests for p in d.papers)
        return week_overview(
            stats,
            digests,
            lang=self.lang,
            threads=threads,
            page_size=self.page_size,
            offset=offset,
            notice=notice,
        )

    def paper(self, text: str) -> Message:
        arxiv_id = parse_arxiv_id(text)
        if arxiv_id is None:
            return error_message("bad_paper_id", lang=self.lang, text=text or "…")
        found = self.catalog.paper(arxiv_id)
        if found is None:
            return error_message("paper_not_found", lang=self.lang, id=arxiv_id)
        return paper_detail(found, lang=self.lang, thread=discussion.thread_for(self.engine, arxiv_id))

    def hot(self, period: str) -> Message:
        """`/papers hot [votes] [week|month]`: replies and votes together, or votes alone."""
        words = period.strip().casefold().split()
        by_votes = bool(words) and words[0] in _VOTE_WORDS
        word = (words[1:] if by_votes else words)[:1] or ["week"]
        if len(words) > (2 if by_votes else 1) or word[0] not in ("week", "month", "週", "月"):
            return error_message("bad_period", lang=self.lang, text=period)
        window: Literal["week", "month"] = "month" if word[0] in ("month", "月") else "week"
        since = discussion.window_start(window, self.now())
        if by_votes:
            voted = votes.top_voted(self.engine, since, limit=10)
            threads = discussion.threads_for(self.engine, [a for a, _ in voted])
            items = [
                discussion.HotActivity(a, threads[a].reply_count, threads[a].participants, threads[a], n)
                for a, n in voted
                if a in threads
            ]
        else:
            items = discussion.hot(self.engine, since, limit=10)
        found = {p.arxiv_id: p for p in self.catalog.papers([i.arxiv_id for i in items])}
        rows = [
            i.with_paper(found[i.arxiv_id])
            for i in items
            if i.arxiv_id in found
        ]
        return hot_papers(rows, lang=self.lang, period=window, by="votes" if by_votes else "discussion")

    def trends(self, arg: str, *, share: bool = False, note: str | None = None) -> tuple[Message, Trends]:
        """`/papers trends [topic]`: the numbers as a message, and the `Trends` its chart is drawn from.

        The topic is read like `/papers topic` (slug, Japanese or English, fuzzy);
        one that matches nothing shows every topic, saying so.
        """
        slug, missing = self.trends_topic(arg)
        today = self.today()
        data = trends(self.catalog, until=today, topic=slug, today=today)  # "this week" only if it is
        message = trends_message(
            data, lang=self.lang, topic_missing=missing, share=(slug or "*") if share else None, note=note
        )
        return message, data

    def trends_topic(self, arg: str) -> tuple[str | None, str | None]:
        """(the topic's slug or None for every topic, the text that matched no topic)."""
        words = clean_text(arg)
        if not words or words == "*":
            return None, None
        found = find_topic(self.catalog, words)
        if found is None:
            found, _labels = self.search_index.engine().resolve_topic(words)
        return (found.slug, None) if found is not None else (None, words)

    def share(self, arxiv_id: str, user_id: str) -> Message | None:
        """The card posted for everyone by "Share in channel" (None: unknown paper)."""
        found = self.catalog.paper(arxiv_id)
        if found is None:
            return None
        return shared_paper(found, user_id=user_id, lang=self.lang, thread=discussion.thread_for(self.engine, arxiv_id))

    def ask(self, question: str, *, share: bool = False) -> Message:
        """`/papers ask <question>`: the archive's answer with numbered sources (help without a question)."""
        if not question.strip() or self.asker is None:
            return ask_help(lang=self.lang)
        return answer_message(self.asker.ask(question), lang=self.lang, share=share)

    # Questions inside a paper's thread ------------------------------------

    def about_paper(self, arxiv_id: str, question: str) -> Message:
        """A mention in a paper's thread: the full card, its comment, related papers,
        or a search when the question is about something else."""
        found = self.catalog.paper(arxiv_id)
        if found is None:
            return self.answer(question)
        words = clean_text(question)
        intent = thread_intent(words)
        if intent == "search":
            return self.search(words)
        if intent == "related":
            return self._related(found)
        if intent == "comment":
            return _with_comment(paper_detail(found, lang=self.lang), found, self.lang)
        return paper_detail(found, lang=self.lang, thread=discussion.thread_for(self.engine, arxiv_id))

    def _related(self, paper: Paper) -> Message:
        """Papers like this one: the terms of its own text that tell it apart, both languages."""
        related = self.search_index.engine().related(paper.arxiv_id, limit=self.page_size)
        hits = related.hits
        return search_results(related, lang=self.lang, threads=self._threads(h.paper for h in hits), page_size=self.page_size)

    def _threads(self, papers: Iterable[Paper]) -> dict[str, ThreadInfo]:
        ids = list(dict.fromkeys(p.arxiv_id for p in papers))
        return discussion.threads_for(self.engine, ids) if ids else {}


_VOTE_WORDS = ("votes", "vote", "voted", "投票", "票")


def _needs_user(lang: str) -> Message:
    """A person's own command where nobody is known to have asked (the terminal's preview)."""
    from bot.render.personal import notice

    return notice("personal_needs_user", lang=lang)


def _suggested(labels: Sequence[str], topics: Sequence[Topic]) -> list[Topic]:
    """The topics behind the engine's "did you mean" labels (`合成データ (Synthetic Data) [sd]`)."""
    by_slug = {t.slug: t for t in topics}
    slugs = [m.group(1) for m in (re.search(r"\[([^\]]+)\]$", label) for label in labels) if m]
    return [by_slug[s] for s in slugs if s in by_slug]


#: Words naming what a mention in a paper's thread asks for: the card, related papers, the
#: comment; and words that only point at the paper (`this paper`, `pages`), which a question
#: answered from the archive may use too (`named` leaves them out).
_CARD_WORDS = ("card", "summary", "要約", "カード")
_POINTING_WORDS = ("details", "this paper", "詳細", "この論文")
_RELATED_WORDS = ("related", "similar", "関連", "似た", "類似")
_COMMENT_WORDS = ("comment", "コメント", "venue", "accepted", "採択")
_POINTING_COMMENT_WORDS = ("pages",)


def thread_intent(question: str, *, named: bool = False) -> Literal["card", "comment", "related", "search"]:
    """What a mention in a paper's thread asks for (the paper itself unless clearly not).

    `named`: only what the words name outright counts ("what does this paper assume?" is
    then a question to answer, not a request for the card).
    """
    text = re.sub(r"<@[A-Z0-9]+>", " ", question).casefold().strip()
    card = _CARD_WORDS if named else _CARD_WORDS + _POINTING_WORDS
    comment = _COMMENT_WORDS if named else _COMMENT_WORDS + _POINTING_COMMENT_WORDS
    if not text or any(w in text for w in card):
        return "card"
    if any(w in text for w in _RELATED_WORDS):
        return "related"
    if any(w in text for w in comment):
        return "comment"
    return "search"


def _with_comment(message: Message, paper: Paper, lang: str) -> Message:
    """The full card, which shows the comment, or a line saying arXiv lists none."""
    if paper.comment:
        return message
    return {**message, "blocks": [*message["blocks"], context([t(lang, "comment_none")], bid="about:nocomment")]}


def _unquote(text: str) -> str:
    return text.replace('"', " ").replace("“", " ").replace("”", " ").strip()


def _date(text: str) -> dt.date | None:
    text = unicodedata.normalize("NFKC", text).replace("/", "-")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _week_containing(weeks: Sequence[WeekStats], day: dt.date) -> WeekStats | None:
    return next((w for w in weeks if w.week_start <= day <= w.week_end), None)
