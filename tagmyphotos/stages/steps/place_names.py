"""Place the library's photo-level names on faces (the database side of matching/place.py).

Names a photo's tags give without a box (Google Takeout, PersonInImage, Lightroom / digiKam
keywords: stages/steps/embedded_names.py keeps them as PhotoName rows without a face) are placed across
the whole library at once, because the evidence for who is who on a group photo is on the
other photos naming the same people. A sure placement confirms the face for the person, its
source being the tags that named them (the PhotoName row gets the face, so the photo page and
the API say where it came from); the others become suggestions, written after the match
stage's refresh (which knows nothing of them) and only on faces it left unknown, never twice
for one person in a photo. Runs in the match stage before the refresh, so what was placed is
learnt from at once; safe to rerun (a placed name is no longer photo-level).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from tagmyphotos.matching.place import NamedPhoto, Placement, PlaceSettings, place_names
from tagmyphotos.review.people import recount
from tagmyphotos.states import Certainty, MatchBand
from tagmyphotos.store import models as m
from tagmyphotos.store.db import chunked
from tagmyphotos.suggest.state import CANDIDATE_STATES, fast_rows, match_settings, model_state, vectors_of

log = logging.getLogger("tagmyphotos.place")

if TYPE_CHECKING:
    from tagmyphotos.core import Core


@dataclass
class PlaceReport:
    """What a placement run did (or would do); the counts of the Takeout import report."""

    photos: int = 0  # photos with names on no face
    names: int = 0  # such names
    placed: int = 0  # confirmed on a face
    suggested: int = 0  # suggested for a face (to review)
    photo_level: int = 0  # left as photo-level names (no face fits, or more names than faces)
    conflicts: int = 0  # the name was rejected on every face it could be
    rounds: int = 0
    pending: list[Placement] = field(default_factory=list, repr=False)  # the suggestions, to write
    confirmed_faces: list[int] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("pending")
        out.pop("confirmed_faces")
        return out


def _open_names() -> dict[int, set[int]]:
    """Photo -> persons its tags name on no face, minus those already confirmed on one of its faces."""
    names: dict[int, set[int]] = defaultdict(set)
    for ph, p in fast_rows(m.PhotoName.select(m.PhotoName.photo, m.PhotoName.person).where(m.PhotoName.face.is_null())):
        names[int(ph)].add(int(p))
    for part in chunked(sorted(names)):
        query = m.Face.select(m.Face.photo, m.Face.person).where(
            m.Face.photo.in_(part) & (m.Face.state == m.FaceState.CONFIRMED) & m.Face.person.is_null(False)
        )
        for ph, p in fast_rows(query):
            names[int(ph)].discard(int(p))
    return {ph: ps for ph, ps in names.items() if ps}


def place_library(core: Core, dry_run: bool = False) -> PlaceReport:
    """Place every photo-level name the library's faces allow; confirm the sure ones."""
    report = PlaceReport()
    names = _open_names()
    report.photos, report.names = len(names), sum(len(v) for v in names.values())
    faces_of: dict[int, list[tuple[int, str, bytes]]] = defaultdict(list)
    for part in chunked(sorted(names)):
        query = m.Face.select(m.Face.id, m.Face.photo, m.Face.model, m.Face.embedding).where(
            m.Face.photo.in_(part) & m.Face.state.in_(CANDIDATE_STATES) & (m.Face.source == "detected")
            & m.Face.embedding.is_null(False) & m.Face.model.is_null(False)
        )  # fmt: skip
        for f, ph, model, blob in fast_rows(query):
            faces_of[int(ph)].append((int(f), str(model), bytes(blob)))
    placed: dict[tuple[int, int], Placement] = {}
    for model_id in sorted({model for rows in faces_of.values() for _, model, _ in rows}):
        for pl in _place_model(core, model_id, names, faces_of).placements:
            log.debug("placement %s", pl)
            placed[(pl.photo_id, pl.person_id)] = pl
    report.conflicts = _conflicts(names, faces_of, placed)
    sure = [pl for pl in placed.values() if pl.sure]
    report.placed = len(sure)
    report.pending = [pl for pl in placed.values() if not pl.sure and pl.band is not None]
    report.suggested = len(report.pending)
    report.photo_level = report.names - report.placed
    if not dry_run and sure:
        _confirm(sure)
        report.confirmed_faces = [pl.face_id for pl in sure]
    return report


