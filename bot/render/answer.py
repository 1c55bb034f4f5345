"""An answer (`bot.ask.model.Answer`) as a Slack message and as terminal text.

The answer's text is plain text with `[n]` citations: it is escaped here, and each
`[n]` becomes a link to source n's discussion thread (arXiv where it was never
posted). Below it, the numbered sources: title linked the same way, reply count,
arXiv id; then the notes. Long answers are cut at a line; at most
`MAX_SOURCES_SHOWN` sources (an answer cites fewer). Pure.
"""

from __future__ import annotations

import re

from bot.ask.model import Answer, Source
from bot.i18n import replies, t
from bot.render.actions import ANSWER_SHARE, action_id, answer_value
from bot.render.blocks import Block, Message, actions, button, context, section
from bot.render.messages import user_mention
from bot.render.mrkdwn import (
    SECTION_TEXT,
    clean,
    escape,
    fit,
    is_linkable,
    link,
    plain,
    text_len,
    truncate,
)

_CITE_RE = re.compile(r"\[(\d{1,2})\]")
MAX_SOURCES_SHOWN = 8
#: Characters of answer text shown (before escaping): well inside one section each line.
MAX_ANSWER = 2800


def _cited(text: str, sources: dict[int, Source]) -> str:
    """Escaped text with each `[n]` linked to source n (an unknown n stays plain)."""
    out = []
    last = 0
    for m in _CITE_RE.finditer(text):
        out.append(escape(text[last : m.start()]))
        source = sources.get(int(m.group(1)))
        label = f"[{m.group(1)}]"
        out.append(link(source.link, label) if source is not None and is_linkable(source.link) else label)
        last = m.end()
    out.append(escape(text[last:]))
    return "".join(out)


def _sections(text: str, sources: dict[int, Source]) -> list[str]:
    """The answer's mrkdwn in section-sized pieces, cut between lines."""
    pieces: list[str] = []
    current = ""
    for line in clean(text, multiline=True).splitlines():
        rendered = _cited(line, sources)
        if text_len(rendered) > SECTION_TEXT - 10:
            rendered = _cited(truncate(line, 600), sources)
        if current and text_len(current) + 1 + text_len(rendered) > SECTION_TEXT - 10:
            pieces.append(current)
            current = rendered
        else:
            current = f"{current}\n{rendered}" if current else rendered
    if current:
        pieces.append(current)
    return pieces[:4]


def source_line(source: Source, *, lang: str) -> str:
    """`[1] <thread|Title> · 💬 3 replies · arXiv:2501.01234` (escaped, linked)."""
    title = link(source.link, source.title or source.arxiv_id, limit=150)
    where = replies(lang, source.replies) if source.thread else t(lang, "answer_not_posted")
    return f"*[{source.n}]* {title} · {where} · arXiv:{escape(fit(source.arxiv_id, 40))}"


def answer_message(answer: Answer, *, lang: str, share: bool = False, shared_by: str | None = None) -> Message:
    """The answer as a message: text, sources, notes (and "Share in channel" when asked).

    `shared_by` (a Slack user id, from Slack's payload) puts "Shared by @them" first:
    the answer posted in channel by an answer's share button.
    """
    by_n = {s.n: s for s in answer.sources}
    text = answer.text if len(answer.text) <= MAX_ANSWER else answer.text[:MAX_ANSWER].rsplit("\n", 1)[0] + "\n…"
    blocks: list[Block] = []
    mention = user_mention(shared_by)
    if mention:
        blocks.append(context([t(lang, "shared_by", user=mention)], bid="answer:shared"))
    blocks += [section(piece, bid=f"answer:text:{i}") for i, piece in enumerate(_sections(text, by_n))]
    shown = answer.sources[:MAX_SOURCES_SHOWN]
    if shown:
        lines = [source_line(s, lang=lang) for s in shown]
        blocks.append(section(f"*{escape(t(lang, 'answer_sources'))}*\n" + "\n".join(lines), bid="answer:sources"))
    notes = [escape(fit(n, 300)) for n in answer.notes[:3]]
    by = t(lang, "answer_by_model", model=plain(answer.by.removeprefix("model:"), 60)) if answer.by.startswith("model:") else t(lang, "answer_by_builtin")
    blocks.append(context([*notes, escape(by)], bid="answer:notes"))
    if share and answer.sources:
        blocks.append(
            actions(
                [button(t(lang, "share_button"), action_id=action_id(ANSWER_SHARE, 0), value=answer_value(answer.question))],
                bid="answer:actions",
            )
        )
    fallback = truncate(plain(answer.text, 2900), 2900) or t(lang, "answer_sources")
    return {"text": fallback, "blocks": blocks}


def answer_text(answer: Answer) -> str:
    """The answer for a terminal: its text, then the numbered sources with their links."""
    lines = [answer.text, ""]
    for source in answer.sources:
        lines.append(f"[{source.n}] {source.title} (arXiv:{source.arxiv_id})")
        lines.append(f"    {source.link}" + (f"  ({source.replies} replies)" if source.thread else ""))
    lines += [f"({note})" for note in answer.notes]
    lines.append(f"({answer.by})")
    return "\n".join(lines).rstrip() + "\n"
