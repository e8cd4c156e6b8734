"""Suggestions from confirmed faces: the database side of faces_match / faces_assign / faces_index.

Why a per-process, per-model state kept in sync with the database instead of a reload per
call: loading 100k embeddings takes seconds, a confirmation must count for the very next
suggestion. Each call diffs the confirmed face ids (one cheap query) against the Matcher and
feeds it only what changed; faces added since the Annoy index was built are searched exactly
(faces_index), and the index is rebuilt by a debounced job (`rebuild_index`).
Embeddings of different models never meet: one state, one index folder per embedding id.
A face's embedding never changes in place (re-analysis makes new face rows); if that ever
changes, call `reset_cache`.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

import numpy as np

from . import models as m
from . import tuning
from .config import Config
from .faces_assign import assign_per_photo
from .faces_index import IndexMeta, IndexSpec, Metric, NeighbourIndex
from .faces_match import Matcher, MatchSettings, Suggestion
from .pipeline import StageContext
from .review_undo import chunked
from .views import RefreshReport

CANDIDATE_STATES = (m.FACE_UNKNOWN, m.FACE_SUGGESTED)
# updated_at as stored (text on SQLite): compared, never parsed, so 100k rows sync fast.
_STAMP = m.Face.updated_at.cast("text")


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
        self.lock = threading.RLock()
        self._loaded = False
        self._seen: dict[int, tuple[int, Any]] = {}  # confirmed face -> (person, updated_at)
        self._cand_seen: dict[int, Any] = {}  # unknown/suggested face -> updated_at
        self.cand_ids = np.zeros(0, np.int64)
        self.cand_vecs = np.zeros((0, dim), np.float32)

    def sync(self) -> None:
        """Bring the confirmed set in line with the database (only the differences are loaded).

        A face whose updated_at moved is re-read: re-analysis replaces a vector in place, and
        every review change stamps updated_at.
        """
        rows = m.rows(
            m.Face.select(m.Face.id, m.Face.person, _STAMP).where(
                (m.Face.state == m.FACE_CONFIRMED)
                & (m.Face.model == self.model_id)
                & m.Face.embedding.is_null(False)
            )
        )
        want = {int(f): (int(p), stamp) for f, p, stamp in rows}
        if not self._loaded:
            ids = sorted(want)
            if ids:  # (an empty matcher is already in that state)
                self.matcher.set_confirmed(ids, self._load(ids), [want[i][0] for i in ids])
            self._loaded, self._seen = True, want
            return
        gone = [f for f in self._seen if f not in want]
        if gone:
            self.matcher.unconfirm(gone)
        changed = sorted(f for f, v in want.items() if self._seen.get(f) != v)
        if changed:
            self.matcher.confirm(changed, self._load(changed), [want[f][0] for f in changed])
        self._seen = want

    def sync_candidates(self) -> None:
        """The unknown/suggested faces' vectors, re-read only for faces that changed."""
        rows = m.rows(
            m.Face.select(m.Face.id, _STAMP).where(
                m.Face.state.in_(CANDIDATE_STATES)
                & (m.Face.model == self.model_id)
                & m.Face.embedding.is_null(False)
            )
        )
        want = {int(f): stamp for f, stamp in rows}
        keep = np.fromiter((want.get(int(f)) == self._cand_seen.get(int(f)) for f in self.cand_ids), bool)
        keep = keep.reshape(-1)
        kept = set(self.cand_ids[keep].tolist())
        new = [f for f in want if f not in kept]
        self.cand_ids = np.concatenate([self.cand_ids[keep], np.asarray(new, np.int64)])
        self.cand_vecs = np.concatenate([self.cand_vecs[keep], self._load(new)])
        self._cand_seen = want

    def near(self, vectors: np.ndarray, radius: float) -> set[int]:
        """Unknown/suggested faces within `radius` of any of `vectors` (exact, in blocks)."""
        out: set[int] = set()
        if len(vectors) == 0 or len(self.cand_ids) == 0:
            return out
        base = self._metric_space(self.cand_vecs)
        q = self._metric_space(np.asarray(vectors, np.float32))
        b_sq = np.einsum("ij,ij->i", base, base)
        step = max(1, tuning.INDEX_EXACT_CHUNK_CELLS // len(base))
        for lo in range(0, len(q), step):
            qc = q[lo : lo + step]
            d2 = b_sq[None, :] - 2.0 * (qc @ base.T) + np.einsum("ij,ij->i", qc, qc)[:, None]
            hit = (d2 <= radius * radius).any(axis=0)
            out.update(self.cand_ids[hit].tolist())
        return out

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


def model_state(core: Any, model_id: str) -> ModelState | None:
    """The cached state of one embedding model (None when no face of it has an embedding)."""
    query = m.Face.select(m.Face.embedding).where(
        (m.Face.model == model_id) & m.Face.embedding.is_null(False)
    )
    row = query.first()
    if row is None or row.embedding is None:
        return None
    dim = len(bytes(row.embedding)) // 4
    state: ModelState = core.tool(f"match:{model_id}:{dim}", lambda: ModelState(core.cfg, model_id, dim))
    return state


def reset_cache(core: Any) -> None:
    """Forget the per-process states (tests; after a re-embedding in place)."""
    with core._lock:
        for key in [k for k in core._tools if k.startswith("match:")]:
            del core._tools[key]


def _models(face_ids: Iterable[int] | None = None) -> list[str]:
    query = m.Face.select(m.Face.model).where(m.Face.model.is_null(False) & m.Face.embedding.is_null(False))
    if face_ids is None:
        return sorted({str(r) for (r,) in m.rows(query.distinct())})
    found: set[str] = set()
    for part in chunked(face_ids):
        found.update(str(r) for (r,) in m.rows(query.where(m.Face.id.in_(part)).distinct()))
    return sorted(found)


# --- refresh ---------------------------------------------------------------------------------
def refresh_suggestions(
    core: Any,
    face_ids: Iterable[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RefreshReport:
    """Judge unknown/suggested faces again (all of them, or `face_ids` and their photo-mates)."""
    start = time.monotonic()
    wanted = None if face_ids is None else sorted({int(i) for i in face_ids})
    if wanted is not None and not wanted:
        return RefreshReport()
    hidden = {int(i) for (i,) in m.rows(m.Person.select(m.Person.id).where(m.Person.hidden))}
    totals = {"considered": 0, "likely": 0, "maybe": 0, "unknown": 0, "changed": 0}
    models = _models(wanted) if wanted is not None else _models()
    for model_id in models:
        state = model_state(core, model_id)
        if state is None:
            continue
        base = m.Face.select(m.Face.id, m.Face.photo).where(
            m.Face.state.in_(CANDIDATE_STATES) & (m.Face.model == model_id) & m.Face.embedding.is_null(False)
        )
        pairs = [(int(f), int(p)) for f, p in m.rows(base.order_by(m.Face.photo, m.Face.id))]
        if wanted is not None:  # the wanted faces and their photo-mates (one assignment per photo)
            photos: set[int] = set()
            for part in chunked(wanted):
                photos.update(
                    int(p) for (p,) in m.rows(m.Face.select(m.Face.photo).where(m.Face.id.in_(part)))
                )
            pairs = [pair for pair in pairs if pair[1] in photos]
        with state.lock:
            state.sync()
            for chunk in _photo_chunks(pairs, tuning.SUGGEST_BATCH):
                counts = _judge_chunk(state, chunk, hidden)
                for key, n in counts.items():
                    totals[key] += n
                if progress is not None:
                    progress(totals["considered"], len(pairs))
    return RefreshReport(**totals, models=models, seconds=round(time.monotonic() - start, 3))


def refresh_affected(core: Any, face_ids: Iterable[int], person_ids: Iterable[int] = ()) -> RefreshReport:
    """After a review change: refresh the faces the change can move, not the whole library.

    Affected = the changed faces themselves, faces suggested for the people involved, faces near
    (within the model threshold x SUGGEST_AFFECTED_RADIUS) a changed face, and their photo-mates.
    """
    changed = sorted({int(i) for i in face_ids})
    persons = sorted({int(p) for p in person_ids})
    affected: set[int] = set(changed)
    for part in chunked(persons):
        rows = m.Face.select(m.Face.id).where(
            (m.Face.state == m.FACE_SUGGESTED) & m.Face.suggested_person.in_(part)
        )
        affected.update(int(i) for (i,) in m.rows(rows))
    for model_id in _models(changed):
        state = model_state(core, model_id)
        if state is None:
            continue
        blobs: list[bytes] = []
        for part in chunked(changed):
            rows = m.Face.select(m.Face.embedding).where(
                m.Face.id.in_(part) & (m.Face.model == model_id) & m.Face.embedding.is_null(False)
            )
            blobs += [bytes(b) for (b,) in m.rows(rows)]
        vecs = vectors_of(blobs, state.dim)
        with state.lock:
            state.sync_candidates()
            affected |= state.near(vecs, state.settings.threshold * tuning.SUGGEST_AFFECTED_RADIUS)
    return refresh_suggestions(core, affected)


def _photo_chunks(pairs: list[tuple[int, int]], size: int) -> Iterable[list[tuple[int, int]]]:
    """Chunks of (face, photo) pairs that never split a photo (the assignment is per photo)."""
    chunk: list[tuple[int, int]] = []
    for pair in pairs:
        if len(chunk) >= size and chunk[-1][1] != pair[1]:
            yield chunk
            chunk = []
        chunk.append(pair)
    if chunk:
        yield chunk


def _judge_chunk(state: ModelState, chunk: list[tuple[int, int]], hidden: set[int]) -> dict[str, int]:
    ids = [f for f, _ in chunk]
    photo_of = dict(chunk)
    rows: dict[int, Any] = {
        int(f.id): f
        for f in m.Face.select(
            m.Face.id, m.Face.embedding, m.Face.state, m.Face.suggested_person, m.Face.band, m.Face.confidence
        ).where(m.Face.id.in_(ids))
    }
    ids = [f for f in ids if f in rows]
    vecs = vectors_of([bytes(rows[f].embedding) for f in ids], state.dim)
    rejected: dict[int, set[int]] = {}
    for f, p in m.rows(
        m.FaceRejection.select(m.FaceRejection.face, m.FaceRejection.person).where(
            m.FaceRejection.face.in_(ids)
        )
    ):
        rejected.setdefault(int(f), set()).add(int(p))
    taken: dict[int, set[int]] = {}
    photos = sorted(set(photo_of.values()))
    for ph, p in m.rows(
        m.Face.select(m.Face.photo, m.Face.person).where(
            m.Face.photo.in_(photos) & (m.Face.state == m.FACE_CONFIRMED) & m.Face.person.is_null(False)
        )
    ):
        taken.setdefault(int(ph), set()).add(int(p))
    suggestions = state.matcher.suggest(ids, vecs, rejected)
    suggestions = assign_per_photo(suggestions, photo_of, state.matcher, taken)
    counts = {"considered": len(ids), "likely": 0, "maybe": 0, "unknown": 0, "changed": 0}
    with m.database.atomic():
        for s in suggestions:
            person, band = (s.person_id, s.band) if s.person_id not in hidden else (None, None)
            counts[band or "unknown"] += 1
            if _store(rows[s.face_id], s, person, band):
                counts["changed"] += 1
    return counts


def _store(face: Any, s: Suggestion, person: int | None, band: str | None) -> bool:
    """Write one judgement; True when the suggested person or band changed."""
    state = m.FACE_SUGGESTED if person is not None else m.FACE_UNKNOWN
    explanation = None
    if s.explanation is not None:
        explanation = {**s.explanation.as_dict(), "candidate": s.candidate_id}
    confidence = round(float(s.confidence), 4)
    moved = (face.suggested_person_id, face.band) != (person, band) or face.state != state
    if moved or face.confidence != confidence:
        values: dict[str, Any] = {"state": state, "suggested_person": person, "band": band}
        values.update(confidence=confidence, explanation=explanation)
        if person is not None:
            values["cluster"] = None  # clusters hold unknown faces only (clusters.py)
        m.Face.update(values).where((m.Face.id == face.id) & m.Face.state.in_(CANDIDATE_STATES)).execute()
    return moved


# --- the index -------------------------------------------------------------------------------
def rebuild_index(core: Any, force: bool = False) -> list[IndexMeta]:
    """Publish a new Annoy generation per model when the live set changed (the debounced job).

    Skipped below INDEX_EXACT_BELOW confirmed faces (exact search is as fast) unless forced.
    """
    built = []
    for model_id in _models():
        state = model_state(core, model_id)
        if state is None:
            continue
        with state.lock:
            state.sync()
            index = state.matcher.index
            if len(index) == 0 or not (force or (index.stale and len(index) >= index.exact_below)):
                continue
            built.append(index.build())
    return built


def index_status(core: Any) -> list[dict[str, Any]]:
    """Per model: confirmed faces, the published generation and whether a rebuild is due."""
    out = []
    for model_id in _models():
        state = model_state(core, model_id)
        if state is None:
            continue
        with state.lock:
            state.sync()
            index = state.matcher.index
            meta = index.meta
            out.append(
                {
                    "model": model_id,
                    "confirmed": len(index),
                    "generation": meta.generation if meta else None,
                    "indexed": meta.count if meta else 0,
                    "stale": index.stale,
                    "exact": len(index) < index.exact_below,
                }
            )
    return out


# --- the pipeline stage ----------------------------------------------------------------------
def stage_match(core: Any, ctx: StageContext) -> dict[str, Any]:
    """Refresh every suggestion, then the clusters of unknown faces, then the Annoy index.

    Job params: {"full": true} re-clusters from scratch instead of incrementally.
    """
    from .clusters import refresh_clusters

    def progress(done: int, total: int) -> None:
        ctx.total = total
        ctx.done = done
        ctx.advance(0)  # flushes progress and raises JobCancelled when asked to stop

    ctx.set_total(0)
    report = refresh_suggestions(core, None, progress)
    ctx.check_cancel()
    clusters = refresh_clusters(core, full=bool(ctx.params.get("full")))
    ctx.check_cancel()
    built = rebuild_index(core)
    ctx.info(
        f"judged {report.considered} faces: {report.likely} likely, {report.maybe} maybe, "
        f"{report.unknown} unknown ({report.changed} changed); {clusters.clusters} clusters of "
        f"{clusters.clustered} faces; index {'rebuilt' if built else 'unchanged'}"
    )
    return {
        "faces": report.considered,
        "likely": report.likely,
        "maybe": report.maybe,
        "unknown": report.unknown,
        "changed": report.changed,
        "clusters": clusters.clusters,
        "clustered": clusters.clustered,
        "index_generations": [meta.generation for meta in built],
    }
