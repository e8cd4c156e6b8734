"""Suggestions from confirmed faces: the database side of matching (match, assign, index).

refresh_suggestions judges unknown/suggested faces (all, or some and their photo-mates) and
writes suggested person, confidence, band and explanation; refresh_affected does it for what a
review change can move, so a confirmation counts at once; rebuild_index publishes the Annoy
index (a debounced job). The pipeline stage that runs them all is stages/match.py; the in-memory
state per model lives in suggest/state.py.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Container, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tagmyphotos import tuning
from tagmyphotos.matching.assign import assign_per_photo, limit_to_names
from tagmyphotos.matching.index import IndexMeta
from tagmyphotos.matching.match import Suggestion
from tagmyphotos.matching.sure import Evidence, Unnamed, certainty, gather
from tagmyphotos.states import Certainty, FaceState, MatchBand
from tagmyphotos.store import models as m
from tagmyphotos.store.db import chunked
from tagmyphotos.store.views import RefreshReport
from tagmyphotos.suggest.state import (
    CANDIDATE_STATES,
    ModelState,
    fast_rows,
    match_settings,
    model_name,
    model_state,
    reset_cache,
    vectors_of,
)

if TYPE_CHECKING:
    from tagmyphotos.core import Core

# A change of more faces than this (a bulk accept, an undo of one) re-judges every unknown face
# of the model instead of searching what is near each changed face: the search costs
# changed x unknown distances, and the near set covers most faces by then anyway.
SUGGEST_AFFECTED_FULL_ABOVE = 2000

__all__ = [
    "CANDIDATE_STATES",
    "ModelState",
    "index_status",
    "match_settings",
    "model_name",
    "model_state",
    "rebuild_index",
    "refresh_affected",
    "refresh_suggestions",
    "reset_cache",
    "vectors_of",
]


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
    core: Core,
    face_ids: Iterable[int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> RefreshReport:
    """Judge unknown/suggested faces again (all of them, or `face_ids` and their photo-mates)."""
    start = time.monotonic()
    wanted = None if face_ids is None else sorted({int(i) for i in face_ids})
    if wanted is not None and not wanted:
        return RefreshReport()
    # Never suggest a hidden person, nor one deleted since this process last synced.
    people = m.rows(m.Person.select(m.Person.id, m.Person.hidden))
    hidden = {int(i) for i, h in people if h}
    hidden_or_gone = _HiddenOrGone(hidden, {int(i) for i, _ in people})
    totals = {"considered": 0, "likely": 0, "maybe": 0, "unknown": 0, "changed": 0, "sure": 0}
    models = _models(wanted) if wanted is not None else _models()
    for model_id in models:
        state = model_state(core, model_id)
        if state is None:
            continue
        base = m.Face.select(m.Face.id, m.Face.photo).where(
            m.Face.state.in_(CANDIDATE_STATES) & (m.Face.model == model_id) & m.Face.embedding.is_null(False)
        )
        if wanted is None:
            pairs = [(int(f), int(p)) for f, p in fast_rows(base)]
        else:  # the wanted faces and their photo-mates (one assignment per photo)
            photos: set[int] = set()
            for part in chunked(wanted):
                photos.update(int(p) for (p,) in fast_rows(m.Face.select(m.Face.photo).where(m.Face.id.in_(part))))
            pairs = []
            for part in chunked(sorted(photos)):
                pairs += [(int(f), int(p)) for f, p in fast_rows(base.where(m.Face.photo.in_(part)))]
        pairs.sort(key=lambda pair: (pair[1], pair[0]))
        with state.lock:
            state.sync(force=wanted is None)
            state.sync_candidates(force=wanted is None)
            unnamed = state.unnamed(indexed=wanted is None)
            for chunk in _photo_chunks(pairs, tuning.SUGGEST_BATCH):
                counts = _judge_chunk(state, chunk, hidden_or_gone, unnamed)
                for key, n in counts.items():
                    totals[key] += n
                if progress is not None:
                    progress(totals["considered"], len(pairs))
    return RefreshReport(**totals, models=models, seconds=round(time.monotonic() - start, 3))


def refresh_affected(core: Core, face_ids: Iterable[int], person_ids: Iterable[int] = ()) -> RefreshReport:
    """After a review change: refresh the faces the change can move, not the whole library.

    Affected = the changed faces themselves; faces near a changed face (within the model
    threshold + SUGGEST_AFFECTED_SCALES logistic scales: farther, a face's vote is < 5%, and
    within the face's own reach: beyond its farthest fetched neighbour it was not counted); faces
    suggested for `person_ids` and for people whose look-alike statistics the change moved;
    and the photo-mates of all of them (one person per photo).
    """
    changed = sorted({int(i) for i in face_ids})
    persons = {int(p) for p in person_ids}
    affected: set[int] = set(changed)
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
        radius = state.settings.threshold + tuning.SUGGEST_AFFECTED_SCALES * state.settings.scale
        with state.lock:
            before = {p: (st.nearest_person, st.gap) for p, st in state.matcher.stats.items()}
            state.apply(changed)
            state.sync(force=False)
            after = {p: (st.nearest_person, st.gap) for p, st in state.matcher.stats.items()}
            persons |= {p for p in before.keys() | after.keys() if before.get(p) != after.get(p)}
            state.sync_candidates(force=False)
            if len(vecs) > SUGGEST_AFFECTED_FULL_ABOVE:
                affected.update(state.cand_ids.tolist())  # a bulk change: judge everything
            else:
                affected |= state.near(vecs, radius)
    for part in chunked(sorted(persons)):
        suggested = (m.Face.state == m.FaceState.SUGGESTED) & m.Face.suggested_person.in_(part)
        rows = m.Face.select(m.Face.id).where(suggested)
        affected.update(int(i) for (i,) in m.rows(rows))
    return refresh_suggestions(core, affected)


class _HiddenOrGone:
    """`person in x`: the person is hidden or does not exist (any more)."""

    def __init__(self, hidden: set[int], existing: set[int]) -> None:
        self.hidden, self.existing = hidden, existing

    def __contains__(self, person: object) -> bool:
        return person in self.hidden or person not in self.existing


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


def _judge_chunk(
    state: ModelState, chunk: list[tuple[int, int]], hidden: Container[int], unnamed: Unnamed
) -> dict[str, int]:
    ids = [f for f, _ in chunk]
    photo_of = dict(chunk)
    rows: dict[int, Any] = {
        int(f.id): f
        for f in m.Face.select(
            m.Face.id, m.Face.embedding, m.Face.state, m.Face.suggested_person, m.Face.band, m.Face.confidence,
            m.Face.certainty,
        ).where(m.Face.id.in_(ids))
    }
    ids = [f for f in ids if f in rows]
    vecs = vectors_of([bytes(rows[f].embedding) for f in ids], state.dim)
    rejected: dict[int, set[int]] = {}
    for f, p in m.rows(
        m.FaceRejection.select(m.FaceRejection.face, m.FaceRejection.person).where(m.FaceRejection.face.in_(ids))
    ):
        rejected.setdefault(int(f), set()).add(int(p))
    taken: dict[int, set[int]] = {}
    photos = sorted(set(photo_of.values()))
    for ph, p in m.rows(
        m.Face.select(m.Face.photo, m.Face.person).where(
            m.Face.photo.in_(photos) & (m.Face.state == m.FaceState.CONFIRMED) & m.Face.person.is_null(False)
        )
    ):
        taken.setdefault(int(ph), set()).add(int(p))
    suggestions = state.matcher.suggest(ids, vecs, rejected)
    fetch = state.settings.fetch
    for sug in suggestions:
        full = len(sug.neighbours) >= fetch
        state.reach[sug.face_id] = sug.neighbours[-1][1] if full else math.inf
    names = _photo_level_names(photos)
    if names:
        suggestions = limit_to_names(suggestions, photo_of, names, state.matcher, taken)
    suggestions = assign_per_photo(suggestions, photo_of, state.matcher, taken)
    evidence = gather(state.matcher, suggestions, vecs, photo_of, unnamed, state.untrusted, state.sure_rule)
    counts = {"considered": len(ids), "likely": 0, "maybe": 0, "unknown": 0, "changed": 0, "sure": 0}
    writes = []
    for s, ev in zip(suggestions, evidence, strict=True):
        person, band = (s.person_id, s.band) if s.person_id not in hidden else (None, None)
        counts[band or "unknown"] += 1
        level = certainty(s, ev is not None and ev.meets(state.sure_rule)) if person is not None else None
        counts["sure"] += level == Certainty.SURE
        judged = _judgement(rows[s.face_id], s, person, band, level, ev)
        if judged is not None:
            counts["changed"] += judged.moved
            writes.append(judged)
    _write(writes)
    return counts


def _photo_level_names(photos: list[int]) -> dict[int, set[int]]:
    """Photo id -> the persons its own tags name on no face (stages/steps/embedded_names.py)."""
    out: dict[int, set[int]] = {}
    for part in chunked(photos):
        query = m.PhotoName.select(m.PhotoName.photo, m.PhotoName.person).where(
            m.PhotoName.photo.in_(part) & m.PhotoName.face.is_null()
        )
        for ph, p in m.rows(query):
            out.setdefault(int(ph), set()).add(int(p))
    return out


@dataclass(frozen=True)
class Judgement:
    """A face's new suggestion, as one row of the prepared UPDATE in `_write`."""

    face_id: int
    state: FaceState
    person: int | None
    band: MatchBand | None
    confidence: float
    certainty: Certainty | None  # matching.sure
    explanation: str | None
    moved: bool  # the suggested person, band, level or state changed (not only the confidence)

    def row(self) -> tuple[Any, ...]:
        # a suggested face leaves its cluster: clusters hold unknown faces only (clusters.py)
        leaves_cluster = self.person is not None
        return (self.state, self.person, self.band, self.confidence, self.certainty, self.explanation,
                leaves_cluster, self.face_id)  # fmt: skip


def _judgement(
    face: m.Face,
    s: Suggestion,
    person: int | None,
    band: MatchBand | None,
    level: Certainty | None,
    ev: Evidence | None,
) -> Judgement | None:
    """The face's new values, or None when nothing about it changed."""
    state = m.FaceState.SUGGESTED if person is not None else m.FaceState.UNKNOWN
    explanation = None
    if s.explanation is not None:
        sure = ev.as_dict() if ev is not None else {}
        explanation = json.dumps({**s.explanation.as_dict(), **sure, "candidate": s.candidate_id}, sort_keys=True)
    confidence = round(float(s.confidence), 4)
    moved = (face.suggested_person_id, face.band, face.certainty) != (person, band, level) or face.state != state
    if not moved and face.confidence == confidence:
        return None
    return Judgement(int(face.id), state, person, band, confidence, level, explanation, moved)


def _write(judged: list[Judgement]) -> None:
    """Prepared UPDATEs for many faces (peewee would build the SQL again for every row). A face
    whose person, band, level and state stay (most of a refresh: only the confidence moved) gets
    its confidence and explanation alone: setting its other columns to the same values would
    rewrite every index on them and run the face tally's trigger (store/tally.py) for nothing."""
    if not judged:
        return
    db = m.database.obj
    q = db.param
    t, c = m.Face._meta.table_name, m.Face
    where = f'WHERE "{c.id.column_name}" = {q} AND "{c.state.column_name}" IN ({q}, {q})'
    moved = (
        f'UPDATE "{t}" SET "{c.state.column_name}" = {q}, "{c.suggested_person.column_name}" = {q}, '
        f'"{c.band.column_name}" = {q}, "{c.confidence.column_name}" = {q}, '
        f'"{c.certainty.column_name}" = {q}, "{c.explanation.column_name}" = {q}, '
        f'"{c.cluster.column_name}" = CASE WHEN {q} THEN NULL ELSE "{c.cluster.column_name}" END {where}'
    )
    stayed = f'UPDATE "{t}" SET "{c.confidence.column_name}" = {q}, "{c.explanation.column_name}" = {q} {where}'
    with m.database.atomic():
        cursor = db.cursor()
        cursor.executemany(moved, [(*j.row(), *CANDIDATE_STATES) for j in judged if j.moved])
        cursor.executemany(
            stayed, [(j.confidence, j.explanation, j.face_id, *CANDIDATE_STATES) for j in judged if not j.moved]
        )


# --- the index -------------------------------------------------------------------------------
def rebuild_index(core: Core, force: bool = False) -> list[IndexMeta]:
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


def index_status(core: Core) -> list[dict[str, Any]]:
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
