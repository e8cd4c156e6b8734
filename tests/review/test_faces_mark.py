"""Faces marked by hand on real analysed photos: embedded when a face is in the box, named,
one person per photo, kept by re-analysis, written into the file, removed, undone."""

from __future__ import annotations

import numpy as np
import pytest

from tagmyphotos.core import Core
from tagmyphotos.review import confirm, mark, people
from tagmyphotos.stages.analyze import face_embedding
from tagmyphotos.store import models as m
from tests.support.base import people_in, run


def single_face_photo(core: Core, name: str = "img1.jpg") -> tuple[m.Photo, m.Face]:
    photo = m.Photo.get(m.Photo.path == name)
    faces = list(m.Face.select().where(m.Face.photo == photo.id))
    assert len(faces) == 1
    return photo, faces[0]


def empty_corner(photo: m.Photo, face: m.Face, size: int) -> tuple[int, int, int, int]:
    """A box of background, as far from the face as the photo allows."""
    width, height = (photo.height, photo.width) if (photo.orientation or 1) >= 5 else (photo.width, photo.height)
    x = 0 if face.x + face.w / 2 > width / 2 else width - size
    return x, height - size, size, size


def test_a_missed_face_is_embedded_named_kept_by_reanalysis_and_written(analysed_core: Core) -> None:
    core = analysed_core
    photo, detected = single_face_photo(core)
    box, vector = (detected.x, detected.y, detected.w, detected.h), face_embedding(detected)
    # the detector "missed" it: the row goes, the user boxes the face (a bit loosely) and names it
    detected.delete_instance()
    pad = detected.w // 5
    result = mark.add_face(
        core, photo.id, (box[0] - pad, box[1] - pad, box[2] + 2 * pad, box[3] + 2 * pad), "Ann"
    )
    face = m.Face.get_by_id(result.changed[0])
    assert (face.source, face.state, face.person.name) == ("manual", m.FaceState.CONFIRMED, "Ann")
    assert result.created_person and result.person.face_count == 1 and result.undo_id and not result.warnings
    assert float(np.linalg.norm(face_embedding(face) - vector)) < 0.2  # the same face, as analysis saw it
    assert face.model == detected.model and (core.cfg.data / face.thumb).read_bytes()[:2] == b"\xff\xd8"
    # a box on the background is kept without an embedding: it names the photo, teaches nothing
    corner = mark.add_face(core, photo.id, empty_corner(photo, face, 200), "Poster")
    poster = m.Face.get_by_id(corner.changed[0])
    assert poster.embedding is None and poster.model is None and corner.warnings
    assert poster.state == m.FaceState.CONFIRMED and (core.cfg.data / poster.thumb).is_file()

    # the file changes: re-analysis keeps both (the detected face inherits the manual box)
    m.Photo.update(state=m.PhotoState.PENDING).where(m.Photo.id == photo.id).execute()
    job = run(core, "analyze", photo_ids=[photo.id])
    assert job.state == m.JobState.DONE and m.Photo.get_by_id(photo.id).state == m.PhotoState.DONE
    after = {f.id: f for f in m.Face.select().where(m.Face.photo == photo.id)}
    assert set(after) == {face.id, poster.id}
    assert after[face.id].person.name == "Ann" and after[poster.id].person.name == "Poster"

    job = run(core, "write")
    assert job.state == m.JobState.DONE and job.result["written"] == 1, job.result
    names = str(people_in(core.cfg.library / photo.path)["PersonInImage"])
    assert "Ann" in names and "Poster" in names


def test_box_checks_one_person_per_photo_remove_and_undo(analysed_core: Core) -> None:
    core = analysed_core
    photo, detected = single_face_photo(core)
    confirm.confirm(core, [detected.id], "Bo")
    corner = empty_corner(photo, detected, 120)
    with pytest.raises(people.PeopleError, match="at least"):
        mark.add_face(core, photo.id, (*corner[:2], 10, 10))
    with pytest.raises(people.PeopleError, match="outside"):
        mark.add_face(core, photo.id, (-500, -500, 200, 200))
    with pytest.raises(people.Conflict):
        mark.add_face(core, photo.id, (detected.x + 2, detected.y, detected.w, detected.h))
    with pytest.raises(people.NotFound):
        mark.add_face(core, 999999, corner)
    with pytest.raises(people.PeopleError, match="ignore it instead"):
        mark.remove_face(core, detected.id)
    # a box hanging over the edge is clamped; naming it Bo takes the name from the detected face
    hanging = (corner[0] + 60 if corner[0] else -60, corner[1] - 60, 120, 120)
    result = mark.add_face(core, photo.id, hanging, "Bo")
    manual = m.Face.get_by_id(result.changed[0])
    assert result.displaced == [detected.id] and m.Face.get_by_id(detected.id).state == m.FaceState.UNKNOWN
    assert manual.w == 60 and manual.h == 120 and m.Person.get(m.Person.name == "Bo").face_count == 1
    # undo: the manual face and its thumbnail go, the detected face is Bo again
    thumb = core.cfg.data / manual.thumb
    confirm.undo_last(core)
    assert m.Face.get_or_none(m.Face.id == manual.id) is None and not thumb.exists()
    assert m.Face.get_by_id(detected.id).person.name == "Bo"

    unnamed = mark.add_face(core, photo.id, corner)
    face = m.Face.get_by_id(unnamed.changed[0])
    assert face.state == m.FaceState.UNKNOWN and unnamed.person is None
    confirm.confirm(core, [face.id], "Cy")
    m.FaceRejection.create(face=face.id, person=m.Person.get(m.Person.name == "Bo").id)
    removed = mark.remove_face(core, face.id)
    assert removed.changed == [face.id] and m.Face.get_or_none(m.Face.id == face.id) is None
    assert m.Person.get(m.Person.name == "Cy").face_count == 0 and not (core.cfg.data / face.thumb).exists()
    confirm.undo_last(core)  # the row, its name, rejection and thumbnail come back
    back = m.Face.get_by_id(face.id)
    assert (back.source, back.state, back.person.name, back.x, back.w) == ("manual", "confirmed", "Cy", *corner[::2])
    assert (core.cfg.data / back.thumb).is_file() and m.Person.get(m.Person.name == "Cy").face_count == 1
    assert m.FaceRejection.select().where(m.FaceRejection.face == face.id).count() == 1
