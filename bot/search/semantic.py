"""A latent semantic space learned from the archive, to rerank candidates by subject.

Why: the concept score (`ranking`) counts what a paper says of each concept of
the question, one concept at a time, so a paper that mentions `machine learning`
and `training` ties with one squarely on secret-sharing MPC for training. A paper
on a subject also uses the subject's whole vocabulary, in both languages. This is
cross-language latent semantic indexing (Dumais et al., 1997; Deerwester et al.,
1990): every paper holds an English title and a Japanese title and summary, so a
truncated SVD of the papers' term matrix puts English stems, Japanese bigrams,
glossary concepts and learned English that occur in the same papers close together.

- `learn` runs a randomized SVD (Halko, Martinsson and Tropp, 2011) over the
  tf-idf rows of up to `SAMPLE` papers (the newest) at a full build;
- `Space.fold` puts any paper in the space (its tf-idf row times the term
  vectors), quantized to int8 so the index keeps it in fast fields and a rerank
  reads no stored document;
- `Space.query` puts a question's concepts in it; the cosine to each candidate
  adds to the candidate's score (`ranking.SEMANTIC_WEIGHT`, engine `_ranked`).

Below `MIN_PAPERS` papers there is no space: a handful of papers teaches nothing
about which words go together, and the rerank is then left out.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
from scipy import sparse  # type: ignore[import-untyped]

#: Dimensions of the space (a multiple of 8: a vector is packed into `DIMS // 8` u64 fast fields).
DIMS = 256
#: Papers the space is learned from at a full build (the newest first).
SAMPLE = 20_000
MIN_PAPERS = 200
#: Terms kept: in at least MIN_DF papers of the sample and in at most MAX_SHARE of them
#: (a term in most papers places nothing), the MAX_TERMS commonest of those.
MIN_DF = 2
MAX_SHARE = 0.5
MAX_TERMS = 50_000
#: How the fields of a paper count in its row (titles say what a paper is about); whole numbers.
FIELD_WEIGHTS = {"title": 2, "title_ja": 2, "summary": 1, "xlat": 1}
FILE = "semantic.npz"
FIELDS = tuple(f"lsa{i}" for i in range(DIMS // 8))

_OVERSAMPLE = 16
_POWER_ITERATIONS = 3


def paper_terms(streams: Mapping[str, str]) -> Counter[str]:
    """A paper's weighted term counts, from the term streams the index stores."""
    counts: Counter[str] = Counter()
    for name, weight in FIELD_WEIGHTS.items():
        for term in streams.get(name, "").split():
            counts[term] += weight
    return counts


class Space:
    """Term vectors (one row per kept term, unit singular vectors) and the terms' idf."""

    def __init__(self, terms: Sequence[str], idf: np.ndarray, vectors: np.ndarray) -> None:
        self.terms = list(terms)
        self.index = {t: i for i, t in enumerate(self.terms)}
        self.idf = idf.astype(np.float32)
        self.vectors = vectors.astype(np.float32)  # kept wide: widening rows per paper costs more

    @property
    def dims(self) -> int:
        return int(self.vectors.shape[1])

    def fold(self, counts: Mapping[str, float]) -> np.ndarray:
        """A paper's unit vector as int8 (zero when it holds no kept term)."""
        ids, weights = _weights(counts, self.index, self.idf)
        if not len(ids):
            return np.zeros(self.dims, dtype=np.int8)
        vec = weights @ self.vectors[ids]
        top = float(np.abs(vec).max())
        if top == 0.0:
            return np.zeros(self.dims, dtype=np.int8)
        return np.round(vec * (127.0 / top)).astype(np.int8)

    def fold_many(self, papers: Sequence[Mapping[str, str]]) -> np.ndarray:
        """`fold` of many papers' term streams at once (papers x dims, int8): one sparse
        product for the lot, so a build pays a few microseconds a paper, not tens."""
        get = self.index.get
        cols: list[int] = []
        lengths = np.zeros(len(papers), dtype=np.int64)
        for r, streams in enumerate(papers):
            # Each field repeated as often as it weighs: counting the terms then counts them weighted.
            text = " ".join(streams.get(name, "") for name, weight in FIELD_WEIGHTS.items() for _ in range(weight))
            before = len(cols)
            cols += map(get, text.split(), itertools.repeat(-1))
            lengths[r] = len(cols) - before
        out = np.zeros((len(papers), self.dims), dtype=np.int8)
        ids = np.asarray(cols, dtype=np.int64)
        rows = np.repeat(np.arange(len(papers)), lengths)
        known = ids >= 0
        if not known.any():
            return out
        tf = sparse.csr_matrix(
            (np.ones(int(known.sum()), dtype=np.float32), (rows[known], ids[known])),
            shape=(len(papers), len(self.terms)),
        )  # duplicates summed: the weighted term counts
        tf.sum_duplicates()
        tf.data = (1.0 + np.log(tf.data)) * self.idf[tf.indices]
        norms = np.sqrt(np.asarray(tf.multiply(tf).sum(axis=1)).ravel())
        norms[norms == 0] = 1.0
        vecs = np.asarray(tf @ self.vectors) / norms[:, None]
        top = np.abs(vecs).max(axis=1)
        top[top == 0] = 1.0
        return np.round(vecs * (127.0 / top)[:, None]).astype(np.int8)

    def query(self, weighted_terms: Iterable[tuple[str, float]]) -> np.ndarray | None:
        """A question's unit vector from its terms and their weights; None when none is known."""
        vec = np.zeros(self.dims, dtype=np.float32)
        known = False
        for term, weight in weighted_terms:
            i = self.index.get(term)
            if i is not None:
                vec += self.vectors[i] * (self.idf[i] * weight)
                known = True
        norm = float(np.linalg.norm(vec))
        return vec / norm if known and norm > 0 else None

    # Files ------------------------------------------------------------------

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez(tmp, terms=np.array(self.terms, dtype=str), idf=self.idf, vectors=self.vectors.astype(np.float16))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Space | None:
        """The space saved with an index, or None (none saved, or unreadable: no rerank)."""
        try:
            with np.load(path, allow_pickle=False) as data:
                return cls([str(t) for t in data["terms"]], data["idf"], data["vectors"])
        except (OSError, ValueError, KeyError):
            return None


