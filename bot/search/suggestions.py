"""Did you mean: for a query that found nothing, the likeliest intended queries (its
words corrected, a topic, an author), looser guesses only when there are none of those."""

from __future__ import annotations

from collections.abc import Sequence

from bot.search import english
from bot.search.concepts import Concept
from bot.search.context import QueryContext
from bot.search.names import nearest_authors
from bot.search.normalize import fold
from bot.search.query import Query


def did_you_mean(ctx: QueryContext, q: Query, concepts: Sequence[Concept], *, suggested: bool = False) -> list[str]:
    """Suggestions for `q`, which answered nothing; `suggested` when something (a filter)
    suggested already, which leaves out the loose guesses."""
    vocab = ctx.state.vocab
    out: list[str] = []
    words = list(q.words)
    corrected = False
    for concept in concepts:
        label = fold(concept.label)
        if label in vocab or " " in label or english.is_word(label):
            continue  # a word the archive holds, or an English word it lacks: no typo
        better = vocab.suggest(label)
        if better:
            words = [better if fold(w) == label else w for w in words]
            corrected = True
    if corrected:
        out.append(" ".join(words))
    text = q.text
    if not text:
        return out
    topic = ctx.topics.suggest(text)
    if topic is not None:
        out.append(f"topic:{topic.slug}")
    out += [f'author:"{name}"' for name in nearest_authors(text, ctx.state.author_names, 2)]
    if suggested or out:
        return out
    loose = [vocab.suggest(fold(c.label), cutoff=50) for c in concepts if not english.is_word(fold(c.label))]
    out += [w for w in loose if w]
    out += [f"topic:{t.slug}" for t in ctx.topics.nearest(text, 2)]
    return out
