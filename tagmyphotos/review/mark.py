"""Faces the detector missed, marked by hand on the photo view: add (named or not) and remove.

A manual face is an ordinary Face row (source "manual"): it names the photo, is written into
the file like any confirmed face, survives re-analysis (analysis only replaces detected
faces), and teaches the matcher only when a detector confirmed a face in the box
(faces/manual.py). Like every review action it is one transaction with an undo entry, keeps one
person per photo and refreshes the suggestions it can change. Public entry points are
add_face / remove_face.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from tagmyphotos import tuning
from tagmyphotos.faces.analyze import settings_from_config
from tagmyphotos.faces.images import ImageError
from tagmyphotos.faces.manual import BoxEmbedder, clamp_box
from tagmyphotos.faces.thumb import save_thumbnail, thumb_path
from tagmyphotos.geometry import iou, oriented_size
from tagmyphotos.review.confirm import confirm_faces
from tagmyphotos.review.people import (
    Conflict,
    NotFound,
    PeopleError,
    clean_name,
    get_person,
    person_view,
    recount,
    refresh_after,
    resolve_person,
)
from tagmyphotos.review.undo import Journal
from tagmyphotos.store import models as m
from tagmyphotos.store.db import serialized
from tagmyphotos.store.views import ReviewResult
from tagmyphotos.suggest.state import forget_vectors

if TYPE_CHECKING:
    from tagmyphotos.core import Core


def _embedder(core: Core) -> Any:
    """One box embedder per process (models loaded on the first manual face, not at start)."""
    return core.tool("box_embedder", lambda: BoxEmbedder(settings_from_config(core.cfg)))


def check_box(box: Iterable[float], width: int, height: int, min_px: int) -> tuple[int, int, int, int]:
    """The box clamped to the photo; Conflict (409) when nothing of it is inside or it is too small."""
    x, y, w, h = (float(v) for v in box)
    if w <= 0 or h <= 0:
        raise Conflict("a face box needs a positive width and height")
    clamped = clamp_box((x, y, w, h), width, height)
    if clamped is None:
        raise Conflict(f"the box is outside the photo ({width} x {height} pixels)")
    if min(clamped[2], clamped[3]) < min_px:
        raise Conflict(f"a face box must be at least {min_px} x {min_px} pixels of the full photo")
    return clamped


def add_face(core: Core, photo_id: int, box: Iterable[float], who: int | str | None = None) -> ReviewResult:
    """Mark a face the detector missed (box in oriented full-resolution pixels), named or not."""
    photo = m.Photo.get_or_none(m.Photo.id == photo_id)
    if photo is None:
        raise NotFound(f"no photo with id {photo_id}")
    if photo.state != m.PhotoState.DONE or not photo.width or not photo.height:
        raise Conflict(f"{photo.path} has not been analysed (state {photo.state}); faces are marked after analysis")
    width, height = oriented_size(photo.width, photo.height, photo.orientation or 1)
    x, y, w, h = check_box(box, width, height, core.cfg.analysis.min_face_px)
    for other in m.Face.select().where(m.Face.photo == photo.id):
        if iou((x, y, w, h), (other.x, other.y, other.w, other.h)) >= tuning.MANUAL_SAME_FACE_IOU:
            raise Conflict(f"face {other.id} already marks this face; name that one instead")
    if isinstance(who, int):
        get_person(who)  # fail before the slow part
    elif who is not None:
        clean_name(who)
    try:  # outside the transaction: decoding and embedding take a moment
        found = _embedder(core).embed_box(core.cfg.library / photo.path, (x, y, w, h))
    except ImageError as exc:
        raise PeopleError(f"cannot read {photo.path}: {exc}") from exc
    thumb = None
    try:
        with serialized(core.db):
            face = m.Face.create(
                photo=photo.id, source="manual", state=m.FaceState.UNKNOWN, x=x, y=y, w=w, h=h,
                det_score=found.score, quality=found.quality,
                landmarks=None if found.landmarks is None else np.round(found.landmarks, 2).tolist(),
                embedding=None if found.embedding is None else found.embedding.tobytes(), model=found.embedding_id,
            )  # fmt: skip
            rel = thumb_path(photo.id, face.id)
            thumb = save_thumbnail(found.thumbnail, core.cfg.data / rel)
            m.Face.update(thumb=rel).where(m.Face.id == face.id).execute()
            journal = Journal("add-face")
            journal.faces_created.append(int(face.id))
            person: m.Person | None = None
            created, displaced = False, list[int]()
            if who is not None:
                person, created = resolve_person(who, journal)
                displaced = confirm_faces(journal, [face], person, displace=True, respect_rejections=False).displaced
            named = f" as {person.name}" if person is not None else ""
            journal.label = f"marked a face{named} in {photo.path}"
            undo_id = journal.save()
    except BaseException:
        if thumb is not None:
            thumb.unlink(missing_ok=True)
        raise
    refreshed = refresh_after(core, [face.id, *displaced])
    warnings = [] if found.embedding is not None else ["no face found in the box: it names the photo but "
                                                       "does not teach the matcher"]  # fmt: skip
    view = person_view(get_person(person.id)) if person is not None else None
    return ReviewResult("add-face", [int(face.id)], [], displaced, view, created, undo_id, refreshed, warnings)


def remove_face(core: Core, face_id: int) -> ReviewResult:
    """Delete a face marked by hand (a detected one is ignored instead: analysis would find it again)."""
    with serialized(core.db):
        face: Any = m.Face.get_or_none(m.Face.id == face_id)
        if face is None:
            raise NotFound(f"no face with id {face_id}")
        if face.source != "manual":
            raise Conflict(f"face {face_id} was {face.source}, not marked by hand; ignore it instead")
        thumb = core.cfg.data / face.thumb if face.thumb else None
        data = thumb.read_bytes() if thumb is not None and thumb.is_file() else None
        journal = Journal("remove-face", f"removed face {face_id} marked by hand")
        journal.delete_face_snapshot(face, data)
        m.FaceRejection.delete().where(m.FaceRejection.face == face.id).execute()
        face.delete_instance()
        recount([face.person_id])
        undo_id = journal.save()
    if thumb is not None:
        thumb.unlink(missing_ok=True)
    forget_vectors(core, [(int(face.id), face.model)])
    mates = [int(i) for (i,) in m.rows(m.Face.select(m.Face.id).where(m.Face.photo == face.photo_id))]
    refreshed = refresh_after(core, mates, [face.person_id])
    return ReviewResult("remove-face", [int(face_id)], undo_id=undo_id, refreshed=refreshed)