def learn(papers: Iterable[Mapping[str, float]], dims: int = DIMS, *, seed: int = 0) -> Space | None:
    """The space of these papers' term counts, or None below MIN_PAPERS papers.

    One pass that keeps each paper as two small arrays (term ids, counts) rather
    than its mapping, so a full sample costs tens of MB, not hundreds."""
    seen: dict[str, int] = {}
    rows: list[tuple[np.ndarray, np.ndarray]] = []
    for counts in papers:
        ids = np.fromiter((seen.setdefault(t, len(seen)) for t in counts), dtype=np.int32, count=len(counts))
        rows.append((ids, np.fromiter(counts.values(), dtype=np.float32, count=len(counts))))
    n = len(rows)
    if n < MIN_PAPERS:
        return None
    df = np.bincount(np.concatenate([ids for ids, _tf in rows]), minlength=len(seen)) if rows else np.zeros(0)
    by_id = list(seen)
    del seen
    kept = [i for i in np.flatnonzero((df >= MIN_DF) & (df <= MAX_SHARE * n))]
    kept.sort(key=lambda i: (-df[i], by_id[i]))
    kept = kept[:MAX_TERMS]
    if len(kept) <= dims:
        return None
    terms = [by_id[i] for i in kept]
    remap = np.full(len(by_id), -1, dtype=np.int32)
    remap[kept] = np.arange(len(kept), dtype=np.int32)
    idf = np.log(n / df[kept].astype(np.float32)).astype(np.float32)
    indptr = np.zeros(n + 1, dtype=np.int64)
    indices: list[np.ndarray] = []
    data: list[np.ndarray] = []
    for r, (ids, tf) in enumerate(rows):
        new = remap[ids]
        keep = (new >= 0) & (tf > 0)
        new, weights = new[keep], (1.0 + np.log(tf[keep])) * idf[new[keep]]
        norm = float(np.linalg.norm(weights))
        indices.append(new)
        data.append((weights / norm if norm > 0 else weights).astype(np.float32))
        indptr[r + 1] = indptr[r] + len(new)
    del rows
    x = sparse.csr_matrix((np.concatenate(data), np.concatenate(indices), indptr), shape=(n, len(terms)))
    del indices, data
    k = min(dims, n - 1)
    vectors = _top_right_singular_vectors(x, k, seed)
    if k < dims:  # a small sample: pad, so every vector has the same width
        vectors = np.hstack([vectors, np.zeros((len(terms), dims - k), dtype=np.float32)])
    return Space(terms, idf, vectors)


def _weights(counts: Mapping[str, float], index: Mapping[str, int], idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A paper's kept terms and their unit-normalized tf-idf weights ((1 + log tf) idf)."""
    get = index.get
    found = [get(t, -1) for t in counts]
    ids = np.array(found, dtype=np.int32)
    tf = np.array(list(counts.values()), dtype=np.float32)
    keep = (ids >= 0) & (tf > 0)
    ids, tf = ids[keep], tf[keep]
    if not len(ids):
        return ids, tf
    weights = (1.0 + np.log(tf)) * idf[ids]
    norm = float(np.linalg.norm(weights))
    return ids, (weights / norm if norm > 0 else weights).astype(np.float32)


def _top_right_singular_vectors(x: sparse.csr_matrix, k: int, seed: int) -> np.ndarray:
    """The k leading right singular vectors of x (terms x k), by randomized SVD with power
    iterations: a few sparse products instead of a dense decomposition of the whole matrix."""
    rng = np.random.default_rng(seed)
    width = min(k + _OVERSAMPLE, min(x.shape))
    y = x @ rng.standard_normal((x.shape[1], width)).astype(np.float32)
    q, _ = np.linalg.qr(y)
    xt = x.T.tocsr()
    for _ in range(_POWER_ITERATIONS):
        z, _ = np.linalg.qr(xt @ q)
        q, _ = np.linalg.qr(x @ z)
    b = (xt @ q).T  # width x terms
    _u, _s, vt = np.linalg.svd(b, full_matrices=False)
    return np.ascontiguousarray(vt[:k].T, dtype=np.float32)


def cosines(space_query: np.ndarray, packed: Sequence[Sequence[object]]) -> np.ndarray:
    """Cosines of the query to candidates whose vectors come as fast-field columns
    (`packed[f][c]`: field f of candidate c, a u64 holding 8 int8 components)."""
    vecs = unpack(packed)
    norms = np.linalg.norm(vecs, axis=1)
    norms[norms == 0] = 1.0
    return (vecs @ space_query) / norms


def unpack(packed: Sequence[Sequence[object]]) -> np.ndarray:
    """Candidates x dims float32 from fast-field columns (a missing value is zeros)."""
    columns = np.array([[v or 0 for v in column] for column in packed], dtype=np.uint64)
    return np.ascontiguousarray(columns.T).view(np.int8).astype(np.float32)


def pack(vec: np.ndarray) -> list[int]:
    """An int8 vector as DIMS // 8 unsigned 64-bit integers (the fast fields' values)."""
    return [int(v) for v in np.ascontiguousarray(vec, dtype=np.int8).view(np.uint64)]
