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
- `Space.fold` puts papers in the space (their tf-idf rows times the term
  vectors), quantized to int8 so the index keeps it in fast fields and a rerank
  reads no stored document;
- `Space.query` puts a question's concepts in it; the cosine to each candidate
  adds to the candidate's score (`ranking.SEMANTIC_WEIGHT`, engine `_ranked`).

Below `MIN_PAPERS` papers there is no space: a handful of papers teaches nothing
about which words go together, and the rerank is then left out.
"""

from __future__ import annotations

import array
import itertools
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


def _weighted_terms(streams: Mapping[str, str]) -> list[str]:
    """A paper's terms from the streams the index stores, each field's repeated as often
    as the field weighs: counting them then counts them weighted."""
    return " ".join(streams.get(name, "") for name, weight in FIELD_WEIGHTS.items() for _ in range(weight)).split()


def _unit_tfidf(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """Papers' rows of (1 + log tf) idf, each scaled to unit length (an empty row stays empty)."""
    rows = counts.copy()
    rows.data = ((1.0 + np.log(rows.data)) * idf[rows.indices]).astype(np.float32)
    per_row = np.diff(rows.indptr)
    norms = np.sqrt(np.add.reduceat(rows.data**2, rows.indptr[:-1][per_row > 0])) if len(rows.data) else np.zeros(0)
    rows.data /= np.repeat(norms, per_row[per_row > 0]).astype(np.float32)
    return rows


def _term_counts(term_ids: np.ndarray, lengths: np.ndarray, width: int) -> sparse.csr_matrix:
    """Papers x terms counts from each paper's term ids in turn (`lengths[p]` of them;
    an id of -1, a term outside the space, is left out)."""
    rows = np.repeat(np.arange(len(lengths)), lengths)
    known = term_ids >= 0
    counts = sparse.csr_matrix(
        (np.ones(int(known.sum()), dtype=np.float32), (rows[known], term_ids[known])), shape=(len(lengths), width)
    )
    counts.sum_duplicates()
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

    def fold(self, papers: Sequence[Mapping[str, str]]) -> np.ndarray:
        """Papers' unit vectors (papers x dims, int8; zeros for a paper holding no kept term),
        from their term streams: one sparse product for the lot, a few microseconds a paper."""
        get = self.index.get
        ids: list[int] = []
        lengths = np.zeros(len(papers), dtype=np.int64)
        for r, streams in enumerate(papers):
            before = len(ids)
            ids += map(get, _weighted_terms(streams), itertools.repeat(-1))
            lengths[r] = len(ids) - before
        rows = _unit_tfidf(_term_counts(np.asarray(ids, dtype=np.int64), lengths, len(self.terms)), self.idf)
        vecs = np.asarray(rows @ self.vectors)
        top = np.abs(vecs).max(axis=1) if len(vecs) else np.zeros(0)
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


def learn(papers: Iterable[Mapping[str, str]], dims: int = DIMS, *, seed: int = 0) -> Space | None:
    """The space of these papers (their term streams), or None below MIN_PAPERS papers.

    The papers' terms are kept as ids in one compact array, not as mappings, so a
    full sample costs tens of MB, not hundreds."""
    seen: dict[str, int] = {}
    ids = array.array("q")
    lengths: list[int] = []
    for streams in papers:
        before = len(ids)
        ids.extend(seen.setdefault(t, len(seen)) for t in _weighted_terms(streams))
        lengths.append(len(ids) - before)
    n = len(lengths)
    if n < MIN_PAPERS:
        return None
    counts = _term_counts(np.frombuffer(ids, dtype=np.int64), np.asarray(lengths, dtype=np.int64), len(seen))
    del ids
    df = np.bincount(counts.indices, minlength=len(seen))
    by_id = list(seen)
    del seen
    kept = [int(i) for i in np.flatnonzero((df >= MIN_DF) & (df <= MAX_SHARE * n))]
    kept.sort(key=lambda i: (-df[i], by_id[i]))
    kept = kept[:MAX_TERMS]
    if len(kept) <= dims:
        return None
    terms = [by_id[i] for i in kept]
    idf = np.log(n / df[kept].astype(np.float32)).astype(np.float32)
    x = _unit_tfidf(counts[:, kept].tocsr(), idf)
    del counts
    k = min(dims, n - 1)
    vectors = _top_right_singular_vectors(x, k, seed)
    if k < dims:  # a small sample: pad, so every vector has the same width
        vectors = np.hstack([vectors, np.zeros((len(terms), dims - k), dtype=np.float32)])
    return Space(terms, idf, vectors)


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


def pack(vecs: np.ndarray) -> list[list[int]]:
    """Int8 vectors (papers x dims) as DIMS // 8 unsigned 64-bit integers each (the fast
    fields' values), for a batch in one conversion."""
    return np.ascontiguousarray(vecs, dtype=np.int8).view(np.uint64).tolist()
