"""k nearest neighbours as plain functions: exact search in numpy, and Annoy searched row by row.

Why apart from the index: exact search serves on its own (clustering, "sure", the index's
fresh faces and small sets), and the Annoy row search must be a module-level function that a
spawned worker process can run on the published index file; neither needs NeighbourIndex's state.
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np
from annoy import AnnoyIndex
from threadpoolctl import ThreadpoolController

from tagmyphotos import tuning

# Exact search for fewer queries than this runs BLAS on one thread: a one-face query against
# 100k faces took 8 ms with 2 OpenBLAS threads on a busy 2-core machine and 2 ms with one;
# big blocks (a refresh) still gain from both cores.
INDEX_EXACT_ONE_THREAD_BELOW = 64

Metric = Literal["euclidean", "angular"]
METRICS = ("euclidean", "angular")


def exact_knn(q: np.ndarray, base: np.ndarray, base_ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Brute-force euclidean k-NN in chunks (bounded memory); same padding as NeighbourIndex.query."""
    n = len(q)
    ids = np.full((n, k), -1, np.int64)
    dist = np.full((n, k), np.inf, np.float32)
    if n == 0 or len(base) == 0:
        return ids, dist
    if n < INDEX_EXACT_ONE_THREAD_BELOW:  # BLAS threads only pay off for big blocks
        with _blas_controller().limit(limits=1, user_api="blas"):
            return _exact_knn(q, base, base_ids, k, ids, dist)
    return _exact_knn(q, base, base_ids, k, ids, dist)


def _exact_knn(
    q: np.ndarray, base: np.ndarray, base_ids: np.ndarray, k: int, ids: np.ndarray, dist: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    n = len(q)
    kk = min(k, len(base))
    b_sq = np.einsum("ij,ij->i", base, base)
    chunk = max(1, tuning.INDEX_EXACT_CHUNK_CELLS // len(base))
    for lo in range(0, n, chunk):
        qc = q[lo : lo + chunk]
        d2 = b_sq[None, :] - 2.0 * (qc @ base.T) + np.einsum("ij,ij->i", qc, qc)[:, None]
        if kk < len(base):
            part = np.argpartition(d2, kk - 1, axis=1)[:, :kk]
        else:
            part = np.tile(np.arange(len(base)), (len(qc), 1))
        pd = np.take_along_axis(d2, part, axis=1)
        order = np.argsort(pd, axis=1, kind="stable")
        part, pd = np.take_along_axis(part, order, axis=1), np.take_along_axis(pd, order, axis=1)
        ids[lo : lo + len(qc), :kk] = base_ids[part]
        dist[lo : lo + len(qc), :kk] = np.sqrt(np.maximum(pd, 0.0))
    return ids, dist


def search_rows(ann: AnnoyIndex, q: np.ndarray, want: int, search_k: int) -> tuple[np.ndarray, np.ndarray]:
    """Annoy's `want` nearest items (Annoy item numbers) of every row, padded like exact_knn."""
    items = np.full((len(q), want), -1, np.int64)
    dist = np.full((len(q), want), np.inf, np.float32)
    get = ann.get_nns_by_vector
    for row, vec in enumerate(q.tolist()):
        found, ds = get(vec, want, search_k, include_distances=True)
        items[row, : len(found)] = found
        dist[row, : len(found)] = ds
    return items, dist


def search_file(
    path: str, dim: int, metric: Metric, q: np.ndarray, want: int, search_k: int
) -> tuple[np.ndarray, np.ndarray]:
    """In a worker process: map the published generation (shared pages) and search rows."""
    ann = AnnoyIndex(dim, metric)
    ann.load(path)
    try:
        return search_rows(ann, q, want, search_k)
    finally:
        ann.unload()


@functools.cache
def _blas_controller() -> ThreadpoolController:
    return ThreadpoolController()  # inspecting the loaded BLAS libraries costs ~ms: once