def _place_model(
    core: Core, model_id: str, names: dict[int, set[int]], faces_of: dict[int, list[tuple[int, str, bytes]]]
) -> Any:
    settings = match_settings(core.cfg, model_id)
    photos, vectors = [], {}
    for ph, rows in faces_of.items():
        mine = [(f, blob) for f, model, blob in rows if model == model_id]
        if not mine:
            continue
        dim = len(mine[0][1]) // 4
        for (f, _), vec in zip(mine, vectors_of([b for _, b in mine], dim), strict=True):
            vectors[f] = vec
        photos.append(NamedPhoto(ph, tuple(f for f, _ in mine), tuple(sorted(names[ph]))))
    persons = sorted({p for ph in photos for p in ph.names})
    exemplars: dict[int, list[np.ndarray]] = defaultdict(list)
    for part in chunked(persons):
        query = m.Face.select(m.Face.person, m.Face.embedding).where(
            m.Face.person.in_(part) & (m.Face.state == m.FaceState.CONFIRMED) & (m.Face.model == model_id)
            & m.Face.embedding.is_null(False)
        )  # fmt: skip
        for p, blob in fast_rows(query):
            exemplars[int(p)].append(np.frombuffer(bytes(blob), np.float32))
    rejected = _rejections(sorted(vectors))
    stacked = {p: np.stack(v) for p, v in exemplars.items()}
    nearest = _nearest_confirmed(core, model_id, vectors, rejected)
    return place_names(photos, vectors, stacked, PlaceSettings.for_match(settings), rejected, nearest)


def _nearest_confirmed(
    core: Core, model_id: str, vectors: dict[int, np.ndarray], rejected: dict[int, set[int]]
) -> dict[int, tuple[tuple[int, float], ...]]:
    """Face -> (person, distance) of its nearest confirmed faces (the matcher's own search)."""
    state = model_state(core, model_id)
    if state is None or not vectors:
        return {}
    ids = sorted(vectors)
    with state.lock:
        state.sync()
        found = state.matcher.suggest(ids, np.stack([vectors[f] for f in ids]), rejected)
    return {s.face_id: s.neighbours for s in found}


def _rejections(face_ids: list[int]) -> dict[int, set[int]]:
    """Face -> the persons the owner said it is not."""
    rejected: dict[int, set[int]] = defaultdict(set)
    for part in chunked(face_ids):
        rows = m.FaceRejection.select(m.FaceRejection.face, m.FaceRejection.person)
        for f, p in fast_rows(rows.where(m.FaceRejection.face.in_(part))):
            rejected[int(f)].add(int(p))
    return rejected


def _conflicts(
    names: dict[int, set[int]], faces_of: dict[int, list[tuple[int, str, bytes]]], placed: dict[tuple[int, int], Any]
) -> int:
    """Names rejected on every open face of their photo (the owner said no to each)."""
    rejected = _rejections([f for rows in faces_of.values() for f, _, _ in rows])
    count = 0
    for ph, persons in names.items():
        open_faces = [f for f, _, _ in faces_of.get(ph, [])]
        for p in persons:
            if open_faces and (ph, p) not in placed and all(p in rejected[f] for f in open_faces):
                count += 1
    return count


def _confirm(sure: list[Placement]) -> None:
    """Confirm the sure placements: each face for its person, the PhotoName row on that face."""
    with m.database.atomic():
        for pl in sure:
            moved = (
                m.Face.update(state=m.FaceState.CONFIRMED, person=pl.person_id, suggested_person=None, confidence=None,
                              band=None, explanation=None, cluster=None, updated_at=m.utcnow())
                .where((m.Face.id == pl.face_id) & m.Face.state.in_(CANDIDATE_STATES))
                .execute()
            )  # fmt: skip
            if moved:
                m.PhotoName.update(face=pl.face_id).where(
                    (m.PhotoName.photo == pl.photo_id) & (m.PhotoName.person == pl.person_id)
                ).execute()
        recount({pl.person_id for pl in sure})


def suggest_placements(pending: list[Placement]) -> int:
    """Write the unsure placements as suggestions on faces the refresh left unknown (not when
    the person is already suggested for another face of the photo). Returns how many."""
    written = 0
    with m.database.atomic():
        for pl in pending:
            taken = m.Face.select().where(
                (m.Face.photo == pl.photo_id) & (m.Face.id != pl.face_id)
                & ((m.Face.suggested_person == pl.person_id) | (m.Face.person == pl.person_id))
            ).exists()  # fmt: skip
            if taken:
                continue
            why = {"placed": True, "basis": pl.basis, "distance": pl.distance, "margin": pl.margin,
                   "candidate": pl.person_id}  # fmt: skip
            written += (
                m.Face.update(state=m.FaceState.SUGGESTED, suggested_person=pl.person_id, band=pl.band,
                              confidence=pl.confidence, explanation=why,
                              # never "sure": that level is the matching rule's alone (matching/sure.py)
                              certainty=Certainty.LIKELY if pl.band == MatchBand.LIKELY else Certainty.CHECK,
                              cluster=None, updated_at=m.utcnow())
                .where((m.Face.id == pl.face_id) & (m.Face.state == m.FaceState.UNKNOWN))
                .execute()
            )  # fmt: skip
    return written
