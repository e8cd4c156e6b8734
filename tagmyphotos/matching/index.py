"""Nearest-neighbour search over confirmed-face embeddings: Annoy on disk, exact numpy for the rest.

Why two engines behind one `query`: Annoy answers in well under a millisecond at 100k faces but
is immutable once built, and a rebuild is a background job. The caller keeps the *live* set
(`set_items`/`add`/`remove`) current; faces added since the last build are searched exactly and
faces removed since are filtered out, so a new confirmation counts at once. Small sets, a
missing or mismatched index, or many removals since the build use exact search over everything.

Layout of the index folder (rebuilt by a debounced job, read by every process):
    meta.json            current generation, model id, dim, metric, item count (atomic replace)
    gen-<N>.ann / .ids.npy  the Annoy trees and the Annoy-item -> face-id map of generation N
A reader picks up a newer generation on its next query (one stat of meta.json).
The searches themselves (exact numpy k-NN, Annoy row by row) are plain functions in knn.py.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import cast

import numpy as np
from annoy import AnnoyIndex

from tagmyphotos import tuning
from tagmyphotos.matching.knn import METRICS, Metric, exact_knn, search_file, search_rows

# Annoy trees (more = better recall, bigger file, slower build) and the number of tree nodes a
# query inspects (Annoy's search_k; at least fetched x trees). Measured on 100k synthetic faces
# (scripts/bench match), recall@10 vs brute force: 32 trees with search_k 320 (Annoy's default
# for k=10) 0.948, 640 0.979, 1280 0.992, 2560 0.997; 64 trees are 2x slower to build.
INDEX_TREES = 32
INDEX_SEARCH_K = 1280

# Faces removed since the last build are filtered out of Annoy's answers by over-fetching;
# beyond this many, or this many added, exact search is used until the rebuild.
INDEX_MAX_DROPPED = 256
INDEX_MAX_FRESH = 50_000

# Big query batches (a full refresh) are split over this many processes, each mapping the
# published index file (Annoy holds the GIL, so threads would not help), when every process
# gets at least INDEX_PARALLEL_MIN_ROWS rows (a spawned worker costs ~0.5 s to start).
INDEX_QUERY_WORKERS = 2
INDEX_PARALLEL_MIN_ROWS = 5000

# Annoy build: fixed seed (reproducible trees) and threads.
INDEX_SEED = 42
INDEX_BUILD_JOBS = 2


@dataclass(frozen=True)
class IndexSpec:
    """What an index is for: never mix embeddings of two models or pipelines in one index."""

    model_id: str
    dim: int
    metric: Metric = "euclidean"  # euclidean (dlib) | angular (= L2 distance of unit vectors)

    def __post_init__(self) -> None:
        if self.metric not in METRICS:
            raise ValueError(f"metric must be one of {METRICS}, not {self.metric!r}")


@dataclass(frozen=True)
class IndexMeta:
    model_id: str
    dim: int
    metric: str
    generation: int
    count: int
    n_trees: int
    built_at: float
    build_seconds: float


class NeighbourIndex:
    """k nearest confirmed faces of query vectors, exact for changes since the last build."""

    def __init__(
        self,
        folder: Path | None,
        spec: IndexSpec,
        *,
        exact_below: int = tuning.INDEX_EXACT_BELOW,
        n_trees: int = INDEX_TREES,
        search_k: int = INDEX_SEARCH_K,
        max_dropped: int = INDEX_MAX_DROPPED,
        max_fresh: int = INDEX_MAX_FRESH,
        workers: int = INDEX_QUERY_WORKERS,
    ) -> None:
        self.folder = folder
        self.spec = spec
        self.exact_below = exact_below
        self.n_trees = n_trees
        self.search_k = search_k
        self.max_dropped = max_dropped
        self.max_fresh = max_fresh
        self.workers = workers
        self._ids = np.zeros(0, np.int64)  # live set, rows aligned with _vecs
        self._vecs = np.zeros((0, spec.dim), np.float32)
        self._pos: dict[int, int] = {}
        self._ann: AnnoyIndex | None = None
        self._ann_path: str | None = None  # the loaded generation's file (parallel queries)
        self._ann_ids = np.zeros(0, np.int64)
        self._ann_set: set[int] = set()
        self._meta: IndexMeta | None = None
        self._meta_mtime = 0.0
        self._fresh: set[int] = set()  # live ids Annoy does not hold
        self._dropped: set[int] = set()  # Annoy ids no longer live
        if folder is not None:
            self.reload()

    # --- live set ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._ids)

    @property
    def meta(self) -> IndexMeta | None:
        return self._meta

    @property
    def stale(self) -> bool:
        """True while the live set differs from what Annoy holds (a rebuild is due)."""
        return bool(self._fresh or self._dropped) or (self._ann is None and len(self._ids) > 0)

    def ids(self) -> np.ndarray:
        return self._ids.copy()

    def vectors(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """Live vectors of `ids` (KeyError for an id not in the live set)."""
        return self._vecs[[self._pos[int(i)] for i in ids]]

    def set_items(self, ids: np.ndarray | list[int], vectors: np.ndarray) -> None:
        """Replace the live set (e.g. all confirmed faces of this model, loaded at start-up)."""
        ids_arr, vecs = self._check(ids, vectors)
        if len(np.unique(ids_arr)) != len(ids_arr):
            raise ValueError("duplicate ids")
        self._ids, self._vecs = ids_arr, self._prepare(vecs)
        self._pos = {int(i): n for n, i in enumerate(ids_arr)}
        self._resync()

    def add(self, ids: np.ndarray | list[int], vectors: np.ndarray) -> None:
        """Add (or replace) live items; they are searched exactly until the next build.

        Re-adding a live id with the same vector (a face moved to another person) is a no-op.
        """
        ids_arr, vecs = self._check(ids, vectors)
        vecs = self._prepare(vecs)
        same = np.array(
            [
                int(i) in self._pos and np.array_equal(self._vecs[self._pos[int(i)]], v)
                for i, v in zip(ids_arr, vecs, strict=True)
            ],
            bool,
        ).reshape(-1)
        ids_arr, vecs = ids_arr[~same], vecs[~same]
        if len(ids_arr) == 0:
            return
        self.remove(ids_arr)
        start = len(self._ids)
        self._ids = np.concatenate([self._ids, ids_arr])
        self._vecs = np.concatenate([self._vecs, vecs])
        for n, i in enumerate(ids_arr.tolist()):
            self._pos[i] = start + n
            self._fresh.add(i)  # even if Annoy holds the id, its vector may have changed
            if i in self._ann_set:
                self._dropped.add(i)

    def remove(self, ids: np.ndarray | list[int]) -> None:
        gone = [int(i) for i in ids if int(i) in self._pos]
        if not gone:
            return
        keep = np.ones(len(self._ids), bool)
        keep[[self._pos[i] for i in gone]] = False
        self._ids, self._vecs = self._ids[keep], self._vecs[keep]
        self._pos = {int(i): n for n, i in enumerate(self._ids)}
        for i in gone:
            self._fresh.discard(i)
            if i in self._ann_set:
                self._dropped.add(i)

    # --- persistence -------------------------------------------------------------------------
    def build(self, generation: int | None = None) -> IndexMeta:
        """Build Annoy over the live set; with a folder, publish it as the next generation."""
        if self.folder is not None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.reload()
        old = self._meta
        gen = generation if generation is not None else (old.generation + 1 if old else 1)
        start = time.perf_counter()
        ann = AnnoyIndex(self.spec.dim, cast(Metric, self.spec.metric))
        ann.set_seed(INDEX_SEED)
        for n, vec in enumerate(self._vecs):
            ann.add_item(n, vec)
        ann.build(self.n_trees, n_jobs=INDEX_BUILD_JOBS)
        meta = IndexMeta(
            **asdict(self.spec),
            generation=gen,
            count=len(self._ids),
            n_trees=self.n_trees,
            built_at=time.time(),
            build_seconds=time.perf_counter() - start,
        )
        if self.folder is None:  # in memory only (clustering, tests)
            if self._ann is not None:
                self._ann.unload()
            self._ann, self._ann_ids, self._meta, self._ann_path = ann, self._ids.copy(), meta, None
            self._ann_set = set(self._ids.tolist())
            self._resync()
            return meta
        tag = f"{gen}.{os.getpid()}"
        ann.save(str(self.folder / f".gen-{tag}.ann.tmp"))
        ann.unload()
        with open(self.folder / f".gen-{tag}.ids.tmp", "wb") as fh:
            np.save(fh, self._ids)
        os.replace(self.folder / f".gen-{tag}.ann.tmp", self.folder / f"gen-{gen}.ann")
        os.replace(self.folder / f".gen-{tag}.ids.tmp", self.folder / f"gen-{gen}.ids.npy")
        tmp_meta = self.folder / f".meta.json.{os.getpid()}.tmp"
        tmp_meta.write_text(json.dumps(asdict(meta)))
        os.replace(tmp_meta, self.folder / "meta.json")  # the switch: readers see old or new
        self._meta_mtime = -1.0
        self.reload()
        for stale_file in self.folder.glob("gen-*"):
            if not stale_file.name.startswith(f"gen-{gen}."):
                stale_file.unlink(missing_ok=True)  # mmapped readers keep their open copy
        return meta

    def reload(self) -> bool:
        """Load the newest published generation if it changed; True when one is loaded."""
        if self.folder is None:
            return False
        meta_path = self.folder / "meta.json"
        try:
            mtime = meta_path.stat().st_mtime
        except FileNotFoundError:
            return self._ann is not None
        if self._ann is not None and mtime == self._meta_mtime:
            return True
        try:
            meta = IndexMeta(**json.loads(meta_path.read_text()))
            if (meta.model_id, meta.dim, meta.metric) != (
                self.spec.model_id,
                self.spec.dim,
                self.spec.metric,
            ):
                return False  # another model's index: ignore it until rebuilt for this one
            ann = AnnoyIndex(self.spec.dim, cast(Metric, self.spec.metric))
            ann_path = str(self.folder / f"gen-{meta.generation}.ann")
            ann.load(ann_path)
            ann_ids = np.load(self.folder / f"gen-{meta.generation}.ids.npy")
        except (OSError, ValueError, TypeError, KeyError):
            return self._ann is not None  # a half-written or removed generation: keep ours
        if self._ann is not None:
            self._ann.unload()
        self._ann, self._ann_ids, self._meta, self._meta_mtime = ann, ann_ids, meta, mtime
        self._ann_path = ann_path
        self._ann_set = set(ann_ids.tolist())
        self._resync()
        return True

    # --- search ------------------------------------------------------------------------------
    def query(self, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, distances), each (n, k), nearest first; rows padded with -1 / inf."""
        q = self._prepare(np.atleast_2d(np.asarray(vectors, np.float32)))
        self.reload()
        if self._use_exact():
            return exact_knn(q, self._vecs, self._ids, k)
        return self._hybrid(q, k)

    def needs_build(self) -> bool:
        """True when queries fall back to exact search over a set big enough for Annoy."""
        return len(self._ids) >= self.exact_below and self._use_exact()

    def _use_exact(self) -> bool:
        return (
            self._ann is None
            or len(self._ids) < self.exact_below
            or len(self._dropped) > self.max_dropped
            or len(self._fresh) > self.max_fresh
        )

    def _hybrid(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Annoy over the built set (over-fetching past removed faces) + exact over added ones."""
        assert self._ann is not None
        want = k + len(self._dropped)
        search_k = max(self.search_k, want * self.n_trees)
        items, dist = self._annoy_rows(q, want, search_k)
        ids = np.where(items >= 0, self._ann_ids[np.maximum(items, 0)], -1)
        if self._dropped:
            gone = np.isin(ids, np.fromiter(self._dropped, np.int64, len(self._dropped)))
            ids[gone], dist[gone] = -1, np.inf
        if self._fresh:
            fresh_ids = np.fromiter(self._fresh, np.int64, len(self._fresh))
            f_ids, f_dist = exact_knn(q, self.vectors(fresh_ids), fresh_ids, k)
            ids, dist = np.concatenate([ids, f_ids], axis=1), np.concatenate([dist, f_dist], axis=1)
        if ids.shape[1] > k or self._dropped:
            order = np.argsort(dist, axis=1, kind="stable")[:, :k]
            ids, dist = np.take_along_axis(ids, order, axis=1), np.take_along_axis(dist, order, axis=1)
        return np.where(np.isfinite(dist), ids, -1), dist

    def _annoy_rows(self, q: np.ndarray, want: int, search_k: int) -> tuple[np.ndarray, np.ndarray]:
        """Annoy answers for every row; big batches also on other cores (Annoy holds the GIL)."""
        assert self._ann is not None
        workers = min(self.workers, len(q) // INDEX_PARALLEL_MIN_ROWS)
        if workers < 2 or self._ann_path is None:
            return search_rows(self._ann, q, want, search_k)
        chunks = np.array_split(q, workers)
        ctx = multiprocessing.get_context("spawn")  # safe in threaded servers and huey workers
        with ProcessPoolExecutor(workers - 1, mp_context=ctx) as pool:
            spec = (self._ann_path, self.spec.dim, self.spec.metric)
            futures = [pool.submit(search_file, *spec, c, want, search_k) for c in chunks[1:]]
            parts = [search_rows(self._ann, chunks[0], want, search_k)]
            try:
                parts += [f.result() for f in futures]
            except (OSError, BrokenProcessPool):  # generation replaced meanwhile, worker died
                parts += [search_rows(self._ann, c, want, search_k) for c in chunks[1:]]
        return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])

    # --- helpers -----------------------------------------------------------------------------
    def _resync(self) -> None:
        live = set(self._pos)
        self._fresh = live - self._ann_set
        self._dropped = self._ann_set - live

    def _check(self, ids: np.ndarray | list[int], vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ids_arr = np.asarray(ids, np.int64).reshape(-1)
        vecs = np.asarray(vectors, np.float32).reshape(len(ids_arr), -1)
        if vecs.shape[1] != self.spec.dim:
            raise ValueError(f"expected {self.spec.dim}-d vectors, got {vecs.shape[1]}-d")
        return ids_arr, vecs

    def _prepare(self, vecs: np.ndarray) -> np.ndarray:
        """Angular = euclidean between unit vectors (Annoy's definition), so normalise once."""
        if self.spec.metric == "angular":
            norms = np.linalg.norm(vecs, axis=1, keepdims=True)
            return (vecs / np.maximum(norms, 1e-12)).astype(np.float32)
        return np.ascontiguousarray(vecs, np.float32)


def remove_index(folder: Path) -> None:
    """Delete a published index (e.g. after a model change); readers fall back to exact."""
    for path in [folder / "meta.json", *folder.glob("gen-*")]:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
