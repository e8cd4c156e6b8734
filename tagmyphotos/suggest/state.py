"""The per-process, per-model state behind suggestions: confirmed faces and unknown faces in memory.

Why a state kept in sync with the database instead of a reload per call: loading 100k
embeddings takes seconds, and a confirmation must count for the very next suggestion. A sync
diffs the confirmed face ids and their updated_at (one cheap aggregate query says when nothing
changed) and feeds the Matcher only what changed; faces this process changed arrive through
`apply` at once. Embeddings of different models never meet: one state, one index folder per
embedding id.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import peewee as pw

from tagmyphotos import tuning
from tagmyphotos.config import Config
from tagmyphotos.matching.index import IndexSpec, NeighbourIndex
from tagmyphotos.matching.knn import Metric
from tagmyphotos.matching.match import Matcher, MatchSettings
from tagmyphotos.matching.sure import SureRule, Unnamed
from tagmyphotos.store import models as m
from tagmyphotos.store.db import chunked

if TYPE_CHECKING:
    from tagmyphotos.core import Core

# A full refresh searches the unnamed faces for rule 4 through an Annoy index from this many on
# (exact: every likely face against every unnamed one, 16 s CPU at 20k faces, 25x that at 100k).
SURE_UNNAMED_INDEX_ABOVE = 20_000

# A process checks for faces changed by other processes (the worker's analysis, a CLI teach) at
# most this often (seconds) while refreshing after a review action: the check reads every face
# row of the model (~0.1 s at 200k faces), too slow for each click. Its own changes count at
# once; a full refresh (the match stage) always checks.
SUGGEST_SYNC_CHECK_S = 30

CANDIDATE_STATES = (m.FaceState.UNKNOWN, m.FaceState.SUGGESTED)


def fast_rows(query: Any) -> list[tuple[Any, ...]]:
    """A select's raw rows, without peewee's per-row conversion (5x faster for 100k rows);
    values are as the driver returns them (updated_at: text on SQLite), fine for comparing."""
    sql, params = query.sql()
    return list(m.database.execute_sql(sql, params).fetchall())


def _signature(model_id: str, states: tuple[str, ...]) -> tuple[Any, ...]:
    """(count, newest updated_at, highest id) of a model's faces in `states`: any change made
    by this program moves it (every review change and every analysis stamps updated_at)."""
    query = m.Face.select(pw.fn.COUNT(m.Face.id), pw.fn.MAX(m.Face.updated_at), pw.fn.MAX(m.Face.id)).where(
        m.Face.state.in_(list(states)) & (m.Face.model == model_id) & m.Face.embedding.is_null(False)
    )
    return tuple(fast_rows(query)[0])


def model_name(model_id: str) -> str:
    """'Dlib/dlib5-chip150-p0.25/v1' -> 'Dlib' (the key of the calibrated defaults)."""
    return model_id.split("/", 1)[0]


def match_settings(cfg: Config, model_id: str) -> MatchSettings:
    mc = cfg.matching
    name = model_name(model_id)
    threshold = mc.distance_threshold.get(model_id, mc.distance_threshold.get(name))
    return MatchSettings.for_model(
        name, threshold=threshold, likely=mc.likely_confidence, maybe=mc.maybe_confidence, k=mc.k
    )


def vectors_of(blobs: Sequence[bytes], dim: int) -> np.ndarray:
    if not blobs:
        return np.zeros((0, dim), np.float32)
    return np.frombuffer(b"".join(blobs), np.float32).reshape(len(blobs), dim)


class ModelState:
    """Confirmed faces (Matcher) and unknown/suggested faces (for the affected-face search)."""

    def __init__(self, cfg: Config, model_id: str, dim: int) -> None:
        self.model_id = model_id
        self.dim = dim
        self.settings = match_settings(cfg, model_id)
        folder = cfg.index_dir / re.sub(r"[^A-Za-z0-9._-]+", "_", model_id)
        index = NeighbourIndex(folder, IndexSpec(model_id, dim, cast(Metric, self.settings.metric)))
        self.matcher = Matcher(index, self.settings)
        self.sure_rule = SureRule.for_settings(self.settings)
        # Confirmed faces the product named by itself (Face.auto_batch): never evidence for "sure".
        self.untrusted: set[int] = set()
        self.cand_photo: dict[int, int] = {}  # unknown/suggested face -> photo (matching.sure rule 4)
        self.lock = threading.RLock()
        self._loaded = False
        self._seen: dict[int, tuple[int, Any]] = {}  # confirmed face -> (person, updated_at)
        self._cand_seen: dict[int, Any] = {}  # unknown/suggested face -> updated_at
        # Distance of the farthest fetched neighbour at a face's last judgement here: a confirmed
        # face farther away than that was not part of the judgement (adding, removing or moving
        # it changes nothing). Unknown (judged by another process): the whole radius.
        self.reach: dict[int, float] = {}
        self.cand_ids = np.zeros(0, np.int64)
        self.cand_vecs = np.zeros((0, dim), np.float32)
        self._mark: tuple[Any, ...] | None = None
        self._cand_index: tuple[Any, NeighbourIndex] | None = None  # (candidate mark, Annoy over them)
        self._cand_mark: tuple[Any, ...] | None = None
        self._checked = self._cand_checked = 0.0

    def sync(self, force: bool = True) -> None:
        """Bring the confirmed set in line with the database (only the differences are loaded).

        A face whose updated_at moved is re-read: re-analysis replaces a vector in place, and
        every review change stamps updated_at. One aggregate query tells when nothing changed;
        without `force` even that is skipped while the last check is younger than
        SUGGEST_SYNC_CHECK_S (this process's own changes arrive through `apply`).
        """
        now = time.monotonic()
        if not force and self._loaded and now - self._checked < SUGGEST_SYNC_CHECK_S:
            return
        self._checked = now
        mark = _signature(self.model_id, (m.FaceState.CONFIRMED,))
        if self._loaded and mark == self._mark:
            return
        query = m.Face.select(m.Face.id, m.Face.person, m.Face.updated_at, m.Face.auto_batch).where(
            (m.Face.state == m.FaceState.CONFIRMED) & (m.Face.model == self.model_id) & m.Face.embedding.is_null(False)
        )
        rows = fast_rows(query)
        want = {int(f): (int(p), stamp) for f, p, stamp, _ in rows}
        self.untrusted = {int(f) for f, _, _, batch in rows if batch is not None}
        if not self._loaded:
            ids = sorted(want)
            if ids:  # (an empty matcher is already in that state)
                self.matcher.set_confirmed(ids, self._load(ids), [want[i][0] for i in ids])
            self._loaded, self._seen, self._mark = True, want, mark
            return
        gone = [f for f in self._seen if f not in want]
        if gone:
            self.matcher.unconfirm(gone)
        changed = sorted(f for f, v in want.items() if self._seen.get(f) != v)
        if changed:
            self.matcher.confirm(changed, self._load(changed), [want[f][0] for f in changed])
        self._seen, self._mark = want, mark

    def sync_candidates(self, force: bool = True) -> None:
        """The unknown/suggested faces' vectors, re-read only for faces that changed."""
        now = time.monotonic()
        if not force and self._cand_mark is not None and now - self._cand_checked < SUGGEST_SYNC_CHECK_S:
            return
        self._cand_checked = now
        mark = _signature(self.model_id, CANDIDATE_STATES)
        if mark == self._cand_mark:
            return
        query = m.Face.select(m.Face.id, m.Face.updated_at, m.Face.photo).where(
            m.Face.state.in_(CANDIDATE_STATES) & (m.Face.model == self.model_id) & m.Face.embedding.is_null(False)
        )
        rows = fast_rows(query)
        want = {int(f): stamp for f, stamp, _ in rows}
        self.cand_photo = {int(f): int(ph) for f, _, ph in rows}
        seen = self._cand_seen
        keep = np.fromiter((want.get(f, 0) == seen.get(f, 1) for f in self.cand_ids.tolist()), bool, len(self.cand_ids))
        kept = set(self.cand_ids[keep].tolist())
        new = [f for f in want if f not in kept]
        self.cand_ids = np.concatenate([self.cand_ids[keep], np.asarray(new, np.int64)])
        self.cand_vecs = np.concatenate([self.cand_vecs[keep], self._load(new)])
        self._cand_seen, self._cand_mark = want, mark

    def apply(self, face_ids: Sequence[int]) -> None:
        """Take in faces this process just changed: exact, and cheap however big the library."""
        if not self._loaded:
            return  # the first sync loads everything, these faces included
        rows: dict[int, tuple[str, int | None, Any]] = {}
        photos: dict[int, int] = {}
        for part in chunked(face_ids):
            query = m.Face.select(
                m.Face.id, m.Face.state, m.Face.person, m.Face.updated_at, m.Face.auto_batch, m.Face.photo
            ).where(m.Face.id.in_(part) & (m.Face.model == self.model_id) & m.Face.embedding.is_null(False))
            for f, st, p, stamp, batch, photo in fast_rows(query):
                rows[int(f)] = (st, p, stamp)
                photos[int(f)] = int(photo)
                (self.untrusted.add if batch is not None else self.untrusted.discard)(int(f))
        gone, moved = [], []
        for f in face_ids:
            row = rows.get(f)
            if row is not None and row[0] == m.FaceState.CONFIRMED and row[1] is not None:
                if self._seen.get(f) != (int(row[1]), row[2]):
                    moved.append(f)
                    self._seen[f] = (int(row[1]), row[2])
            elif self._seen.pop(f, None) is not None:
                gone.append(f)
        if gone:
            self.matcher.unconfirm(gone)
        if moved:
            self.matcher.confirm(moved, self._load(moved), [self._seen[f][0] for f in moved])
        if self._cand_mark is not None:
            keep = ~np.isin(self.cand_ids, np.asarray(list(face_ids), np.int64))
            cands = [f for f, row in rows.items() if row[0] in CANDIDATE_STATES]
            self.cand_ids = np.concatenate([self.cand_ids[keep], np.asarray(cands, np.int64)])
            self.cand_vecs = np.concatenate([self.cand_vecs[keep], self._load(cands)])
            for f in face_ids:
                self._cand_seen.pop(f, None)
                self.cand_photo.pop(f, None)
            self._cand_seen.update({f: rows[f][2] for f in cands})
            self.cand_photo.update({f: photos[f] for f in cands})

    def unnamed(self, indexed: bool = False) -> Unnamed:
        """The unknown/suggested faces, for rule 4 of "sure" (an unnamed look-alike's group).

        `indexed` (a full refresh): above SURE_UNNAMED_INDEX_ABOVE faces they are searched through
        an Annoy index built for the current set (exact search of every likely face against
        every unnamed one grows with the square of the library)."""
        index = None
        if indexed and len(self.cand_ids) >= SURE_UNNAMED_INDEX_ABOVE:
            if self._cand_index is None or self._cand_index[0] != self._cand_mark:
                built = NeighbourIndex(None, IndexSpec(self.model_id, self.dim, cast(Metric, self.settings.metric)))
                built.set_items(self.cand_ids, self.cand_vecs)
                built.build()
                self._cand_index = (self._cand_mark, built)
            index = self._cand_index[1]
        return Unnamed(self.cand_ids, self._metric_space(self.cand_vecs), self.cand_photo, index)

    def near(self, vectors: np.ndarray, radius: float) -> set[int]:
        """Unknown/suggested faces whose judgement `vectors` can change: within `radius` and
        within the face's reach (exact, in blocks)."""
        if len(vectors) == 0 or len(self.cand_ids) == 0:
            return set()
        base = self._metric_space(self.cand_vecs)
        q = self._metric_space(np.asarray(vectors, np.float32))
        b_sq = np.einsum("ij,ij->i", base, base)
        best = np.full(len(base), np.inf, np.float32)
        step = max(1, tuning.INDEX_EXACT_CHUNK_CELLS // len(base))
        for lo in range(0, len(q), step):
            qc = q[lo : lo + step]
            d2 = b_sq[None, :] - 2.0 * (qc @ base.T) + np.einsum("ij,ij->i", qc, qc)[:, None]
            best = np.minimum(best, d2.min(axis=0))
        reach = np.fromiter((self.reach.get(f, radius) for f in self.cand_ids.tolist()), np.float32, len(base))
        limit = np.minimum(reach, radius)
        return set(self.cand_ids[best <= limit * limit].tolist())

    def _metric_space(self, vecs: np.ndarray) -> np.ndarray:
        """Angular models compare unit vectors (as the index does)."""
        if self.settings.metric == "angular":
            return vecs / np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-12)
        return vecs

    def _load(self, ids: list[int]) -> np.ndarray:
        blobs: dict[int, bytes] = {}
        for lo in range(0, len(ids), tuning.SUGGEST_BATCH):
            chunk = ids[lo : lo + tuning.SUGGEST_BATCH]
            blobs.update(m.rows(m.Face.select(m.Face.id, m.Face.embedding).where(m.Face.id.in_(chunk))))
        return vectors_of([bytes(blobs[i]) for i in ids], self.dim)


def model_state(core: Core, model_id: str) -> ModelState | None:
    """The cached state of one embedding model (None when no face of it has an embedding)."""
    query = m.Face.select(m.Face.embedding).where((m.Face.model == model_id) & m.Face.embedding.is_null(False))
    row = query.first()
    if row is None or row.embedding is None:
        return None
    dim = len(bytes(row.embedding)) // 4
    state: ModelState = core.tool(f"match:{model_id}:{dim}", lambda: ModelState(core.cfg, model_id, dim))
    return state


def reset_cache(core: Core) -> None:
    """Forget the per-process states (tests; after a re-embedding in place)."""
    with core._lock:
        for key in [k for k in core._tools if k.startswith("match:")]:
            del core._tools[key]


def forget_vectors(core: Core, faces: Iterable[tuple[int, str | None]]) -> None:
    """Deleted faces leave this process's matcher now (other processes notice on their next sync)."""
    by_model: dict[str, list[int]] = {}
    for fid, model in faces:
        if model:
            by_model.setdefault(model, []).append(fid)
    for model, ids in by_model.items():
        state = model_state(core, model)
        if state is not None:
            with state.lock:
                state.apply(ids)
